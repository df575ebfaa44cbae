//! `generator simulate`: a DynamoDB Streams event through the whole declared flow, offline. Per
//! record: whether the stream filters let it invoke the relay, the events the relay produces
//! from it, and the consumers whose rules match each event.
//!
//! The mapping is not re-implemented here: the generated relay itself maps the event
//! (`relay --event-file FILE --dry-run`, built from the output directory), so simulate and the
//! deployed relay cannot disagree. Filters and rules go through the pattern engine
//! ([`crate::pattern`]) with EventBridge's semantics.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::pattern::Pattern;
use crate::plan::{ConsumerPlan, Plan};

/// A published entry (as the relay's dry run prints it) as its consumers receive it: the
/// EventBridge envelope. The bus gives each delivered event an id of its own; the event's own
/// (deterministic) id is the first of `resources`.
pub fn envelope(entry: &Value) -> Option<Value> {
    let detail: Value = serde_json::from_str(entry["Detail"].as_str()?).ok()?;
    Some(json!({
        "version": "0",
        "id": "(assigned by EventBridge)",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": time(&entry["Time"]),
        "region": "us-east-1",
        "resources": entry["Resources"],
        "detail": detail,
    }))
}

/// The system metadata a Custom Event Bus gives a published entry, as a `WITH_METADATA`
/// subscriber or a JSONata transformer sees it (what only the bus knows is shown as such).
pub fn system_metadata(entry: &Value) -> serde_json::Map<String, Value> {
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let system = &entry["SystemMetadata"];
    outbox_stack::input::system_metadata(
        "(assigned by EventBridge)",
        entry["Source"].as_str().unwrap_or_default(),
        entry["DetailType"].as_str().unwrap_or_default(),
        text(&system["EventGroupId"]).as_deref(),
        text(&system["DeduplicationId"]).as_deref(),
    )
}

/// Runs the simulation; the result as JSON (`records`, each with its events and consumers).
pub fn simulate(plan: &Plan, out: &Path, event_text: &str) -> Result<Value, String> {
    let event: Value =
        serde_json::from_str(event_text).map_err(|e| format!("the event is not JSON: {e}"))?;
    event["Records"]
        .as_array()
        .ok_or("the event is not a DynamoDB Streams event (no `Records` array)")?;
    let (entries, failure) = dry_run(out, event_text)?;
    trace(plan, &event, &entries, failure)
}

