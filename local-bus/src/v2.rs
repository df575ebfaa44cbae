//! The new Custom Event Bus's PutEvents (`eventbridgev2`): Smithy RPC v2 CBOR at
//! `/service/AWSEventsV2/operation/PutEvents`, decoded with `ciborium` (not the relay's codec).
//! Enforces the documented limits (1-100 entries, 1 MB, ids of 1-128 characters, a bus ARN),
//! answers `PUBLISHED` or `DEDUPLICATED` (a `DeduplicationId` seen in its group within the
//! window), and injects the faults of [`crate::Faults`].

use std::collections::HashMap;
use std::time::Instant;

use ciborium::Value;
use hyper::StatusCode;

use crate::{Accepted, Plan, State, entry_size};

/// A subscriber of the fake's new bus: the events its filter matches, as the `RAW` transformer
/// delivers them (the Classic envelope), each on `deliver` in the order the bus published them,
/// so a receiver that handles them one at a time keeps every group in order. The receiver is
/// the subscriber's delivery to its target: it retries, and records what it cannot deliver in
/// the dead-letter queue, as AWS does.
pub struct Subscription {
    /// Its name.
    pub name: String,
    /// Its ARN (`arn:aws:events:REGION:ACCOUNT:subscriber/NAME/ID`).
    pub arn: String,
    /// Its bus's ARN.
    pub bus_arn: String,
    /// Its `DATA` filter.
    pub pattern: outbox_pattern::Pattern,
    /// The same filter as JSON (what `DescribeSubscriber` answers).
    pub filter: serde_json::Value,
    /// Its target's ARN: a subscriber created through the API for that target (a redrive's)
    /// delivers through this subscription's `deliver`.
    pub target_arn: String,
    /// Its dead-letter queue's ARN.
    pub dead_letter_arn: Option<String>,
    /// A FIFO subscriber.
    pub ordered: bool,
    /// Where its events go.
    pub deliver: tokio::sync::mpsc::UnboundedSender<Delivery>,
}

/// One event for a subscriber.
#[derive(Debug)]
pub struct Delivery {
    /// The event as the subscriber receives it: `version, id, detail-type, source, account,
    /// time, region, resources, detail`.
    pub event: serde_json::Value,
    /// The same envelope as the text the subscriber's target gets, its `detail` exactly as
    /// published (an integer of any size keeps every digit, which `event` cannot promise).
    pub body: String,
    /// Its `EventGroupId`.
    pub group: Option<String>,
    /// The bus's `EventId` (`aws:EventId`).
    pub event_id: String,
    /// Its `DeduplicationId`.
    pub deduplication_id: Option<String>,
    /// When the bus took it in (RFC 3339; a dead-letter record's `timestamp`).
    pub ingested: String,
    /// The ARN of the subscriber delivering it (a dead-letter record's `subscriberArn`).
    pub subscriber_arn: String,
    /// Told whether the event was delivered (`true`) or recorded as undeliverable, when
    /// someone waits for it (a replaying subscriber).
    pub done: Option<tokio::sync::oneshot::Sender<bool>>,
}

/// An event the bus keeps (its retention), for subscribers that start at a point in time.
#[derive(Debug, Clone)]
pub(crate) struct Retained {
    /// Epoch seconds it was taken in at.
    pub ingested_at: i64,
    /// The same, RFC 3339.
    pub ingested: String,
    pub event_id: String,
    pub event: serde_json::Value,
    pub body: String,
    pub group: Option<String>,
    pub deduplication_id: Option<String>,
}

impl Retained {
    /// Its system metadata, as a `SYSTEM_METADATA` filter reads it.
    pub fn system_metadata(&self) -> serde_json::Value {
        let mut system = serde_json::json!({
            "aws:EventId": self.event_id,
            "aws:Source": self.event["source"],
            "aws:DetailType": self.event["detail-type"],
            "aws:IngestionTime": self.ingested,
            "aws:DeliveryType": "REPLAY",
        });
        if let Some(group) = &self.group {
            system["EventGroupId"] = group.clone().into();
        }
        if let Some(id) = &self.deduplication_id {
            system["DeduplicationId"] = id.clone().into();
        }
        system
    }

