//! Test support: a small mapper and generated stream batches.

#![allow(dead_code)]

use outbox_runtime::entry::EventSpec;
use outbox_runtime::{Fields, Image, MapError, MappedEvent, Mapper, Operation, Record};
use serde::Serialize;

pub static CHANGED: EventSpec = EventSpec {
    name: "ItemChanged",
    id_key: "ItemChanged",
    source: "test.items",
    detail_type: "ItemChanged",
    schema: r#"{"type": "object", "required": ["id", "n"], "properties": {"id": {"type": "string"}, "n": {"type": "integer"}}}"#,
    drift: outbox_runtime::Drift::Stop,
    group: outbox_runtime::Group::Key("pk"),
    snapshot: false,
    compiled: outbox_runtime::SchemaCell::new(),
};

/// Maps every INSERT and MODIFY to `ItemChanged { id, n }`; REMOVE is skipped; an item with a
/// `poison` attribute cannot be mapped.
pub struct TestMapper;

#[derive(Serialize)]
struct Detail<'a> {
    id: &'a str,
    n: outbox_runtime::Number<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pad: Option<&'a str>,
}

impl Mapper for TestMapper {
    fn map(&self, record: &Record, out: &mut Vec<MappedEvent>) -> Result<(), MapError> {
        if record.operation == Operation::Remove {
            return Ok(());
        }
        let f = Fields {
            event: CHANGED.name,
        };
        if record.get(Image::New, "poison").is_some() {
            return Err(MapError::new(CHANGED.name, "poison", "the item is poison"));
        }
        let id = f.required("id", f.string("id", record.get(Image::New, "pk"))?)?;
        let n = f.required("n", f.number("n", record.get(Image::New, "n"))?)?;
        let pad = f.string("pad", record.get(Image::New, "pad"))?;
        out.push(MappedEvent::new(&CHANGED, &Detail { id, n, pad })?);
        Ok(())
    }
}

/// One stream record as Lambda delivers it.
pub fn record(seq: usize, op: &str, pk: &str, n: usize, extra: &str) -> serde_json::Value {
    let new_image: serde_json::Value = serde_json::from_str(&format!(
        r#"{{"pk": {{"S": "{pk}"}}, "n": {{"N": "{n}"}}{extra}}}"#
    ))
    .unwrap();
    let mut change = serde_json::json!({
        "ApproximateCreationDateTime": 1_700_000_000 + seq,
        "Keys": {"pk": {"S": pk}},
        "SequenceNumber": format!("{:021}", 100 + seq),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if op != "REMOVE" {
        change["NewImage"] = new_image;
    }
    serde_json::json!({
        "eventID": format!("evt-{seq:06}"),
        "eventName": op,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/test-table/stream/2026-01-01T00:00:00.000",
    })
}

/// A batch of `count` records over `items` distinct items, mixing INSERT, MODIFY and REMOVE.
pub fn batch(count: usize, items: usize) -> String {
    let records: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            let op = match i % 7 {
                0 => "INSERT",
                6 => "REMOVE",
                _ => "MODIFY",
            };
            record(i, op, &format!("ITEM#{}", i % items), i, "")
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

/// Sequence number of record `seq` in [`batch`].
pub fn sequence_number(seq: usize) -> String {
    format!("{:021}", 100 + seq)
}
