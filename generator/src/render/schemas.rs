//! `schemas/`: one JSON Schema (draft 2020-12) per event, of its EventBridge envelope with the
//! detail under `$defs/detail`; and `schemas/registry/`, the same contracts as the EventBridge
//! Schema Registry takes them (OpenAPI 3, the format of discovered schemas).

use serde_json::{Map, Value, json};

use super::Files;
use crate::plan::{EventPlan, Plan};

/// Directory of the schemas, relative to the output directory.
pub const DIR: &str = "schemas";

/// Renders every event's schemas into `files`.
pub fn render(plan: &Plan, files: &mut Files) {
    for event in &plan.events {
        let envelope = envelope(event, &plan.service);
        files.insert(
            format!("{DIR}/{}.json", event.slug).into(),
            pretty(&envelope),
        );
        files.insert(
            format!("{DIR}/registry/{}.openapi.json", event.slug).into(),
            pretty(&openapi(event)),
        );
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    text.push('\n');
    text
}

/// The JSON Schema dialect of the generated schemas.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The full schema file of an event: the EventBridge envelope (as a consumer receives it) with
/// the detail under `$defs/detail`.
pub fn envelope(event: &EventPlan, service: &str) -> Value {
    json!({
        "$schema": DIALECT,
        "$id": format!("urn:outbox:{service}:{}:v{}", event.slug, event.schema_version),
        "$comment": crate::generated_by(None),
        "title": event.name,
        "description": event.description.clone().unwrap_or_else(|| format!("The {} event.", event.name)),
        "x-outbox-schema-version": event.schema_version,
        "type": "object",
        "required": ["source", "detail-type", "detail"],
        "properties": {
            "source": { "const": event.source },
            "detail-type": { "const": event.detail_type },
            "detail": { "$ref": "#/$defs/detail" }
        },
        "$defs": { "detail": event.detail.schema }
    })
}

/// The registry form: an OpenAPI 3.0 document whose `AWSEvent` schema is the envelope.
pub fn openapi(event: &EventPlan) -> Value {
    let name = format!(
        "{}Detail",
        event.slug.replace(|c: char| !c.is_ascii_alphanumeric(), "")
    );
    json!({
        "openapi": "3.0.0",
        "info": { "title": event.name, "version": event.schema_version.to_string() },
        "x-outbox-comment": crate::generated_by(None),
        "paths": {},
        "components": {
            "schemas": {
                "AWSEvent": {
                    "type": "object",
                    "required": ["detail-type", "source", "detail"],
                    "x-amazon-events-detail-type": event.detail_type,
                    "x-amazon-events-source": event.source,
                    "properties": {
                        "detail": { "$ref": format!("#/components/schemas/{name}") },
                        "detail-type": { "type": "string" },
                        "source": { "type": "string" }
                    }
                },
                name: to_openapi(&event.detail.schema)
            }
        }
    })
}

/// JSON Schema 2020-12 -> the OpenAPI 3.0 schema dialect: `const` becomes a one-value `enum`,
/// `null` types become `nullable`, keywords OpenAPI 3.0 lacks are dropped.
pub fn to_openapi(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "const" => {
                out.insert("enum".into(), json!([value]));
            }
            "type" if value == "null" => {
                out.insert("nullable".into(), json!(true));
            }
            "contentEncoding" => {
                out.insert("format".into(), json!("byte"));
            }
            "properties" => {
                let properties = value
                    .as_object()
                    .map(|p| p.iter().map(|(k, v)| (k.clone(), to_openapi(v))).collect())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(properties));
            }
            "items" => {
                out.insert(key.clone(), to_openapi(value));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}
