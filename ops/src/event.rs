//! The JSON the local poller hands around: the Lambda event record it builds from a Streams API
//! record (as Lambda builds it), and the message it sends to the on-failure destination (as
//! Lambda sends it, plus the reason).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodbstreams::primitives::DateTime;
use aws_sdk_dynamodbstreams::types::AttributeValue;
use serde_json::{Map, Value, json};

/// What Lambda sends to a stream mapping's on-failure destination (the batch's place in the
/// stream, not its records), plus `outbox`: the reason and the records' ids, which the local
/// poller knows because it ran the handler in process. Never item contents.
pub(crate) fn failure_message(
    stream_arn: &str,
    shard: &str,
    records: &[Value],
    reason: &str,
    attempts: u32,
    condition: &str,
) -> Value {
    let first = records.first();
    let last = records.last();
    let arrival = |r: Option<&Value>| {
        r.and_then(|r| r["dynamodb"]["ApproximateCreationDateTime"].as_i64())
            .map(|s| rfc3339(DateTime::from_secs(s)))
    };
    json!({
        "requestContext": {
            "requestId": format!("local-{}-{}", shard, first.and_then(sequence_number).unwrap_or_default()),
            "functionArn": "local:relay",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": null },
        "version": "1.0",
        "timestamp": rfc3339(DateTime::from(SystemTime::now())),
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": first.and_then(sequence_number),
            "endSequenceNumber": last.and_then(sequence_number),
            "approximateArrivalOfFirstRecord": arrival(first),
            "approximateArrivalOfLastRecord": arrival(last),
            "batchSize": records.len(),
            "streamArn": stream_arn,
        },
        "outbox": {
            "reason": reason,
            "records": records.iter().map(|r| json!({
                "eventID": r["eventID"],
                "eventName": r["eventName"],
                "sequenceNumber": r["dynamodb"]["SequenceNumber"],
            })).collect::<Vec<_>>(),
        },
    })
}

/// One invocation's metrics as `relay dev` prints them: what the deployed alarms watch, by
/// their CloudWatch names (Lambda's `IteratorAge`, the age of the batch's last record; the
/// relay's own counts in the `Outbox` namespace).
pub(crate) fn metrics_line(
    table: &str,
    records: &[Value],
    stats: &outbox_runtime::handler::Stats,
) -> String {
    let age = records
        .last()
        .and_then(record_age)
        .map_or_else(|| "?".to_owned(), |age| age.as_secs().to_string());
    let counts = serde_json::to_value(stats).unwrap_or_default();
    let counts: Vec<String> = counts
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, count)| format!("{name}={count}"))
        .collect();
    format!("[metrics] {table}: IteratorAge={age}s {}", counts.join(" "))
}

/// A record's `dynamodb.SequenceNumber`.
pub(crate) fn sequence_number(record: &Value) -> Option<&str> {
    record["dynamodb"]["SequenceNumber"].as_str()
}

/// How long ago the record was written.
pub(crate) fn record_age(record: &Value) -> Option<Duration> {
    let written = record["dynamodb"]["ApproximateCreationDateTime"].as_u64()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(now.saturating_sub(written)))
}

