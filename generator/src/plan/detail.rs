//! What every detail field of an event means, resolved once: where it comes from (a constant,
//! an attribute path of one image, a whole image, an outbox payload), its DynamoDB and JSON
//! types, whether every event carries it, how it is converted, and its JSON Schema. The relay
//! code, the schemas, the README table, `simulate` and the rule verification all read this;
//! none of them looks at the config's fields again.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::attrs::{Attributes, ImagePath, Shape};
use crate::config::{AttributeType, AttributeTypeSpec, Event, FieldSpec, OutboxTable, Table};
use crate::vocabulary::{DynamoType, Image, JsonType, Operation, PayloadFormat};

/// An event's detail.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    /// The declared fields, in name order.
    pub fields: Vec<Field>,
    /// The rest of one image, copied beside the fields.
    pub rest: Option<Rest>,
    /// An outbox table's event: the detail is the row's payload attribute.
    pub payload: Option<Payload>,
    /// Its JSON Schema (draft 2020-12), without `$schema` or `$id`.
    pub schema: Value,
}

/// One detail field.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// Its JSON name.
    pub name: String,
    /// Where its value comes from.
    pub source: Source,
    /// The JSON type it has in the event (`string`, `number`, `integer`, `boolean`, `null`,
    /// `array`, `object`).
    pub json_type: &'static str,
    /// Whether every event carries it: the relay fails a record without it, the schema lists
    /// it as required. Never true for a value the operations in `on` do not all have.
    pub required: bool,
    /// Its JSON Schema.
    pub schema: Value,
    /// Where it comes from, in words (the generated README).
    pub origin: String,
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// A fixed value.
    Constant {
        /// The value.
        value: Value,
    },
    /// A whole image, less some attributes.
    Item {
        /// The image.
        image: Image,
        /// Attributes left out (the field's `except` and the event's redacted ones).
        except: BTreeSet<String>,
    },
    /// An attribute or a key inside a map attribute.
    Attribute {
        /// The image.
        image: Image,
        /// The attribute, then map keys.
        path: Vec<String>,
        /// Its declared DynamoDB type.
        dynamo_type: DynamoType,
        /// Keys left out of a map.
        except: Vec<String>,
        /// A prefix the string value must have, taken off.
        strip_prefix: Option<String>,
        /// A change of JSON type.
        conversion: Option<Conversion>,
    },
    /// A key of an outbox row's payload.
    Payload {
        /// The payload attribute.
        attribute: String,
    },
}

/// A declared change of a value's JSON type (`type:` on a field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Conversion {
    /// A string holding a number, as a JSON number (exact digits).
    StringToNumber,
    /// A string or number holding an integer, as a JSON integer.
    ToInteger,
    /// `"true"` / `"false"` as a JSON boolean.
    StringToBoolean,
    /// A number as its exact text.
    NumberToString,
    /// A boolean as `"true"` / `"false"`.
    BooleanToString,
}

impl Conversion {
    /// The one table of type changes a field may declare (`type:`): what a DynamoDB value of
    /// type `from` needs to become `to`: nothing (`None`), a conversion, or it cannot become
    /// `to` at all (the check refuses the field, with [`Conversion::TABLE_IN_WORDS`] as the hint).
    pub fn to(from: DynamoType, to: JsonType) -> Result<Option<Conversion>, Unconvertible> {
        match (from, to) {
            (DynamoType::S, JsonType::String)
            | (DynamoType::N, JsonType::Number)
            | (DynamoType::Bool, JsonType::Boolean)
            | (DynamoType::B, JsonType::String) => Ok(None),
            (DynamoType::S, JsonType::Number) => Ok(Some(Conversion::StringToNumber)),
            (DynamoType::S | DynamoType::N, JsonType::Integer) => Ok(Some(Conversion::ToInteger)),
            (DynamoType::S, JsonType::Boolean) => Ok(Some(Conversion::StringToBoolean)),
            (DynamoType::N, JsonType::String) => Ok(Some(Conversion::NumberToString)),
            (DynamoType::Bool, JsonType::String) => Ok(Some(Conversion::BooleanToString)),
            _ => Err(Unconvertible),
        }
    }

    /// [`Conversion::to`] in words.
    pub const TABLE_IN_WORDS: &str = "S converts to string/number/integer/boolean, N to number/integer/string, BOOL to boolean/string";

    /// The conversion from a DynamoDB type to a declared JSON type, if one is needed.
    pub fn between(from: DynamoType, to: Option<JsonType>) -> Option<Conversion> {
        Conversion::to(from, to?).ok().flatten()
    }
}

/// A DynamoDB type that no declared JSON type can turn it into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unconvertible;

/// `rest`: every attribute of one image that no field takes from that image.
#[derive(Debug, Clone, Serialize)]
pub struct Rest {
    /// The image.
    pub image: Image,
    /// Attributes left out: `except`, redacted ones, those fields take from this image, and
    /// names of fields (a field wins over an attribute of the same name).
    pub except: BTreeSet<String>,
    /// The declared attributes it carries (keys included), as fields.
    pub fields: Vec<Field>,
    /// What it copies, in words.
    pub origin: String,
}