/// The simulation of a stream event whose relay dry run printed `entries` (and reported
/// `failure`): what passes the filters, the events, and what each consumer receives.
pub fn trace(
    plan: &Plan,
    event: &Value,
    entries: &[Value],
    failure: Option<String>,
) -> Result<Value, String> {
    let records = event["Records"]
        .as_array()
        .ok_or("the event is not a DynamoDB Streams event (no `Records` array)")?;

    let filters: Vec<(String, Vec<Pattern>)> = plan
        .tables
        .iter()
        .map(|t| {
            let patterns = t
                .filters
                .iter()
                .map(|f| {
                    Pattern::from_value(f).map_err(|e| format!("table {}: filter: {e}", t.name))
                })
                .collect::<Result<_, _>>()?;
            Ok((t.name.clone(), patterns))
        })
        .collect::<Result<_, String>>()?;
    let rules: Vec<(&ConsumerPlan, Pattern)> = plan
        .consumers
        .iter()
        .map(|c| {
            Pattern::from_value(&c.rule_pattern)
                .map(|p| (c, p))
                .map_err(|e| format!("consumer {}: rule: {e}", c.name))
        })
        .collect::<Result<_, _>>()?;

    // Entries by the record they came from: ids are `urn:outbox:event:<eventID>:<event>`.
    let mut by_record: BTreeMap<&str, Vec<(&str, &Value)>> = BTreeMap::new();
    for entry in entries {
        if let Some((record, name)) = entry["Resources"][0]
            .as_str()
            .and_then(|id| id.strip_prefix("urn:outbox:event:"))
            .and_then(|rest| rest.split_once(':'))
        {
            by_record.entry(record).or_default().push((name, entry));
        }
    }
    let mut out_records = Vec::new();
    for record in records {
        let event_id = record["eventID"].as_str().unwrap_or_default();
        let table = record["eventSourceARN"]
            .as_str()
            .and_then(|arn| arn.split(':').nth(5))
            .and_then(|r| r.strip_prefix("table/"))
            .and_then(|r| r.split('/').next())
            .unwrap_or_default();
        let passes = filters
            .iter()
            .find(|(name, _)| name == table)
            .is_none_or(|(_, patterns)| {
                patterns.is_empty() || patterns.iter().any(|p| p.matches(record))
            });
        let events: Vec<Value> = by_record
            .get(event_id)
            .into_iter()
            .flatten()
            .filter_map(|&(name, entry)| {
                let id = entry["Resources"][0].as_str()?;
                let envelope = envelope(entry)?;
                let reached: Vec<&ConsumerPlan> = rules
                    .iter()
                    .filter(|(_, rule)| rule.matches(&envelope))
                    .map(|(consumer, _)| *consumer)
                    .collect();
                let deliveries: Vec<Value> = reached
                    .iter()
                    .map(|c| {
                        let receives = if plan.bus.custom {
                            let system = system_metadata(entry);
                            outbox_stack::input::receives(c.input.as_ref(), &envelope, &system)
                                .map_err(|e| {
                                    format!("consumer {}: its JSONata transformer: {e}", c.name)
                                })
                        } else {
                            Ok(c.input
                                .as_ref()
                                .map_or_else(|| envelope.clone(), |input| input.apply(&envelope)))
                        };
                        let mut delivery = json!({
                            "consumer": c.name,
                            "target": format!("{} {}", c.target_noun, c.target_name),
                            "whole": c.input.is_none(),
                        });
                        match receives {
                            Ok(value) => delivery["receives"] = value,
                            Err(why) => delivery["error"] = json!(why),
                        }
                        delivery
                    })
                    .collect();
                Some(json!({
                    "event": name,
                    "id": id,
                    "source": entry["Source"],
                    "detailType": entry["DetailType"],
                    "detail": envelope["detail"],
                    "consumers": reached.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                    "deliveries": deliveries,
                }))
            })
            .collect();
        let (events, dropped) = if passes {
            (events, Vec::new())
        } else {
            (Vec::new(), events)
        };
        out_records.push(json!({
            "eventID": event_id,
            "eventName": record["eventName"],
            "table": table,
            "sequenceNumber": record["dynamodb"]["SequenceNumber"],
            "keys": keys(&record["dynamodb"]["Keys"]),
            "passesFilter": passes,
            // The filter drops it, so Lambda never invokes the relay with it: its events, if
            // the relay would produce any, are not published (a filter that drops too much).
            "events": events,
            "droppedByFilter": dropped,
        }));
    }
    Ok(json!({ "records": out_records, "failure": failure }))
}

/// An entry's `Time` (epoch seconds) as the envelope's `time` (RFC 3339, as EventBridge
/// delivers it); without one, EventBridge stamps the time of the call; anything else as it is.
fn time(value: &Value) -> Value {
    use aws_smithy_types::date_time::{DateTime, Format};
    if value.is_null() {
        return json!("(assigned by EventBridge)");
    }
    value
        .as_i64()
        .and_then(|secs| DateTime::from_secs(secs).fmt(Format::DateTime).ok())
        .map_or_else(|| value.clone(), Value::String)
}

