//! `bindings/rust/`: a crate with a serde type per detail, nested object, enum and constant, an
//! `Envelope<D>` per event, `parse_event` (refusing what the schema refuses), `event_id`,
//! exact `Decimal` numbers and sample events (with a test that every sample parses).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::{EVENT_ID_PREFIX, Model, Ty, one_line};
use crate::ident::Scope;
use crate::plan::Plan;
use crate::render::Files;

const HELPERS: &str = r#"use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Why an event was refused.
#[derive(Debug)]
pub enum ParseError {
    /// Not JSON, or not the event's shape (the message names the field).
    Json(serde_json::Error),
    /// An event of another service, or of an event type this crate does not know.
    UnknownEvent {
        /// The event's `source`.
        source: String,
        /// The event's `detail-type`.
        detail_type: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Json(e) => write!(f, "{e}"),
            ParseError::UnknownEvent { source, detail_type } => {
                write!(f, "not an event of this service: {detail_type:?} from {source:?}")
            }
        }
    }
}

impl std::error::Error for ParseError {}

impl From<serde_json::Error> for ParseError {
    fn from(e: serde_json::Error) -> Self {
        ParseError::Json(e)
    }
}

/// A JSON number with every digit it was sent with (a DynamoDB number has up to 38).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

impl Decimal {
    /// The number as it was sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The nearest 64-bit float.
    pub fn to_f64(&self) -> f64 {
        self.0.parse().unwrap_or(f64::NAN)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            Ok(Decimal(text.to_owned()))
        } else {
            Err(D::Error::custom(format!("expected a number, found {text}")))
        }
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        RawValue::from_string(self.0.clone())
            .map_err(S::Error::custom)?
            .serialize(serializer)
    }
}

/// The EventBridge envelope every event arrives in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<D> {
    /// Always `0`.
    pub version: String,
    /// EventBridge's id of this delivery's event (a replay or a republish gets a new one).
    pub id: String,
    /// The event's detail-type.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// The event's source.
    pub source: String,
    /// The account of the bus.
    pub account: String,
    /// When the change happened.
    pub time: String,
    /// The region of the bus.
    pub region: String,
    /// The first is the event's deterministic id (see [`Envelope::event_id`]).
    pub resources: Vec<String>,
    /// The event's detail.
    pub detail: D,
}

impl<D> Envelope<D> {
    /// The event's deterministic id, the same for every delivery, replay or republish of it:
    /// deduplicate on it (EventBridge's `id` differs between deliveries).
    pub fn event_id(&self) -> &str {
        self.resources
            .iter()
            .find(|r| r.starts_with(EVENT_ID_PREFIX))
            .unwrap_or(&self.id)
    }
}

#[derive(Deserialize)]
struct Head {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
}

/// The envelope of an event whose source and detail-type are known to be `source` and
/// `detail_type`, parsed from `json`.
fn envelope<D: serde::de::DeserializeOwned>(
    json: &str,
    source: &str,
    detail_type: &str,
) -> Result<Envelope<D>, ParseError> {
    let head: Head = serde_json::from_str(json)?;
    if head.source != source || head.detail_type != detail_type {
        return Err(ParseError::UnknownEvent {
            source: head.source,
            detail_type: head.detail_type,
        });
    }
    Ok(serde_json::from_str(json)?)
}
"#;

/// A Rust string literal.
fn lit(text: &str) -> String {
    format!("{text:?}")
}

