//! Event contracts: the JSON Schema (draft 2020-12) of every event's detail, derived from its
//! mapping and the declared attribute types, and of its EventBridge envelope.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::attrs::{Attributes, ImagePath, Shape};
use crate::config::{
    AttributeType, AttributeTypeSpec, Config, DynamoType, Event, FieldSpec, Format, Image,
    JsonType, Table,
};
use crate::ident;

/// The JSON Schema dialect of the generated schemas.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// One event's contract.
#[derive(Debug, Clone, Serialize)]
pub struct EventContract {
    /// Event name.
    pub name: String,
    /// File-name-safe slug of the name.
    pub slug: String,
    /// `Source`.
    pub source: String,
    /// `DetailType`.
    pub detail_type: String,
    /// Schema version from outbox.yaml.
    pub schema_version: u32,
    /// Description.
    pub description: Option<String>,
    /// The detail's schema (no `$schema`/`$id`; [`envelope`] adds them).
    pub detail: Value,
}

/// Every event's contract, in table then event order.
pub fn contracts(config: &Config) -> Vec<EventContract> {
    config
        .tables
        .values()
        .flat_map(|table| {
            table
                .events
                .iter()
                .map(move |(name, event)| contract(table, name, event))
        })
        .collect()
}

fn contract(table: &Table, name: &str, event: &Event) -> EventContract {
    let detail = match &table.outbox {
        Some(_) => object(
            event
                .payload
                .iter()
                .map(|(k, t)| (k.clone(), attribute_schema(&t.0), t.0.required)),
            true,
        ),
        None => entity_detail(table, event),
    };
    let mut detail = detail;
    if let (Some(description), Some(object)) = (&event.description, detail.as_object_mut()) {
        object.insert("description".into(), json!(description));
    }
    EventContract {
        name: name.to_owned(),
        slug: ident::id_slug(name),
        source: event.source.clone(),
        detail_type: event.detail_type.clone().unwrap_or_else(|| name.to_owned()),
        schema_version: event.schema_version,
        description: event.description.clone(),
        detail,
    }
}

/// An object schema from `(name, schema, required)`.
fn object(fields: impl Iterator<Item = (String, Value, bool)>, open: bool) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, schema, is_required) in fields {
        if is_required {
            required.push(json!(name));
        }
        properties.insert(name, schema);
    }
    let mut schema = json!({ "type": "object", "properties": properties });
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    schema["additionalProperties"] = json!(open);
    schema
}

fn entity_detail(table: &Table, event: &Event) -> Value {
    let Some(entity) = event.entity.as_ref().and_then(|e| table.entities.get(e)) else {
        return object(std::iter::empty(), true);
    };
    let attributes = Attributes::new(table, entity);
    let redacted: BTreeSet<&str> = event.redact.iter().map(String::as_str).collect();
    let mut fields: Vec<(String, Value, bool)> = Vec::new();
    let mut taken: BTreeSet<String> = event.detail.keys().cloned().collect();
    for (name, field) in &event.detail {
        let (schema, required) = field_schema(&field.0, attributes, &redacted);
        if let Some(attribute) = ImagePath::picked_attribute(&field.0) {
            taken.insert(attribute);
        }
        fields.push((name.clone(), schema, required));
    }
    if let Some(rest) = &event.rest {
        for (name, schema, required) in item_fields(attributes, &rest.except, &redacted) {
            if !taken.contains(&name) {
                fields.push((name, schema, required && rest.from == Image::New));
            }
        }
    }
    object(fields.into_iter(), event.rest.is_some())
}

/// The declared attributes of an item (keys included) as fields, minus `except`.
fn item_fields(
    attributes: Attributes,
    except: &[String],
    redacted: &BTreeSet<&str>,
) -> Vec<(String, Value, bool)> {
    let keys = attributes.keys().map(|(name, key_type)| {
        let schema = scalar_schema(Shape::Key(key_type).dynamo_type());
        (name.to_owned(), schema, true)
    });
    let declared = attributes
        .declared()
        .iter()
        .map(|(name, t)| (name.clone(), attribute_schema(&t.0), t.0.required));
    keys.chain(declared)
        .filter(|(name, _, _)| !except.contains(name) && !redacted.contains(name.as_str()))
        .collect()
}

