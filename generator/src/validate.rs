//! `outbox validate`: checks events against the generated schemas. An event is either an
//! EventBridge envelope as a consumer receives it (`source`, `detail-type`, `detail` object) or
//! a PutEvents entry (`Source`, `DetailType`, `Detail` as a JSON string); its schema is picked by
//! source and detail-type.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

/// The schemas of a generated `schemas/` directory, by (source, detail-type).
pub struct SchemaSet {
    by_route: BTreeMap<(String, String), (String, jsonschema::Validator)>,
}

/// How one event fared.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It matches the schema of the named event.
    Valid {
        /// The event (schema title) it matched.
        event: String,
    },
    /// It breaks the schema (or no schema has its source and detail-type).
    Invalid {
        /// The event whose schema it was checked against, if any.
        event: Option<String>,
        /// Each violation: JSON pointer and message.
        violations: Vec<(String, String)>,
    },
}

/// A validator with format assertions on (`date-time`, `email`, ... are checked, not just
/// annotations).
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| e.to_string())
}

impl SchemaSet {
    /// Loads every `*.json` schema directly in `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e} (run `outbox` first)", dir.display()))?;
        let mut by_route = BTreeMap::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let schema: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let source = schema
                .pointer("/properties/source/const")
                .and_then(Value::as_str);
            let detail_type = schema
                .pointer("/properties/detail-type/const")
                .and_then(Value::as_str);
            let (Some(source), Some(detail_type)) = (source, detail_type) else {
                continue;
            };
            let title = schema["title"].as_str().unwrap_or_default().to_owned();
            let validator = compile(&schema).map_err(|e| format!("{}: {e}", path.display()))?;
            by_route.insert(
                (source.to_owned(), detail_type.to_owned()),
                (title, validator),
            );
        }
        if by_route.is_empty() {
            return Err(format!("no event schemas in {}", dir.display()));
        }
        Ok(SchemaSet { by_route })
    }

    /// Checks one event (JSON text). `Err`: the input is not an event at all.
    pub fn check(&self, text: &str) -> Result<Verdict, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let envelope = envelope(&value)?;
        let source = envelope["source"].as_str().unwrap_or_default();
        let detail_type = envelope["detail-type"].as_str().unwrap_or_default();
        let Some((event, validator)) = self
            .by_route
            .get(&(source.to_owned(), detail_type.to_owned()))
        else {
            let known: Vec<String> = self
                .by_route
                .keys()
                .map(|(s, d)| format!("{s} / {d}"))
                .collect();
            return Ok(Verdict::Invalid {
                event: None,
                violations: vec![(
                    String::new(),
                    format!(
                        "no event has source `{source}` and detail-type `{detail_type}` (known: {})",
                        known.join(", ")
                    ),
                )],
            });
        };
        let violations: Vec<(String, String)> = validator
            .iter_errors(&envelope)
            .map(|e| (e.instance_path().to_string(), e.to_string()))
            .collect();
        Ok(if violations.is_empty() {
            Verdict::Valid {
                event: event.clone(),
            }
        } else {
            Verdict::Invalid {
                event: Some(event.clone()),
                violations,
            }
        })
    }
}

/// Normalizes an envelope or a PutEvents entry to `{source, detail-type, detail}`.
fn envelope(value: &Value) -> Result<Value, String> {
    if let (Some(source), Some(detail_type)) = (value.get("source"), value.get("detail-type")) {
        return Ok(
            json!({ "source": source, "detail-type": detail_type, "detail": value.get("detail").cloned().unwrap_or(Value::Null) }),
        );
    }
    if let (Some(source), Some(detail_type)) = (value.get("Source"), value.get("DetailType")) {
        let detail = match value.get("Detail") {
            Some(Value::String(text)) => {
                serde_json::from_str(text).map_err(|e| format!("Detail is not JSON: {e}"))?
            }
            Some(other) => other.clone(),
            None => Value::Null,
        };
        return Ok(json!({ "source": source, "detail-type": detail_type, "detail": detail }));
    }
    Err("neither an EventBridge event (source, detail-type, detail) nor a PutEvents entry (Source, DetailType, Detail)".into())
}
