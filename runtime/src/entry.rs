//! PutEvents entries: what a mapping produced for a record, plus the identity, time and size
//! EventBridge needs.

use serde::Serialize;

/// What generated code declares about each event.
pub struct EventSpec {
    /// The event's name in outbox.yaml.
    pub name: &'static str,
    /// A stable slug of the name, part of every event id.
    pub id_key: &'static str,
    /// EventBridge `Source`.
    pub source: &'static str,
    /// EventBridge `DetailType`.
    pub detail_type: &'static str,
    /// The JSON Schema of the detail (draft 2020-12), as generated in `schemas/`.
    pub schema: &'static str,
    /// What a detail that breaks the schema does.
    pub drift: Drift,
    /// What groups the event on the new Custom Event Bus (the aggregate it belongs to).
    pub group: Group,
    /// It has a snapshot form: `relay backfill` produces it for the items a table holds.
    pub snapshot: bool,
    /// The schema, compiled on first use.
    pub compiled: SchemaCell,
}

/// Where an event's `EventGroupId` comes from: FIFO subscribers of the new Custom Event Bus
/// deliver each group's events in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The item's key attribute of this name (the partition key: the aggregate).
    Key(&'static str),
    /// The value at a path of an image.
    Path(crate::record::Image, &'static [&'static str]),
    /// The same group for every event.
    Const(&'static str),
}

/// The longest `EventGroupId` and `DeduplicationId` the new Custom Event Bus takes; longer
/// values are replaced by their SHA-256 (`sha256:` and 64 hex digits), which keeps them apart.
pub const MAX_SYSTEM_ID: usize = 128;

/// `value`, or its SHA-256 when it is longer than [`MAX_SYSTEM_ID`] characters.
pub fn system_id(value: String) -> String {
    use sha2::Digest as _;
    if value.chars().count() <= MAX_SYSTEM_ID && !value.is_empty() {
        return value;
    }
    let digest = sha2::Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl Group {
    /// The group of `record`'s event: the value as text (a number as DynamoDB stores it,
    /// binary in base64); `None` when the item has no such value.
    pub fn of(&self, record: &crate::record::Record) -> Option<String> {
        use crate::attribute::read::AttributeValue;
        let value = match *self {
            Group::Const(text) => return Some(text.to_owned()),
            Group::Key(name) => crate::cond::value(record, name)?,
            Group::Path(image, path) => crate::cond::path(record, image, path)?,
        };
        Some(match value {
            // Binary is base64 text already.
            AttributeValue::S(text) | AttributeValue::N(text) | AttributeValue::B(text) => {
                text.to_string()
            }
            AttributeValue::Bool(b) => b.to_string(),
            _ => return None,
        })
    }
}

/// What happens to an event whose detail breaks its schema (the item drifted from the declared
/// entity: an attribute missing, a value of another type or format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drift {
    /// The record is poison: `OUTBOX_POISON_POLICY` decides (with `fail`, the stream stops at
    /// it until retries run out).
    Stop,
    /// The event goes to the dead-letter destination instead (an `Outbox Poison Record` with
    /// the record's ids, the item's keys and the reason, never its contents); the stream goes
    /// on.
    DeadLetter,
    /// The event is published anyway, counted as drifted and logged with the reason.
    Publish,
}

impl std::fmt::Debug for EventSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSpec")
            .field("name", &self.name)
            .field("source", &self.source)
            .field("detail_type", &self.detail_type)
            .finish()
    }
}

/// A detail schema compiled once per process.
pub struct SchemaCell(std::sync::OnceLock<Result<jsonschema::Validator, String>>);

impl SchemaCell {
    /// Not compiled yet.
    pub const fn new() -> Self {
        SchemaCell(std::sync::OnceLock::new())
    }
}

impl Default for SchemaCell {
    fn default() -> Self {
        SchemaCell::new()
    }
}

impl EventSpec {
    /// Checks a serialized detail against the event's schema (formats included). The reason
    /// names each failing JSON pointer and schema keyword, never the values (no item contents).
    pub fn check(&self, detail: &serde_json::Value) -> Result<(), String> {
        let validator = self
            .compiled
            .0
            .get_or_init(|| {
                let schema: serde_json::Value =
                    serde_json::from_str(self.schema).map_err(|e| e.to_string())?;
                jsonschema::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| format!("the {} schema does not compile: {e}", self.name))?;
        // The common case answers yes or no without building error reports.
        if validator.is_valid(detail) {
            return Ok(());
        }
        let problems: Vec<String> = validator.iter_errors(detail).map(|e| problem(&e)).collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the {} detail breaks its schema: {}",
                self.name,
                problems.join("; ")
            ))
        }
    }
}