    /// Its delivery by the subscriber `subscriber_arn`.
    pub fn delivery(
        &self,
        subscriber_arn: &str,
        done: Option<tokio::sync::oneshot::Sender<bool>>,
    ) -> Delivery {
        Delivery {
            event: self.event.clone(),
            body: self.body.clone(),
            group: self.group.clone(),
            event_id: self.event_id.clone(),
            deduplication_id: self.deduplication_id.clone(),
            ingested: self.ingested.clone(),
            subscriber_arn: subscriber_arn.to_owned(),
            done,
        }
    }
}

/// The envelope a `RAW` subscriber receives for a published entry: as values (for matching)
/// and as the text its target gets, the detail verbatim.
fn envelope(entry: &Accepted, event_id: &str) -> (serde_json::Value, String) {
    let time = entry
        .time
        .as_ref()
        .and_then(serde_json::Number::as_i64)
        .and_then(|s| {
            aws_smithy_types::DateTime::from_secs(s)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
    let envelope = Envelope {
        version: "0",
        id: event_id,
        detail_type: &entry.detail_type,
        source: &entry.source,
        account: "123456789012",
        time: &time,
        region: "us-east-1",
        resources: &entry.resources,
        // A detail that is not JSON arrives as null (AWS refuses it at PutEvents).
        detail: serde_json::value::RawValue::from_string(entry.detail.clone())
            .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()),
    };
    let body = serde_json::to_string(&envelope).unwrap_or_default();
    let event = serde_json::from_str(&body).unwrap_or_default();
    (event, body)
}

/// An event as its subscriber receives it.
#[derive(serde::Serialize)]
struct Envelope<'a> {
    version: &'a str,
    id: &'a str,
    #[serde(rename = "detail-type")]
    detail_type: &'a str,
    source: &'a str,
    account: &'a str,
    time: &'a str,
    region: &'a str,
    resources: &'a [String],
    detail: Box<serde_json::value::RawValue>,
}

/// Keeps a published entry (the bus's retention) and hands it to every subscriber whose filter
/// matches it.
fn fan_out(state: &mut State, entry: &Accepted, event_id: &str) {
    let (event, body) = envelope(entry, event_id);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let ingested_at = i64::try_from(now).unwrap_or(i64::MAX);
    let retained = Retained {
        ingested_at,
        ingested: aws_smithy_types::DateTime::from_secs(ingested_at)
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_default(),
        event_id: event_id.to_owned(),
        event,
        body,
        group: entry.event_group_id.clone(),
        deduplication_id: entry.deduplication_id.clone(),
    };
    for subscription in &state.subscriptions {
        if subscription.pattern.matches(&retained.event) {
            let _ = subscription
                .deliver
                .send(retained.delivery(&subscription.arn, None));
        }
    }
    if !state.faults.count_only {
        state.retained.push(retained);
    }
}

/// Where the new bus's operations are: `/service/AWSEventsV2/operation/NAME`.
pub const OPERATIONS: &str = "/service/AWSEventsV2/operation/";

/// The PutEvents operation's path.
pub const PATH: &str = "/service/AWSEventsV2/operation/PutEvents";

/// The most bytes the entries of one request may have.
const MAX_REQUEST_BYTES: usize = 1_048_576;

/// An error answer: CBOR `{"__type", "message"}`.
pub(crate) fn error(status: StatusCode, kind: &str, message: &str) -> Plan {
    let body = map(vec![
        (
            "__type",
            Value::Text(format!("com.amazonaws.eventbridgev2#{kind}")),
        ),
        ("message", Value::Text(message.to_owned())),
    ]);
    Plan::Respond(None, status, body)
}

pub(crate) fn map(members: Vec<(&str, Value)>) -> Vec<u8> {
    let value = Value::Map(
        members
            .into_iter()
            .map(|(k, v)| (Value::Text(k.to_owned()), v))
            .collect(),
    );
    let mut out = Vec::new();
    ciborium::into_writer(&value, &mut out).expect("CBOR into a Vec");
    out
}

pub(crate) fn member<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value
        .as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(name))
        .map(|(_, v)| v)
}

pub(crate) fn text(value: &Value, name: &str) -> Option<String> {
    member(value, name)?.as_text().map(str::to_owned)
}