/// Renders the Rust bindings crate into `files`.
pub fn render(plan: &Plan, model: &Model, files: &mut Files) {
    let package = format!(
        "{}-events",
        plan.service
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            })
            .collect::<String>()
    );
    let mut types = Scope::with_reserved(&[
        "Envelope",
        "OutboxEvent",
        "Decimal",
        "ParseError",
        "Head",
        "Value",
        "Result",
        "Option",
        "String",
        "Vec",
    ]);
    for object in &model.objects {
        types.pascal(&object.name);
    }
    let mut out = format!(
        "// {}\n//! The types, parsers and samples.\n\n{HELPERS}\nconst EVENT_ID_PREFIX: &str = {};\n",
        crate::generated_by(Some(&plan.config_file)),
        lit(EVENT_ID_PREFIX)
    );
    // Named types for enums and constants, declared after the structs that use them.
    let mut named = String::new();
    for object in &model.objects {
        writeln!(out).unwrap();
        let doc = object
            .description
            .as_deref()
            .map(one_line)
            .unwrap_or_else(|| format!("The `{}` object.", object.name));
        writeln!(
            out,
            "/// {doc}\n#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]"
        )
        .unwrap();
        if object.closed {
            writeln!(out, "#[serde(deny_unknown_fields)]").unwrap();
        }
        writeln!(out, "pub struct {} {{", object.name).unwrap();
        let mut fields = Scope::default();
        for field in &object.fields {
            let ident = fields.snake(&field.json);
            let ty = rust_type(
                model,
                &field.ty,
                &format!("{} {}", object.name, field.json),
                &mut types,
                &mut named,
            );
            writeln!(
                out,
                "    /// `{}`{}.",
                field.json.replace('`', "'"),
                if field.required {
                    ""
                } else {
                    " (not every event has it)"
                }
            )
            .unwrap();
            if field.required {
                writeln!(
                    out,
                    "    #[serde(rename = {})]\n    pub {ident}: {ty},",
                    lit(&field.json)
                )
                .unwrap();
            } else {
                writeln!(
                    out,
                    "    #[serde(rename = {}, default, skip_serializing_if = \"Option::is_none\")]\n    pub {ident}: Option<{ty}>,",
                    lit(&field.json)
                )
                .unwrap();
            }
        }
        writeln!(out, "}}").unwrap();
    }
    out.push_str(&named);
    let mut functions = Scope::with_reserved(&["event"]);
    for event in &model.events {
        writeln!(
            out,
            "\n/// {}.\npub type {} = Envelope<{}>;",
            event.summary(),
            event.type_name,
            model.objects[event.detail].name
        )
        .unwrap();
        writeln!(
            out,
            "\n/// A {} from its JSON text.\npub fn parse_{}(json: &str) -> Result<{}, ParseError> {{\n    envelope(json, {}, {})\n}}",
            event.name.replace('`', "'"),
            functions.snake(&event.type_name).trim_start_matches("r#"),
            event.type_name,
            lit(&event.source),
            lit(&event.detail_type)
        )
        .unwrap();
    }
    writeln!(out, "\n/// Every event of {}.\n#[derive(Debug, Clone, PartialEq)]\n#[allow(clippy::large_enum_variant)]\npub enum OutboxEvent {{", plan.service).unwrap();
    for event in &model.events {
        writeln!(
            out,
            "    /// {}.\n    {}({}),",
            event.name.replace('`', "'"),
            event.type_name,
            event.type_name
        )
        .unwrap();
    }
    writeln!(out, "}}\n\nimpl OutboxEvent {{\n    /// The event's deterministic id: deduplicate on it.\n    pub fn event_id(&self) -> &str {{\n        match *self {{").unwrap();
    for event in &model.events {
        writeln!(
            out,
            "            OutboxEvent::{}(ref event) => event.event_id(),",
            event.type_name
        )
        .unwrap();
    }
    writeln!(out, "        }}\n    }}\n}}\n\n/// Any event of {} from its JSON text, by its source and detail-type.\npub fn parse_event(json: &str) -> Result<OutboxEvent, ParseError> {{\n    let head: Head = serde_json::from_str(json)?;\n    match (head.source.as_str(), head.detail_type.as_str()) {{", plan.service).unwrap();
    for event in &model.events {
        writeln!(
            out,
            "        ({}, {}) => Ok(OutboxEvent::{}(serde_json::from_str(json)?)),",
            lit(&event.source),
            lit(&event.detail_type),
            event.type_name
        )
        .unwrap();
    }
    writeln!(out, "        _ => Err(ParseError::UnknownEvent {{\n            source: head.source,\n            detail_type: head.detail_type,\n        }}),\n    }}\n}}").unwrap();
    let mut samples = Scope::with_reserved(&["all"]);
    let consts: BTreeMap<String, String> = model
        .events
        .iter()
        .map(|e| {
            (
                samples
                    .snake(&e.name)
                    .trim_start_matches("r#")
                    .to_uppercase(),
                e.sample.to_string(),
            )
        })
        .collect();
    writeln!(
        out,
        "\n/// A sample of each event (JSON text), as a consumer receives it.\npub mod samples {{"
    )
    .unwrap();
    for (name, sample) in &consts {
        writeln!(
            out,
            "    /// A sample event.\n    pub const {name}: &str = {};",
            lit(sample)
        )
        .unwrap();
    }
    writeln!(
        out,
        "\n    /// Every sample.\n    pub const ALL: &[&str] = &[{}];\n}}",
        consts.keys().cloned().collect::<Vec<_>>().join(", ")
    )
    .unwrap();
    writeln!(out, "\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn every_sample_parses_and_has_its_id() {{\n        for sample in super::samples::ALL {{\n            let event = super::parse_event(sample).unwrap();\n            assert!(event.event_id().starts_with(super::EVENT_ID_PREFIX));\n        }}\n    }}\n}}").unwrap();
    let dir = format!("{}/rust", super::DIR);
    files.insert(format!("{dir}/src/events.rs").into(), out);
    files.insert(
        format!("{dir}/src/lib.rs").into(),
        format!(
            "// {}\n\n//! The events of {}, typed: [`parse_event`] takes an event as a consumer receives it (JSON\n//! text) and gives an [`OutboxEvent`], or a [`ParseError`] naming the field. Numbers are\n//! [`Decimal`]s with every digit.\n#[rustfmt::skip]\nmod events;\n\npub use events::*;\n",
            crate::generated_by(Some(&plan.config_file)),
            plan.service.replace('`', "'")
        ),
    );
    files.insert(
        format!("{dir}/Cargo.toml").into(),
        format!(
            "# {}\n[package]\nname = {}\nversion = \"0.1.0\"\ndescription = {}\nedition = \"2024\"\npublish = false\n\n[dependencies]\nserde = {{ version = \"1.0.229\", features = [\"derive\"] }}\nserde_json = {{ version = \"1.0.154\", features = [\"raw_value\"] }}\n",
            crate::generated_by(Some(&plan.config_file)),
            lit(&package),
            lit(&format!("Typed events of {}", plan.service)),
        ),
    );
}