/// One schema violation in words: where (a JSON pointer), which keyword, and what the schema
/// asks for (the field that is missing or unexpected, the type, the format, the allowed values).
/// Never the value found: details carry item contents.
fn problem(error: &jsonschema::ValidationError) -> String {
    use jsonschema::error::{TypeKind, ValidationErrorKind};
    let keyword = error.schema_path().to_string();
    let keyword = keyword.rsplit('/').next().unwrap_or_default();
    let pointer = error.instance_path().to_string();
    let at = if pointer.is_empty() { "/" } else { &pointer };
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            // A JSON pointer token escapes `~` and `/` (RFC 6901).
            let token = name.replace('~', "~0").replace('/', "~1");
            format!("{pointer}/{token}: missing (violates `required`)")
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => format!(
            "{at}: unexpected `{}` (violates `additionalProperties`)",
            unexpected.join("`, `")
        ),
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(kind) => kind.to_string(),
                TypeKind::Multiple(kinds) => kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            format!("{at}: violates `type` (expected {expected})")
        }
        ValidationErrorKind::Format { format } => {
            format!("{at}: violates `format` (expected {format})")
        }
        ValidationErrorKind::Enum { options } => {
            let options = options.as_array().map_or_else(
                || options.to_string(),
                |values| {
                    values
                        .iter()
                        .map(serde_json::Value::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            );
            format!("{at}: violates `enum` (expected one of {options})")
        }
        _ => format!("{at}: violates `{keyword}`"),
    }
}

/// An event a mapping produced: which one, and its detail JSON.
#[derive(Debug, Clone)]
pub struct MappedEvent {
    /// The event.
    pub spec: &'static EventSpec,
    /// The detail, serialized.
    pub detail: String,
    /// The detail as a JSON value, for the schema check: built from the typed detail by
    /// [`MappedEvent::new`], so the text is not parsed back (`None`: the check parses
    /// `detail`, and reports what parsing it says).
    pub value: Option<serde_json::Value>,
}

/// The prefix of the event-id resource every entry carries.
pub const ID_RESOURCE_PREFIX: &str = "urn:outbox:event:";

/// One PutEvents entry, tied to the record it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Entry {
    /// Index of the record in the batch.
    #[serde(skip)]
    pub record: usize,
    /// The item's table and key: entries of one item are published in stream order.
    #[serde(skip)]
    pub item_key: String,
    /// `Source`.
    pub source: String,
    /// `DetailType`.
    pub detail_type: String,
    /// `Detail`, JSON text.
    pub detail: String,
    /// `EventBusName`.
    pub event_bus_name: String,
    /// `Time`, whole seconds since the epoch (the record's ApproximateCreationDateTime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// `Resources`: the deterministic event id (`urn:outbox:event:<eventID>:<event>`), stable
    /// across retries and redeliveries, so consumers can deduplicate.
    pub resources: Vec<String>,
    /// `TraceHeader`: the X-Ray trace of the invocation, when there is one (Classic buses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
    /// `SystemMetadata`: the event's group and deduplication id (the new Custom Event Bus).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_metadata: Option<SystemMetadata>,
}

/// What the new Custom Event Bus orders and deduplicates by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemMetadata {
    /// `EventGroupId`: the aggregate; FIFO subscribers deliver a group's events in order.
    pub event_group_id: String,
    /// `DeduplicationId`: the event id; a repeat within 300 s is answered `DEDUPLICATED` and
    /// reaches no subscriber.
    pub deduplication_id: String,
}

impl Entry {
    /// The event id this entry carries.
    pub fn id(&self) -> &str {
        self.resources
            .first()
            .and_then(|r| r.strip_prefix(ID_RESOURCE_PREFIX))
            .unwrap_or_default()
    }

    /// The entry's size as EventBridge computes it against the request limit: 14 bytes for a
    /// `Time`, plus the UTF-8 bytes of `Source`, `DetailType`, `Detail` and each resource.
    pub fn size(&self) -> usize {
        let time = if self.time.is_some() { 14 } else { 0 };
        time + self.source.len()
            + self.detail_type.len()
            + self.detail.len()
            + self.resources.iter().map(String::len).sum::<usize>()
    }
}

/// The deterministic id of the event `spec` produced from the record `event_id`.
pub fn event_id(record_event_id: &str, spec: &EventSpec) -> String {
    format!("{record_event_id}:{}", spec.id_key)
}

impl MappedEvent {
    /// Serializes `detail` for `spec`, as text and as the value its schema is checked against.
    pub fn new(spec: &'static EventSpec, detail: &impl Serialize) -> Result<Self, crate::MapError> {
        let text = serde_json::to_string(detail)
            .map_err(|e| crate::MapError::new(spec.name, "detail", e.to_string()))?;
        Ok(MappedEvent {
            spec,
            detail: text,
            value: serde_json::to_value(detail).ok(),
        })
    }

    /// Checks the detail against its event's schema: the value built with it, else its text
    /// parsed (a parse failure is the reason).
    pub fn check(&self) -> Result<(), String> {
        match &self.value {
            Some(value) => self.spec.check(value),
            None => serde_json::from_str(&self.detail)
                .map_err(|e| e.to_string())
                .and_then(|value| self.spec.check(&value)),
        }
    }
}