/// An outbox row's payload.
#[derive(Debug, Clone, Serialize)]
pub struct Payload {
    /// The payload attribute.
    pub attribute: String,
    /// How it is stored.
    pub format: PayloadFormat,
}

/// Whether every operation of `ops` carries `image` (an empty `on` says nothing).
pub fn always_has(ops: &[Operation], image: Image) -> bool {
    ops.iter().all(|op| op.has_image(image))
}

/// The detail of an outbox table's event: the payload's declared keys.
pub fn outbox(outbox: &OutboxTable, event: &Event, description: Option<&str>) -> Detail {
    let fields: Vec<Field> = event
        .payload
        .iter()
        .map(|(name, AttributeType(spec))| Field {
            name: name.clone(),
            source: Source::Payload {
                attribute: outbox.payload_attribute.clone(),
            },
            json_type: json_type_of(spec.dynamo_type),
            required: spec.required,
            schema: attribute_schema(spec),
            origin: format!("{}.{name}", outbox.payload_attribute),
        })
        .collect();
    let schema = object_schema(fields.iter(), true, description);
    Detail {
        fields,
        rest: None,
        payload: Some(Payload {
            attribute: outbox.payload_attribute.clone(),
            format: outbox.payload_format,
        }),
        schema,
    }
}

/// The detail of an entity's event.
pub fn entity(table: &Table, event: &Event, description: Option<&str>) -> Detail {
    let Some(entity) = event.entity.as_ref().and_then(|e| table.entities.get(e)) else {
        return Detail {
            fields: Vec::new(),
            rest: None,
            payload: None,
            schema: object_schema([].iter(), true, description),
        };
    };
    let attributes = Attributes::new(table, entity);
    let redacted: BTreeSet<String> = event.redact.iter().cloned().collect();
    let fields: Vec<Field> = event
        .detail
        .iter()
        .map(|(name, spec)| field(name, &spec.0, attributes, &event.on, &redacted))
        .collect();
    let rest = event.rest.as_ref().map(|rest| {
        let except = rest_except(event, rest.from, &redacted);
        let present = always_has(&event.on, rest.from);
        let fields = item_fields(attributes, &except, present, rest.from);
        let listed = if rest.except.is_empty() {
            String::new()
        } else {
            format!(" except {}", rest.except.join(", "))
        };
        Rest {
            image: rest.from,
            except,
            fields,
            origin: format!("every other attribute of `{}`{listed}", rest.from.as_str()),
        }
    });
    let all = fields.iter().chain(rest.iter().flat_map(|r| &r.fields));
    let schema = object_schema(all, rest.is_some(), description);
    Detail {
        fields,
        rest,
        payload: None,
        schema,
    }
}

/// What `rest: { from: image }` leaves out: its `except`, the redacted attributes, every
/// field's name, and the attributes fields take whole from the same image. An attribute a
/// field reads from the other image stays (`previousStatus: old.status` beside
/// `rest: { from: new }` keeps the new `status`).
pub fn rest_except(event: &Event, image: Image, redacted: &BTreeSet<String>) -> BTreeSet<String> {
    let mut except: BTreeSet<String> = event.detail.keys().cloned().collect();
    except.extend(redacted.iter().cloned());
    if let Some(rest) = &event.rest {
        except.extend(rest.except.iter().cloned());
    }
    for spec in event.detail.values() {
        if let Some(path) = spec
            .0
            .from
            .as_deref()
            .and_then(|f| ImagePath::parse(f).ok())
            && path.image == image
            && let [attribute] = path.segments.as_slice()
        {
            except.insert(attribute.clone());
        }
    }
    except
}

