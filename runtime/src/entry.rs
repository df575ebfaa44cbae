//! PutEvents entries: what a mapping produced for a record, plus the identity, time and size
//! EventBridge needs.

use serde::Serialize;

/// What generated code declares about each event.
#[derive(Debug)]
pub struct EventSpec {
    /// The event's name in outbox.yaml.
    pub name: &'static str,
    /// A stable slug of the name, part of every event id.
    pub id_key: &'static str,
    /// EventBridge `Source`.
    pub source: &'static str,
    /// EventBridge `DetailType`.
    pub detail_type: &'static str,
}

/// An event a mapping produced: which one, and its detail JSON.
#[derive(Debug, Clone)]
pub struct MappedEvent {
    /// The event.
    pub spec: &'static EventSpec,
    /// The detail, serialized.
    pub detail: String,
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
    /// `TraceHeader`: the X-Ray trace of the invocation, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
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
    /// Serializes `detail` for `spec`.
    pub fn new(spec: &'static EventSpec, detail: &impl Serialize) -> Result<Self, crate::MapError> {
        serde_json::to_string(detail)
            .map(|detail| MappedEvent { spec, detail })
            .map_err(|e| crate::MapError::new(spec.name, "detail", e.to_string()))
    }
}