/// `{"pk": {"S": "USER#1"}}` as `{"pk": "USER#1"}`, for reading.
fn keys(keys: &Value) -> Value {
    let Some(map) = keys.as_object() else {
        return Value::Null;
    };
    map.iter()
        .map(|(k, v)| {
            let plain = v
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or(Value::Null);
            (k.clone(), plain)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The generated relay's `--dry-run` on the event: its entries, and the failure it would report.
fn dry_run(out: &Path, event_text: &str) -> Result<(Vec<Value>, Option<String>), String> {
    let relay = crate::local_relay::build_relay(out)?;
    let dir = std::env::temp_dir().join(format!("outbox-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = dir.join("event.json");
    std::fs::write(&file, event_text).map_err(|e| format!("{}: {e}", file.display()))?;
    let output = Command::new(&relay)
        .arg("--event-file")
        .arg(&file)
        .arg("--dry-run")
        .env_remove("EVENT_BUS_NAME")
        .env("RUST_LOG", "off")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", relay.display()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = output?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("the relay failed:\n{stderr}"));
    }
    let entries = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<Vec<Value>, _>>()
        .map_err(|e| format!("the relay printed something that is not an entry: {e}"))?;
    let failure = stderr
        .lines()
        .find_map(|l| l.strip_prefix("dry run: "))
        .map(str::to_owned);
    Ok((entries, failure))
}

/// The simulation for a person to read.
pub fn text(result: &Value) -> String {
    let mut out = String::new();
    let records = result["records"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (mut events, mut deliveries, mut filtered) = (0, 0, 0);
    for (i, record) in records.iter().enumerate() {
        let keys: Vec<String> = record["keys"]
            .as_object()
            .map(|k| {
                k.iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}={}",
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "record {} {} {} {} {}\n",
            i + 1,
            record["sequenceNumber"].as_str().unwrap_or("?"),
            record["eventName"].as_str().unwrap_or("?"),
            record["table"].as_str().unwrap_or("?"),
            keys.join(" ")
        ));
        if record["passesFilter"] == false {
            filtered += 1;
            out.push_str("  dropped by the stream filter (the relay is not invoked for it)\n");
            for e in record["droppedByFilter"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "  WARNING: the relay would produce {} from it: the filter drops an event\n",
                    e["event"].as_str().unwrap_or("?")
                ));
            }
            continue;
        }
        let produced = record["events"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if produced.is_empty() {
            out.push_str("  no event\n");
        }
        for e in produced {
            events += 1;
            let consumers: Vec<&str> = e["consumers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            deliveries += consumers.len();
            out.push_str(&format!(
                "  {} ({}, {}) -> {}\n",
                e["event"].as_str().unwrap_or("?"),
                e["source"].as_str().unwrap_or("?"),
                e["id"].as_str().unwrap_or("?"),
                if consumers.is_empty() {
                    "no consumer".to_owned()
                } else {
                    consumers.join(", ")
                }
            ));
            if e["detailType"] == outbox_stack::POISON_DETAIL_TYPE
                && let Some(reason) = e["detail"]["reason"].as_str()
            {
                out.push_str(&format!("    why: {reason}\n"));
            }
            for delivery in e["deliveries"].as_array().into_iter().flatten() {
                let receives = if let Some(why) = delivery["error"].as_str() {
                    format!("nothing: {why}")
                } else if delivery["whole"] == true {
                    "the whole event".to_owned()
                } else {
                    delivery["receives"].to_string()
                };
                out.push_str(&format!(
                    "    {} ({}) receives {receives}\n",
                    delivery["consumer"].as_str().unwrap_or("?"),
                    delivery["target"].as_str().unwrap_or("?"),
                ));
            }
        }
    }
    if let Some(failure) = result["failure"].as_str() {
        out.push_str(&format!("the relay would fail the batch: {failure}\n"));
    }
    out.push_str(&format!(
        "{} records: {filtered} dropped by the stream filters, {events} events, {deliveries} deliveries\n",
        records.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{envelope, text};

    #[test]
    fn a_dead_lettered_event_says_why_and_when_eventbridge_stamps_its_time() {
        let reason =
            "the OrderPlaced detail breaks its schema: /customerId: missing (violates `required`)";
        let result = json!({ "records": [{
            "eventName": "INSERT", "sequenceNumber": "101", "table": "orders-table",
            "keys": { "pk": "ORDER#2" }, "passesFilter": true,
            "events": [{
                "event": "OrderPlaced:dead-letter", "source": "orders.outbox",
                "id": "urn:outbox:event:2:OrderPlaced:dead-letter",
                "detailType": outbox_stack::POISON_DETAIL_TYPE,
                "detail": { "kind": "schema", "reason": reason },
                "consumers": ["dead-letters"], "deliveries": [],
            }],
        }]});
        let text = text(&result);
        assert!(text.contains(&format!("\n    why: {reason}\n")), "{text}");
        let entry = json!({ "Detail": "{}", "DetailType": outbox_stack::POISON_DETAIL_TYPE });
        assert_eq!(
            envelope(&entry).unwrap()["time"],
            "(assigned by EventBridge)"
        );
        let timed = json!({ "Detail": "{}", "Time": 1764237600 });
        assert_eq!(envelope(&timed).unwrap()["time"], "2025-11-27T10:00:00Z");
    }
}