fn field_schema(
    field: &FieldSpec,
    attributes: Attributes,
    redacted: &BTreeSet<&str>,
) -> (Value, bool) {
    if let Some(constant) = &field.constant {
        return (json!({ "const": constant }), field.required.unwrap_or(true));
    }
    let Ok(path) = ImagePath::parse(field.from.as_deref().unwrap_or_default()) else {
        return (json!({}), false);
    };
    let shape = attributes.lookup(&path.segments).unwrap_or(Shape::Item);
    let (schema, declared_required) = match shape {
        Shape::Item => (
            object(
                item_fields(attributes, &field.except, redacted).into_iter(),
                true,
            ),
            true,
        ),
        Shape::Key(key_type) => (scalar_schema(Shape::Key(key_type).dynamo_type()), true),
        Shape::Attribute(spec) => {
            let mut schema = attribute_schema(spec);
            if spec.dynamo_type == DynamoType::M
                && !field.except.is_empty()
                && let Some(properties) =
                    schema.get_mut("properties").and_then(Value::as_object_mut)
            {
                for name in &field.except {
                    properties.remove(name);
                }
                if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
                    required.retain(|r| !field.except.iter().any(|e| r == e));
                }
            }
            (schema, spec.required)
        }
    };
    let schema = match (field.json_type, field.strip_prefix.is_some()) {
        (Some(JsonType::String), _) => json!({ "type": "string" }),
        (Some(JsonType::Number), _) => json!({ "type": "number" }),
        (Some(JsonType::Integer), _) => json!({ "type": "integer" }),
        (Some(JsonType::Boolean), _) => json!({ "type": "boolean" }),
        (None, true) => json!({ "type": "string" }),
        (None, false) => schema,
    };
    (schema, field.required.unwrap_or(declared_required))
}

fn scalar_schema(dynamo_type: DynamoType) -> Value {
    match dynamo_type {
        DynamoType::S => json!({ "type": "string" }),
        DynamoType::N => json!({ "type": "number" }),
        DynamoType::B => json!({ "type": "string", "contentEncoding": "base64" }),
        DynamoType::Bool => json!({ "type": "boolean" }),
        DynamoType::Null => json!({ "type": "null" }),
        DynamoType::StringSet => {
            json!({ "type": "array", "items": { "type": "string" }, "uniqueItems": true })
        }
        DynamoType::NumberSet => {
            json!({ "type": "array", "items": { "type": "number" }, "uniqueItems": true })
        }
        DynamoType::BinarySet => {
            json!({ "type": "array", "items": { "type": "string", "contentEncoding": "base64" }, "uniqueItems": true })
        }
        DynamoType::L => json!({ "type": "array" }),
        DynamoType::M => json!({ "type": "object" }),
    }
}

/// The schema of a declared attribute type.
pub fn attribute_schema(spec: &AttributeTypeSpec) -> Value {
    let mut schema = scalar_schema(spec.dynamo_type);
    if let Some(nested) = &spec.attributes {
        let fields = nested
            .iter()
            .map(|(k, AttributeType(t))| (k.clone(), attribute_schema(t), t.required));
        schema = object(fields, true);
    }
    if let Some(items) = &spec.items {
        schema["items"] = attribute_schema(&items.0);
    }
    if let Some(allowed) = &spec.allowed {
        schema["enum"] = json!(allowed);
    }
    if let Some(format) = spec.format {
        schema["format"] = json!(match format {
            Format::DateTime => "date-time",
            Format::Date => "date",
            Format::Email => "email",
            Format::Uuid => "uuid",
            Format::Uri => "uri",
        });
    }
    if let Some(description) = &spec.description {
        schema["description"] = json!(description);
    }
    schema
}

/// The full schema file of an event: the EventBridge envelope (as a consumer receives it) with
/// the detail under `$defs/detail`.
pub fn envelope(contract: &EventContract, service: &str) -> Value {
    json!({
        "$schema": DIALECT,
        "$id": format!("urn:outbox:{service}:{}:v{}", contract.slug, contract.schema_version),
        "$comment": "@generated by the outbox generator. DO NOT EDIT.",
        "title": contract.name,
        "description": contract.description.clone().unwrap_or_else(|| format!("The {} event.", contract.name)),
        "x-outbox-schema-version": contract.schema_version,
        "type": "object",
        "required": ["source", "detail-type", "detail"],
        "properties": {
            "source": { "const": contract.source },
            "detail-type": { "const": contract.detail_type },
            "detail": { "$ref": "#/$defs/detail" }
        },
        "$defs": { "detail": contract.detail }
    })
}
