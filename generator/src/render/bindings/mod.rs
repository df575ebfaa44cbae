//! `bindings/`: typed consumer bindings generated from the event schemas, envelope included,
//! for TypeScript, Python, Rust and Go: a type per event (and per nested object), a parser that
//! validates (types, required fields, enums, constants, closed objects), the event id for
//! idempotency, and a sample event per type; and Go, whose compiler Debian has. One
//! language-neutral model of the schemas ([`Model`]) is rendered by each language's module.

mod go;
mod python;
mod rust;
mod typescript;

use serde_json::{Value, json};

use super::Files;
use crate::ident::Scope;
use crate::plan::schema::Schema;
use crate::plan::{EventPlan, Plan};

/// Where the bindings are written.
pub const DIR: &str = "bindings";

/// Renders every language's bindings into `files`.
pub fn render(plan: &Plan, files: &mut Files) {
    let model = Model::new(plan);
    typescript::render(plan, &model, files);
    python::render(plan, &model, files);
    rust::render(plan, &model, files);
    go::render(plan, &model, files);
}

/// What a generated file of the bindings is, for the generated README.
pub fn describe(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("bindings/")?;
    Some(match rest {
        "typescript/events.ts" => {
            "TypeScript types of every event, validating parsers, `eventId`, sample events"
        }
        "typescript/tsconfig.json" => "strict TypeScript settings (`npx tsc -p .` type-checks)",
        "typescript/package.json" => "the bindings as an npm package (no dependencies)",
        "python/outbox_events.py" => {
            "Python dataclasses of every event, validating parsers (exact decimals), `event_id`, sample events"
        }
        "python/py.typed" => "marks the Python module as typed (PEP 561)",
        "rust/Cargo.toml" => "the Rust bindings crate (serde)",
        "go/go.mod" => "the Go bindings module (standard library only)",
        "go/events.go" => {
            "Go types of every event, `ParseEvent` (exact `json.Number`s), `EventID`, sample events"
        }
        "go/events_test.go" => "every Go sample parses (`go test`)",
        "rust/src/lib.rs" => "the crate's root: re-exports `events`",
        "rust/src/events.rs" => {
            "Rust types of every event, `parse_event` (exact decimals), `event_id`, sample events"
        }
        _ => return None,
    })
}

/// A type in the bindings.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// Text; `format` as the schema says (`date-time`, `email`), base64 for binary.
    String {
        /// The schema's `format`.
        format: Option<String>,
        /// Binary data, base64-encoded.
        base64: bool,
    },
    /// A number, exact (DynamoDB numbers have up to 38 digits).
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// Always `null`.
    Null,
    /// One of these strings.
    Enum(Vec<String>),
    /// Exactly this value.
    Const(Value),
    /// A list.
    Array(Box<Ty>),
    /// An object with declared fields: an index into [`Model::objects`].
    Object(usize),
    /// Any JSON value (a map or list the schema leaves open).
    Any,
}

/// An object type with declared fields.
#[derive(Debug, Clone)]
pub struct Object {
    /// The type's name (`PascalCase`, unique).
    pub name: String,
    /// Its fields, in the schema's order.
    pub fields: Vec<Field>,
    /// Whether other fields are refused (`additionalProperties: false`).
    pub closed: bool,
    /// The schema's description.
    pub description: Option<String>,
}

/// A field of an object type.
#[derive(Debug, Clone)]
pub struct Field {
    /// Its JSON name.
    pub json: String,
    /// Its type.
    pub ty: Ty,
    /// Whether every event has it.
    pub required: bool,
}

/// An event in the bindings.
#[derive(Debug, Clone)]
pub struct Event {
    /// The event's name.
    pub name: String,
    /// Its type name (`PascalCase`, unique).
    pub type_name: String,
    /// Its `source`.
    pub source: String,
    /// Its `detail-type`.
    pub detail_type: String,
    /// The detail's type (an object).
    pub detail: usize,
    /// Its schema version.
    pub schema_version: u32,
    /// A sample event (the whole envelope).
    pub sample: Value,
    /// Its description.
    pub description: Option<String>,
}

impl Event {
    /// `Name: description (schema version N)`, for doc comments.
    pub fn summary(&self) -> String {
        let description = self
            .description
            .as_deref()
            .map(|d| format!(": {}", one_line(d).trim_end_matches('.')))
            .unwrap_or_default();
        format!(
            "{}{description} (schema version {})",
            self.name.replace('`', "'"),
            self.schema_version
        )
    }
}

/// The events and every object type their details contain.
#[derive(Debug, Clone)]
pub struct Model {
    /// The events.
    pub events: Vec<Event>,
    /// Every object type (details and nested objects).
    pub objects: Vec<Object>,
}

/// Names the bindings use themselves, kept free for types.
const RESERVED: [&str; 8] = [
    "Envelope",
    "OutboxEvent",
    "Decimal",
    "Error",
    "ParseError",
    "OutboxEventError",
    "Any",
    "Value",
];