/// Whether `arn` is a Custom Event Bus ARN: `arn:PARTITION:events:REGION:ACCOUNT:event-busv2/NAME/ID`
/// with a 25-character lowercase id.
pub fn is_bus_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, "events", region, account, resource] = parts[..] else {
        return false;
    };
    let mut path = resource.split('/');
    partition.starts_with("aws")
        && !region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && path.next() == Some("event-busv2")
        && path.next().is_some_and(|n| !n.is_empty())
        && path.next().is_some_and(|id| {
            id.len() == 25
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && path.next().is_none()
}

/// One request to the new bus.
pub(crate) fn decide(
    state: &mut State,
    content_type: Option<&str>,
    protocol: Option<&str>,
    body: &[u8],
) -> Plan {
    state.log.requests += 1;
    if protocol != Some("rpc-v2-cbor") || content_type != Some("application/cbor") {
        return error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "expected smithy-protocol: rpc-v2-cbor and Content-Type: application/cbor",
        );
    }
    let Ok(request) = ciborium::from_reader::<Value, _>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "the body is not CBOR",
        );
    };
    let faults = state.faults.clone();
    if state.rng.f64() < faults.drop_connections {
        return Plan::Drop;
    }
    let delay = (state.rng.f64() < faults.slow_requests)
        .then(|| faults.slow_delay + faults.slow_jitter.mul_f64(state.rng.f64()));
    let with_delay = |plan: Plan| match plan {
        Plan::Respond(_, status, body) => Plan::Respond(delay, status, body),
        drop => drop,
    };
    if state.rng.f64() < faults.fail_requests {
        return with_delay(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalException",
            "injected failure",
        ));
    }
    let Some(bus) = text(&request, "EventBusArn").filter(|arn| is_bus_arn(arn)) else {
        return with_delay(error(
            StatusCode::BAD_REQUEST,
            "InvalidInputException",
            "EventBusArn must be the ARN of a Custom Event Bus",
        ));
    };
    let Some(entries) = member(&request, "Entries").and_then(Value::as_array) else {
        return with_delay(error(
            StatusCode::BAD_REQUEST,
            "InvalidInputException",
            "no Entries",
        ));
    };
    if entries.is_empty() || entries.len() > 100 {
        return with_delay(error(
            StatusCode::BAD_REQUEST,
            "InvalidInputException",
            "1 to 100 entries per request",
        ));
    }
    let entries: Vec<Accepted> = entries.iter().map(|e| accepted(e, &bus)).collect();
    let bytes: usize = entries.iter().map(entry_size).sum();
    if bytes > MAX_REQUEST_BYTES {
        return with_delay(error(
            StatusCode::BAD_REQUEST,
            "InvalidInputException",
            "the entries are over 1 MB",
        ));
    }
    if state.rng.f64() < faults.throttle_entries {
        state.log.throttled_entries += entries.len();
        return with_delay(error(
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            "Rate exceeded",
        ));
    }
    state.log.largest_request_entries = state.log.largest_request_entries.max(entries.len());
    state.log.largest_request_bytes = state.log.largest_request_bytes.max(bytes);
    let now = Instant::now();
    let window = faults.dedup_window;
    let mut failed = 0;
    let mut results = Vec::new();
    for entry in entries {
        if let Some(problem) = invalid(&entry) {
            failed += 1;
            results.push(Value::Map(vec![
                (
                    Value::Text("ErrorCode".into()),
                    Value::Text("InvalidArgument".into()),
                ),
                (Value::Text("ErrorMessage".into()), Value::Text(problem)),
            ]));
            continue;
        }
        let key = (
            bus.clone(),
            entry.event_group_id.clone().unwrap_or_default(),
            entry.deduplication_id.clone().unwrap_or_default(),
        );
        let repeat = entry.deduplication_id.is_some()
            && state
                .dedup
                .get(&key)
                .is_some_and(|first| now.duration_since(*first) < window);
        state.next_id += 1;
        let mut result = vec![
            (
                Value::Text("EventId".into()),
                Value::Text(format!("fake-{:08}", state.next_id)),
            ),
            (
                Value::Text("SequenceNumber".into()),
                Value::Text(state.next_id.to_string()),
            ),
        ];
        let code = if repeat {
            state.log.deduplicated += 1;
            "DEDUPLICATED"
        } else {
            if !window.is_zero() {
                state.dedup.insert(key, now);
            }
            let event_id = format!("fake-{:08}", state.next_id);
            fan_out(state, &entry, &event_id);
            state.log.accepted_count += 1;
            if !faults.count_only {
                state.log.accepted.push(entry);
            }
            "PUBLISHED"
        };
        result.push((Value::Text("SuccessCode".into()), Value::Text(code.into())));
        results.push(Value::Map(result));
    }
    let body = map(vec![
        ("FailedEntryCount", Value::Integer(failed.into())),
        ("Entries", Value::Array(results)),
    ]);
    Plan::Respond(delay, StatusCode::OK, body)
}