fn rfc3339(time: DateTime) -> String {
    time.fmt(aws_sdk_dynamodbstreams::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// A stream record as Lambda hands it to the function: the Streams API record plus
/// `eventSourceARN`, attribute values in DynamoDB JSON, the creation time in whole seconds.
pub fn lambda_record(record: &aws_sdk_dynamodbstreams::types::Record, stream_arn: &str) -> Value {
    let mut out = Map::new();
    let text = |v: Option<&str>| v.map_or(Value::Null, |v| Value::String(v.to_owned()));
    out.insert("eventID".into(), text(record.event_id()));
    out.insert(
        "eventName".into(),
        text(record.event_name().map(|n| n.as_str())),
    );
    out.insert("eventVersion".into(), text(record.event_version()));
    out.insert("eventSource".into(), text(record.event_source()));
    out.insert("awsRegion".into(), text(record.aws_region()));
    let mut dynamodb = Map::new();
    if let Some(s) = record.dynamodb() {
        if let Some(time) = s.approximate_creation_date_time() {
            dynamodb.insert("ApproximateCreationDateTime".into(), json!(time.secs()));
        }
        for (name, image) in [
            ("Keys", s.keys()),
            ("NewImage", s.new_image()),
            ("OldImage", s.old_image()),
        ] {
            if let Some(image) = image {
                dynamodb.insert(name.into(), item(image));
            }
        }
        dynamodb.insert("SequenceNumber".into(), text(s.sequence_number()));
        dynamodb.insert("SizeBytes".into(), json!(s.size_bytes()));
        dynamodb.insert(
            "StreamViewType".into(),
            text(s.stream_view_type().map(|t| t.as_str())),
        );
    }
    out.insert("dynamodb".into(), Value::Object(dynamodb));
    out.insert("eventSourceARN".into(), json!(stream_arn));
    if let Some(identity) = record.user_identity() {
        out.insert(
            "userIdentity".into(),
            json!({ "type": identity.r#type(), "principalId": identity.principal_id() }),
        );
    }
    Value::Object(out)
}

/// An image in DynamoDB JSON, attributes sorted by name.
fn item(image: &HashMap<String, AttributeValue>) -> Value {
    let sorted: BTreeMap<&String, serde_dynamo::AttributeValue> = image
        .iter()
        .map(|(k, v)| (k, serde_dynamo::AttributeValue::from(v.clone())))
        .collect();
    serde_json::to_value(sorted).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodbstreams::primitives::Blob;
    use aws_sdk_dynamodbstreams::types::{
        AttributeValue as Av, Identity, OperationType, Record, StreamRecord, StreamViewType,
    };

    use super::*;

    fn sdk_record() -> Record {
        let address = HashMap::from([("city".to_owned(), Av::S("Oslo".into()))]);
        Record::builder()
            .event_id("e1")
            .event_name(OperationType::Modify)
            .event_version("1.1")
            .event_source("aws:dynamodb")
            .aws_region("eu-west-1")
            .user_identity(
                Identity::builder()
                    .r#type("Service")
                    .principal_id("dynamodb.amazonaws.com")
                    .build(),
            )
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(DateTime::from_secs(1_700_000_000))
                    .keys("pk", Av::S("USER#1".into()))
                    .keys("sk", Av::S("PROFILE".into()))
                    .new_image("pk", Av::S("USER#1".into()))
                    .new_image("sk", Av::S("PROFILE".into()))
                    .new_image("n", Av::N("12345678901234567890.123456789".into()))
                    .new_image("b", Av::B(Blob::new(vec![0, 255])))
                    .new_image("ss", Av::Ss(vec!["a".into(), "b".into()]))
                    .new_image("m", Av::M(address))
                    .new_image("l", Av::L(vec![Av::Bool(true), Av::Null(true)]))
                    .sequence_number("100")
                    .size_bytes(42)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build(),
            )
            .build()
    }

    #[test]
    fn a_streams_record_becomes_the_record_lambda_delivers() {
        let arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/app-table/stream/2026-01-01T00:00:00.000";
        let record = lambda_record(&sdk_record(), arn);
        assert_eq!(
            record,
            json!({
                "eventID": "e1", "eventName": "MODIFY", "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_700_000_000,
                    "Keys": { "pk": { "S": "USER#1" }, "sk": { "S": "PROFILE" } },
                    "NewImage": {
                        "b": { "B": "AP8=" },
                        "l": { "L": [{ "BOOL": true }, { "NULL": true }] },
                        "m": { "M": { "city": { "S": "Oslo" } } },
                        "n": { "N": "12345678901234567890.123456789" },
                        "pk": { "S": "USER#1" }, "sk": { "S": "PROFILE" },
                        "ss": { "SS": ["a", "b"] }
                    },
                    "SequenceNumber": "100", "SizeBytes": 42,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": arn,
                "userIdentity": { "type": "Service", "principalId": "dynamodb.amazonaws.com" }
            })
        );
        // The relay decodes it as it decodes a batch from Lambda: in one pass, asked whether
        // to decode the images there (the operation and the keys come before them).
        let batch = json!({ "Records": [record] }).to_string();
        let asked = std::cell::Cell::new(false);
        let (record, raw) = outbox_runtime::record::decode_batch(&batch, &|_, _| {
            asked.set(true);
            true
        })
        .unwrap()
        .next()
        .unwrap();
        assert!(
            raw.is_none() && asked.get(),
            "one pass, images decoded in it"
        );
        let record = record.unwrap();
        assert_eq!(record.table, "app-table");
        assert_eq!(record.sequence_number.as_deref(), Some("100"));
        assert_eq!(
            sequence_number(&lambda_record(&sdk_record(), arn)),
            Some("100")
        );
    }

    #[test]
    fn a_metrics_line_names_what_the_alarms_watch() {
        let stats = outbox_runtime::handler::Stats {
            records: 3,
            published: 2,
            throttled: 4,
            dead_lettered: 1,
            ..Default::default()
        };
        let line = metrics_line("app-table", &[lambda_record(&sdk_record(), "arn")], &stats);
        assert!(
            line.starts_with("[metrics] app-table: IteratorAge="),
            "{line}"
        );
        for part in [
            "records=3",
            "published=2",
            "throttled=4",
            "deadLettered=1",
            "failed=0",
        ] {
            assert!(line.contains(part), "{part} in {line}");
        }
    }

    #[test]
    fn the_failure_message_has_lambdas_shape_and_the_reason_but_no_item_contents() {
        let record = lambda_record(&sdk_record(), "arn:stream");
        let message = failure_message(
            "arn:stream",
            "shard-1",
            &[record],
            "schema: /email",
            11,
            "RetryAttemptsExhausted",
        );
        assert_eq!(
            message["requestContext"]["condition"],
            "RetryAttemptsExhausted"
        );
        assert_eq!(message["requestContext"]["approximateInvokeCount"], 11);
        let info = &message["DDBStreamBatchInfo"];
        assert_eq!(info["startSequenceNumber"], "100");
        assert_eq!(info["endSequenceNumber"], "100");
        assert_eq!(info["batchSize"], 1);
        assert_eq!(
            info["approximateArrivalOfFirstRecord"],
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(message["outbox"]["reason"], "schema: /email");
        assert_eq!(message["outbox"]["records"][0]["eventID"], "e1");
        assert!(!message.to_string().contains("Oslo"));
    }
}