impl Model {
    /// The model of `plan`'s events.
    pub fn new(plan: &Plan) -> Model {
        let mut names = Scope::with_reserved(&RESERVED);
        let mut objects = Vec::new();
        let events = plan
            .events
            .iter()
            .map(|event| {
                let type_name = names.pascal(&event.name);
                let detail = object(
                    Schema::of(&event.detail.schema),
                    &format!("{type_name} detail"),
                    &mut names,
                    &mut objects,
                );
                let detail = match detail {
                    Ty::Object(index) => index,
                    _ => {
                        objects.push(Object {
                            name: names.pascal(&format!("{type_name} detail")),
                            fields: Vec::new(),
                            closed: false,
                            description: None,
                        });
                        objects.len() - 1
                    }
                };
                Event {
                    sample: sample_event(event),
                    name: event.name.clone(),
                    type_name,
                    source: event.source.clone(),
                    detail_type: event.detail_type.clone(),
                    detail,
                    schema_version: event.schema_version,
                    description: event.description.clone(),
                }
            })
            .collect();
        Model { events, objects }
    }
}

/// The type of a schema node; objects with declared fields become named types.
fn object(schema: Schema, name: &str, names: &mut Scope, objects: &mut Vec<Object>) -> Ty {
    if let Some(value) = schema.constant() {
        return Ty::Const(value.clone());
    }
    if let Some(values) = schema.enum_values() {
        let strings: Option<Vec<String>> = values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect();
        if let Some(strings) = strings {
            return Ty::Enum(strings);
        }
    }
    match schema.single_type() {
        Some("string") => Ty::String {
            format: schema.format().map(str::to_owned),
            base64: schema.encoded(),
        },
        Some("number") => Ty::Number,
        Some("integer") => Ty::Integer,
        Some("boolean") => Ty::Boolean,
        Some("null") => Ty::Null,
        Some("array") => Ty::Array(Box::new(match schema.items() {
            Some(items) => object(items, &format!("{name} item"), names, objects),
            None => Ty::Any,
        })),
        Some("object") => {
            if !schema.has_properties() {
                return Ty::Any;
            }
            let type_name = names.pascal(name);
            let index = objects.len();
            objects.push(Object {
                name: type_name.clone(),
                fields: Vec::new(),
                closed: schema.closed(),
                description: schema.description().map(str::to_owned),
            });
            let fields = schema
                .properties()
                .map(|(json, child)| Field {
                    ty: object(child, &format!("{type_name} {json}"), names, objects),
                    required: schema.requires(json),
                    json: json.to_owned(),
                })
                .collect();
            objects[index].fields = fields;
            Ty::Object(index)
        }
        _ => Ty::Any,
    }
}

/// A sample value of a schema node (the value of field `key`): every declared field,
/// plausible values.
fn sample(schema: Schema, key: &str) -> Value {
    if let Some(value) = schema.constant() {
        return value.clone();
    }
    if let Some(first) = schema.enum_values().and_then(|v| v.first()) {
        return first.clone();
    }
    match schema.single_type() {
        Some("string") if schema.encoded() => json!("AAECAw=="),
        Some("string") => match schema.format() {
            Some("date-time") => json!("2026-01-01T12:00:00Z"),
            Some("date") => json!("2026-01-01"),
            Some("email") => json!("someone@example.com"),
            Some("uri") => json!("https://example.com/"),
            _ => json!(format!("{key}-1")),
        },
        Some("number") => json!(12.5),
        Some("integer") => json!(3),
        Some("boolean") => json!(true),
        Some("null") => Value::Null,
        Some("array") => match schema.items() {
            Some(items) => json!([sample(items, key)]),
            None => json!([]),
        },
        Some("object") => Value::Object(
            schema
                .properties()
                .map(|(k, v)| (k.to_owned(), sample(v, k)))
                .collect(),
        ),
        _ => json!("any"),
    }
}

/// A sample of an event as a consumer receives it (the envelope), with the deterministic id in
/// `resources` as the relay puts it.
pub fn sample_event(event: &EventPlan) -> Value {
    json!({
        "version": "0",
        "id": "6f0a7c1e-0000-4000-8000-000000000000",
        "detail-type": event.detail_type,
        "source": event.source,
        "account": "123456789012",
        "time": "2026-01-01T12:00:00Z",
        "region": "eu-west-1",
        "resources": [format!("urn:outbox:event:sample:{}", crate::ident::id_slug(&event.name))],
        "detail": sample(Schema::of(&event.detail.schema), "detail")
    })
}

/// `text` as a string literal (JSON's escapes are valid in TypeScript, Python and Rust
/// `"..."` literals for the characters JSON escapes; non-ASCII stays as it is).
pub fn literal(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

/// A comment's text on one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The prefix of the deterministic event id the relay puts first in `resources`.
pub const EVENT_ID_PREFIX: &str = "urn:outbox:event:";