/// The Rust type of `ty`; enums and constants get a named type (declared into `named`).
fn rust_type(model: &Model, ty: &Ty, name: &str, types: &mut Scope, named: &mut String) -> String {
    match ty {
        Ty::String { .. } => "String".into(),
        Ty::Number => "Decimal".into(),
        Ty::Integer => "i64".into(),
        Ty::Boolean => "bool".into(),
        Ty::Null => "()".into(),
        Ty::Any => "serde_json::Value".into(),
        Ty::Array(item) => format!(
            "Vec<{}>",
            rust_type(model, item, &format!("{name} item"), types, named)
        ),
        Ty::Object(index) => model.objects[*index].name.clone(),
        Ty::Enum(values) => {
            let type_name = types.pascal(name);
            let mut variants = Scope::default();
            writeln!(named, "\n/// The values of `{}`.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]\npub enum {type_name} {{", name.replace('`', "'")).unwrap();
            for value in values {
                writeln!(
                    named,
                    "    /// `{}`.\n    #[serde(rename = {})]\n    {},",
                    value.replace('`', "'"),
                    lit(value),
                    variants.pascal(value)
                )
                .unwrap();
            }
            writeln!(named, "}}").unwrap();
            type_name
        }
        Ty::Const(Value::String(value)) => {
            let type_name = types.pascal(name);
            writeln!(
                named,
                "\n/// Always `{v}`.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]\npub struct {type_name};\n\nimpl {type_name} {{\n    /// The value.\n    pub const VALUE: &str = {l};\n}}\n\nimpl Serialize for {type_name} {{\n    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{\n        serializer.serialize_str(Self::VALUE)\n    }}\n}}\n\nimpl<'de> Deserialize<'de> for {type_name} {{\n    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n        let text = String::deserialize(deserializer)?;\n        if text == Self::VALUE {{\n            Ok({type_name})\n        }} else {{\n            Err(D::Error::custom(format!(\"expected {{:?}}, found {{text:?}}\", Self::VALUE)))\n        }}\n    }}\n}}",
                v = value.replace('`', "'"),
                l = lit(value),
            )
            .unwrap();
            type_name
        }
        Ty::Const(constant) => {
            let type_name = types.pascal(name);
            writeln!(
                named,
                "\n/// Always `{v}`.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]\npub struct {type_name};\n\nimpl {type_name} {{\n    /// The value, as JSON.\n    pub const JSON: &str = {l};\n\n    fn value() -> serde_json::Value {{\n        serde_json::from_str(Self::JSON).expect(\"the constant is JSON\")\n    }}\n}}\n\nimpl Serialize for {type_name} {{\n    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{\n        Self::value().serialize(serializer)\n    }}\n}}\n\nimpl<'de> Deserialize<'de> for {type_name} {{\n    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n        let value = serde_json::Value::deserialize(deserializer)?;\n        if value == Self::value() {{\n            Ok({type_name})\n        }} else {{\n            Err(D::Error::custom(format!(\"expected {{}}, found {{value}}\", Self::JSON)))\n        }}\n    }}\n}}",
                v = constant.to_string().replace('`', "'"),
                l = lit(&constant.to_string()),
            )
            .unwrap();
            type_name
        }
    }
}