fn field(
    name: &str,
    spec: &FieldSpec,
    attributes: Attributes,
    ops: &[Operation],
    redacted: &BTreeSet<String>,
) -> Field {
    if let Some(value) = &spec.constant {
        return Field {
            name: name.to_owned(),
            json_type: json_type_of_value(value),
            // Always there; `required: false` keeps it out of the schema's `required` list.
            required: spec.required.unwrap_or(true),
            schema: json!({ "const": value }),
            origin: format!("constant {value}"),
            source: Source::Constant {
                value: value.clone(),
            },
        };
    }
    let from = spec.from.as_deref().unwrap_or_default();
    let path = ImagePath::validated(from);
    let present = always_has(ops, path.image);
    let shape = attributes.lookup(&path.segments).unwrap_or(Shape::Item);
    let mut origin = format!("`{from}`");
    if let Some(prefix) = &spec.strip_prefix {
        origin.push_str(&format!(" without the prefix `{prefix}`"));
    }
    if !spec.except.is_empty() {
        origin.push_str(&format!(" except {}", spec.except.join(", ")));
    }
    let (source, schema, declared) = match shape {
        Shape::Item => {
            let mut except: BTreeSet<String> = spec.except.iter().cloned().collect();
            except.extend(redacted.iter().cloned());
            let schema = object_schema(
                item_fields(attributes, &except, present, path.image).iter(),
                true,
                None,
            );
            // The object is always there; on an operation without the image it is empty.
            (
                Source::Item {
                    image: path.image,
                    except,
                },
                schema,
                true,
            )
        }
        Shape::Key(_) | Shape::Attribute(_) => {
            let dynamo_type = shape.dynamo_type();
            let conversion = Conversion::between(dynamo_type, spec.json_type);
            let schema = match (spec.json_type, shape) {
                (Some(json_type), _) => json!({ "type": json_type.as_str() }),
                // What is left of a string after its prefix: the attribute's enum and format
                // no longer describe it.
                (None, _) if spec.strip_prefix.is_some() => json!({ "type": "string" }),
                (None, Shape::Attribute(attribute)) => {
                    map_schema_except(attribute_schema(attribute), &spec.except)
                }
                (None, _) => scalar_schema(dynamo_type),
            };
            let declared = match shape {
                Shape::Attribute(attribute) => attribute.required && present,
                _ => present,
            };
            (
                Source::Attribute {
                    image: path.image,
                    path: path.segments.clone(),
                    dynamo_type,
                    except: spec.except.clone(),
                    strip_prefix: spec.strip_prefix.clone(),
                    conversion,
                },
                schema,
                declared,
            )
        }
    };
    let json_type = match (spec.json_type, &source) {
        (Some(json_type), _) => json_type.as_str(),
        (None, Source::Attribute { dynamo_type, .. }) => json_type_of(*dynamo_type),
        _ => "object",
    };
    Field {
        name: name.to_owned(),
        source,
        json_type,
        required: spec.required.unwrap_or(declared),
        schema,
        origin,
    }
}

/// The declared attributes of an item (keys first) as fields of `image`, less `except`;
/// required only where the image is always there.
fn item_fields(
    attributes: Attributes,
    except: &BTreeSet<String>,
    present: bool,
    image: Image,
) -> Vec<Field> {
    let keys = attributes.keys().map(|(name, key_type)| {
        let dynamo_type = Shape::Key(key_type).dynamo_type();
        (
            name.to_owned(),
            dynamo_type,
            scalar_schema(dynamo_type),
            true,
        )
    });
    let declared = attributes.declared().iter().map(|(name, t)| {
        (
            name.clone(),
            t.0.dynamo_type,
            attribute_schema(&t.0),
            t.0.required,
        )
    });
    keys.chain(declared)
        .filter(|(name, ..)| !except.contains(name))
        .map(|(name, dynamo_type, schema, required)| Field {
            origin: format!("`{}.{name}`", image.as_str()),
            source: Source::Attribute {
                image,
                path: vec![name.clone()],
                dynamo_type,
                except: Vec::new(),
                strip_prefix: None,
                conversion: None,
            },
            json_type: json_type_of(dynamo_type),
            required: required && present,
            schema,
            name,
        })
        .collect()
}

/// An object schema of `fields`; `open`: other properties allowed.
fn object_schema<'a>(
    fields: impl Iterator<Item = &'a Field>,
    open: bool,
    description: Option<&str>,
) -> Value {
    object_of(
        fields.map(|f| (f.name.as_str(), f.schema.clone(), f.required)),
        open,
        description,
    )
}

/// An object schema of `(name, schema, required)`.
fn object_of<'a>(
    fields: impl Iterator<Item = (&'a str, Value, bool)>,
    open: bool,
    description: Option<&str>,
) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, schema, is_required) in fields {
        if is_required {
            required.push(json!(name));
        }
        properties.insert(name.to_owned(), schema);
    }
    let mut schema = json!({ "type": "object", "properties": properties });
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    schema["additionalProperties"] = json!(open);
    if let Some(description) = description {
        schema["description"] = json!(description);
    }
    schema
}

/// A map attribute's schema without the keys in `except`.
fn map_schema_except(mut schema: Value, except: &[String]) -> Value {
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for name in except {
            properties.remove(name);
        }
    }
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| !except.iter().any(|e| r == e));
    }
    schema
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
            .map(|(name, AttributeType(t))| (name.as_str(), attribute_schema(t), t.required));
        schema = object_of(fields, true, None);
    }
    if let Some(items) = &spec.items {
        schema["items"] = attribute_schema(&items.0);
    }
    if let Some(allowed) = &spec.allowed {
        schema["enum"] = json!(allowed);
    }
    if let Some(format) = spec.format {
        schema["format"] = json!(format.as_str());
    }
    if let Some(description) = &spec.description {
        schema["description"] = json!(description);
    }
    schema
}

/// The JSON type a DynamoDB value becomes in an event.
pub fn json_type_of(dynamo_type: DynamoType) -> &'static str {
    match dynamo_type {
        DynamoType::S | DynamoType::B => "string",
        DynamoType::N => "number",
        DynamoType::Bool => "boolean",
        DynamoType::Null => "null",
        DynamoType::StringSet | DynamoType::NumberSet | DynamoType::BinarySet | DynamoType::L => {
            "array"
        }
        DynamoType::M => "object",
    }
}

fn json_type_of_value(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