/// An entry as the fake logs it.
fn accepted(entry: &Value, bus: &str) -> Accepted {
    let system = member(entry, "SystemMetadata");
    Accepted {
        source: text(entry, "Source").unwrap_or_default(),
        detail_type: text(entry, "DetailType").unwrap_or_default(),
        detail: text(entry, "Detail").unwrap_or_default(),
        event_bus_name: Some(bus.to_owned()),
        resources: member(entry, "Resources")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_text().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        time: member(entry, "Time").and_then(epoch_seconds),
        trace_header: text(entry, "TraceHeader"),
        event_group_id: system.and_then(|s| text(s, "EventGroupId")),
        deduplication_id: system.and_then(|s| text(s, "DeduplicationId")),
    }
}

/// A Smithy timestamp: tag 1 around epoch seconds (an integer or a float).
pub(crate) fn epoch_seconds(value: &Value) -> Option<serde_json::Number> {
    let Value::Tag(1, inner) = value else {
        return None;
    };
    match inner.as_ref() {
        Value::Integer(n) => i64::try_from(*n).ok().map(Into::into),
        Value::Float(f) => serde_json::Number::from_f64(*f),
        _ => None,
    }
}

/// Why an entry is refused, as the API's constraints say.
fn invalid(entry: &Accepted) -> Option<String> {
    let id_ok = |id: &Option<String>| {
        id.as_ref()
            .is_none_or(|id| (1..=128).contains(&id.chars().count()))
    };
    if entry.source.is_empty() || entry.source.starts_with("aws.") {
        return Some("Source must be 1-256 characters, not starting with `aws.`".into());
    }
    if entry.detail_type.is_empty() {
        return Some("DetailType is required".into());
    }
    if entry.trace_header.is_some() {
        return Some("TraceHeader is not a member of PutEventsRequestEntry".into());
    }
    if !id_ok(&entry.event_group_id) || !id_ok(&entry.deduplication_id) {
        return Some("EventGroupId and DeduplicationId are 1-128 characters".into());
    }
    None
}

/// The first time each (bus, group, deduplication id) was published.
pub(crate) type Dedup = HashMap<(String, String, String), Instant>;

#[cfg(test)]
mod tests {
    use super::envelope;
    use crate::Accepted;

    #[test]
    fn a_subscriber_gets_the_detail_as_published() {
        let entry = Accepted {
            source: "shop".into(),
            detail_type: "OrderPlaced".into(),
            detail: r#"{"total":98765432109876543210,"share":0.1000000000000000000001}"#.into(),
            event_bus_name: Some("bus".into()),
            resources: vec!["urn:1".into()],
            time: Some(1_765_000_000.into()),
            trace_header: None,
            event_group_id: Some("order-1".into()),
            deduplication_id: None,
        };
        let (event, body) = envelope(&entry, "id-1");
        assert!(
            body.ends_with(
                r#""detail":{"total":98765432109876543210,"share":0.1000000000000000000001}}"#
            ),
            "{body}"
        );
        assert_eq!(event["detail-type"], "OrderPlaced");
        assert_eq!(event["time"], "2025-12-06T05:46:40Z");
        let not_json = Accepted {
            detail: "{".into(),
            ..entry
        };
        assert!(envelope(&not_json, "id-2").1.ends_with(r#""detail":null}"#));
    }
}
