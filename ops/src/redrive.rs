//! `relay redrive`: publishes what the failure destinations hold, once the cause is fixed. The
//! relay's on-failure queue holds Lambda's records of failed batches (a shard and a range of
//! sequence numbers, never the items); the dead-letters queue holds `Outbox Poison Record`
//! events (a record's ids, the item's keys, the drifted event's name and the reason). Each is
//! turned back into stream records (read from the stream while it still holds them, else, for
//! a dead letter with keys, the item as the table holds it now), run through the current
//! mappings, and published with the original deterministic event ids. A message is deleted
//! only once its events are published; one that cannot be redriven stays, with the reason.
//! `--dry-run` prints the entries and changes nothing.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata as _;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use serde::Serialize;
use serde_json::{Value, json};

use outbox_runtime::MappedEvent;
use outbox_runtime::handler::{Mapper, Options};
use outbox_runtime::publish::Publisher;

use crate::batch::{Filtered, publish_or_print};
use crate::event::{lambda_record, sequence_number};
use crate::{LocalError, aws_error};

/// How long a received message stays invisible to others while the run handles it.
const VISIBILITY_SECONDS: i32 = 300;

/// A queue to redrive, as the command names it.
#[derive(Debug, Clone)]
pub struct RedriveQueue {
    /// `failure queue` or `dead letters`.
    pub label: &'static str,
    /// Its URL.
    pub url: String,
}

/// Counts of one run, printed last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedriveSummary {
    /// Messages read.
    pub messages: usize,
    /// Messages whose events were published (deleted), or would be (`--dry-run`).
    pub redriven: usize,
    /// Entries published (or printed).
    pub published: usize,
    /// Messages left in their queue, each with its reason on stderr.
    pub kept: usize,
    /// Nothing was published or deleted.
    pub dry_run: bool,
}

/// What a message asks to redrive.
#[derive(Debug, PartialEq, Eq)]
enum Letter {
    /// A failed batch: a range of one shard (the on-failure destination's record).
    Batch {
        stream_arn: String,
        shard: String,
        start: String,
        end: String,
    },
    /// One record (a dead letter); `event` is the drifted event, if that is what it stands for.
    Record {
        stream_arn: String,
        sequence_number: String,
        event_id: String,
        event_name: Option<String>,
        keys: Option<Value>,
        event: Option<String>,
        time: Option<String>,
    },
}

impl Letter {
    /// Reads a message body: Lambda's on-failure record, or a dead-letter event.
    fn parse(body: &str) -> Result<Letter, String> {
        let message: Value = serde_json::from_str(body).map_err(|e| format!("not JSON ({e})"))?;
        let text = |v: &Value| v.as_str().map(str::to_owned);
        if let Some(info) = message.get("DDBStreamBatchInfo") {
            let field = |name: &str| {
                text(&info[name]).ok_or_else(|| format!("DDBStreamBatchInfo has no {name}"))
            };
            return Ok(Letter::Batch {
                stream_arn: field("streamArn")?,
                shard: field("shardId")?,
                start: field("startSequenceNumber")?,
                end: field("endSequenceNumber")?,
            });
        }
        if message["detail-type"] == outbox_stack::POISON_DETAIL_TYPE {
            let detail = &message["detail"];
            let field = |name: &str| {
                text(&detail[name]).ok_or_else(|| format!("the dead letter has no {name}"))
            };
            return Ok(Letter::Record {
                stream_arn: field("eventSourceARN")?,
                sequence_number: field("sequenceNumber")?,
                event_id: field("eventID")?,
                event_name: text(&detail["eventName"]),
                keys: detail.get("keys").filter(|k| k.is_object()).cloned(),
                event: text(&detail["event"]),
                time: text(&message["time"]),
            });
        }
        Err("neither a failed batch (DDBStreamBatchInfo) nor a dead letter".into())
    }
}

/// Sequence numbers are decimal strings of any length: compared as numbers.
fn sequence_key(sequence_number: &str) -> (usize, &str) {
    let digits = sequence_number.trim_start_matches('0');
    (digits.len(), digits)
}

/// Redrives the messages of some queues.
pub struct Redriver<'a, M, P> {
    /// The relay's mappings.
    pub mapper: &'a M,
    /// Where events go.
    pub publisher: &'a P,
    /// The relay's settings (`drift_override` is set: a still-drifting event fails).
    pub relay: Options,
    /// SQS, DynamoDB Streams and DynamoDB.
    pub config: &'a aws_config::SdkConfig,
    /// The tables' keys.
    pub stack: &'a crate::LocalStack,
    /// Print the entries instead of publishing; delete nothing.
    pub dry_run: bool,
}

impl<M: Mapper, P: Publisher> Redriver<'_, M, P> {
    /// Redrives every message of `queues`; progress on stderr.
    pub async fn run(&self, queues: &[RedriveQueue]) -> Result<RedriveSummary, LocalError> {
        let sqs = aws_sdk_sqs::Client::new(self.config);
        let mut summary = RedriveSummary {
            dry_run: self.dry_run,
            ..RedriveSummary::default()
        };
        for queue in queues {
            let mut seen = HashSet::new();
            let mut kept_handles = Vec::new();
            loop {
                let output = sqs
                    .receive_message()
                    .queue_url(&queue.url)
                    .max_number_of_messages(10)
                    .visibility_timeout(VISIBILITY_SECONDS)
                    .wait_time_seconds(1)
                    .send()
                    .await
                    .map_err(aws_error("ReceiveMessage"))?;
                let messages: Vec<_> = output
                    .messages()
                    .iter()
                    .filter(|m| seen.insert(m.message_id().unwrap_or_default().to_owned()))
                    .cloned()
                    .collect();
                if messages.is_empty() {
                    break;
                }
                for message in messages {
                    summary.messages += 1;
                    let handle = message.receipt_handle().unwrap_or_default().to_owned();
                    let label = format!("[{} {}]", queue.label, summary.messages);
                    match self.redrive(message.body().unwrap_or_default()).await {
                        Ok(published) => {
                            summary.redriven += 1;
                            summary.published += published;
                            let verb = if self.dry_run {
                                "would publish"
                            } else {
                                "published"
                            };
                            eprintln!("redrive: {label} {verb} {published} event(s)");
                            if self.dry_run {
                                kept_handles.push(handle);
                            } else {
                                sqs.delete_message()
                                    .queue_url(&queue.url)
                                    .receipt_handle(handle)
                                    .send()
                                    .await
                                    .map_err(aws_error("DeleteMessage"))?;
                            }
                        }
                        Err(reason) => {
                            summary.kept += 1;
                            eprintln!("redrive: {label} kept: {reason}");
                            kept_handles.push(handle);
                        }
                    }
                }
            }
            // What stays is visible again at once, for the next run.
            for handle in kept_handles {
                sqs.change_message_visibility()
                    .queue_url(&queue.url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .map_err(aws_error("ChangeMessageVisibility"))?;
            }
        }
        Ok(summary)
    }

    /// Publishes one message's events; the number published, or why not.
    async fn redrive(&self, body: &str) -> Result<usize, String> {
        match Letter::parse(body)? {
            Letter::Batch {
                stream_arn,
                shard,
                start,
                end,
            } => {
                let records = self.read_range(&stream_arn, &shard, &start, &end).await?;
                if records.is_empty() {
                    return Err(format!(
                        "the stream no longer holds sequence numbers {start} to {end} of {shard} (streams keep records 24 hours)"
                    ));
                }
                self.publish(records, None).await
            }
            Letter::Record {
                stream_arn,
                sequence_number,
                event_id,
                event_name,
                keys,
                event,
                time,
            } => {
                // The record as the stream has it (a fixed config reads it right now); failing
                // that, the item as the table has it now (fixed data).
                let from_stream = match self
                    .read_record(&stream_arn, &sequence_number, &event_id)
                    .await?
                {
                    Some(record) => match self.publish(vec![record], event.clone()).await {
                        Ok(published) => return Ok(published),
                        Err(reason) => format!("the record in the stream: {reason}"),
                    },
                    None => "the stream no longer holds the record".to_owned(),
                };
                let Some(keys) = keys else {
                    return Err(format!(
                        "{from_stream}; the dead letter has no keys to read the item by"
                    ));
                };
                if event_name.as_deref() == Some("REMOVE") {
                    return Err(format!("{from_stream}; the item was removed"));
                }
                let record = self
                    .read_item(
                        &stream_arn,
                        &sequence_number,
                        &event_id,
                        event_name.as_deref(),
                        &keys,
                        time.as_deref(),
                    )
                    .await
                    .map_err(|e| format!("{from_stream}; {e}"))?;
                self.publish(vec![record], event)
                    .await
                    .map_err(|e| format!("{from_stream}; the item in the table: {e}"))
            }
        }
    }

    /// Runs records through the mappings (only `event`'s, if given) and publishes the entries,
    /// or prints them (`--dry-run`).
    async fn publish(&self, records: Vec<Value>, event: Option<String>) -> Result<usize, String> {
        // A dead letter stands for one drifted event: the record's others were published
        // when it was first read.
        let mapper = Filtered {
            mapper: self.mapper,
            keep: |m: &MappedEvent| event.as_deref().is_none_or(|e| m.spec.name == e),
        };
        let published =
            publish_or_print(&mapper, self.publisher, &records, &self.relay, self.dry_run).await?;
        if published == 0
            && let Some(event) = &event
        {
            return Err(format!("it no longer produces {event}"));
        }
        Ok(published)
    }

    /// The records of `shard` from `start` to `end`, as Lambda delivers them; empty when the
    /// stream no longer holds them.
    async fn read_range(
        &self,
        stream_arn: &str,
        shard: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<Value>, String> {
        let streams = aws_sdk_dynamodbstreams::Client::new(self.config);
        let iterator = streams
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(start)
            .send()
            .await;
        let mut iterator = match iterator {
            Ok(output) => output.shard_iterator().map(str::to_owned),
            Err(e) if gone(e.code()) => return Ok(Vec::new()),
            Err(e) => return Err(aws_error("GetShardIterator")(e).to_string()),
        };
        let mut records = Vec::new();
        let mut empty_reads = 0;
        while let Some(current) = iterator.take() {
            let output = match streams.get_records().shard_iterator(current).send().await {
                Ok(output) => output,
                Err(e) if gone(e.code()) => return Ok(Vec::new()),
                Err(e) => return Err(aws_error("GetRecords")(e).to_string()),
            };
            if output.records().is_empty() {
                empty_reads += 1;
                if empty_reads > 3 {
                    break;
                }
            }
            for record in output.records() {
                let record = lambda_record(record, stream_arn);
                let Some(number) = sequence_number(&record) else {
                    continue;
                };
                if sequence_key(number) > sequence_key(end) {
                    return Ok(records);
                }
                if sequence_key(number) >= sequence_key(start) {
                    records.push(record);
                }
            }
            iterator = output.next_shard_iterator().map(str::to_owned);
        }
        Ok(records)
    }

    /// One record by its sequence number, if the stream still holds it (and it is the one
    /// with `event_id`).
    async fn read_record(
        &self,
        stream_arn: &str,
        sequence_number: &str,
        event_id: &str,
    ) -> Result<Option<Value>, String> {
        let streams = aws_sdk_dynamodbstreams::Client::new(self.config);
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let described = streams
                .describe_stream()
                .stream_arn(stream_arn)
                .set_exclusive_start_shard_id(after.clone())
                .send()
                .await;
            let description = match described {
                Ok(output) => output.stream_description.unwrap_or_else(|| {
                    aws_sdk_dynamodbstreams::types::StreamDescription::builder().build()
                }),
                Err(e) if gone(e.code()) => return Ok(None),
                Err(e) => return Err(aws_error("DescribeStream")(e).to_string()),
            };
            shards.extend(description.shards().iter().cloned());
            after = description.last_evaluated_shard_id().map(str::to_owned);
            if after.is_none() {
                break;
            }
        }
        let key = sequence_key(sequence_number);
        for shard in shards {
            let Some(range) = shard.sequence_number_range() else {
                continue;
            };
            let from = range.starting_sequence_number().unwrap_or_default();
            let holds = sequence_key(from) <= key
                && range
                    .ending_sequence_number()
                    .is_none_or(|to| key <= sequence_key(to));
            if !holds {
                continue;
            }
            let shard_id = shard.shard_id().unwrap_or_default();
            let found = self
                .read_range(stream_arn, shard_id, sequence_number, sequence_number)
                .await?;
            if let Some(record) = found.into_iter().find(|r| r["eventID"] == event_id) {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// A dead letter's record rebuilt from the item as the table holds it now: its keys, the
    /// original ids, the item as the new image (there is no old image any more).
    async fn read_item(
        &self,
        stream_arn: &str,
        sequence_number: &str,
        event_id: &str,
        event_name: Option<&str>,
        keys: &Value,
        time: Option<&str>,
    ) -> Result<Value, String> {
        let table = outbox_runtime::record::table_from_arn(stream_arn)
            .ok_or_else(|| format!("{stream_arn} is not a stream ARN"))?;
        let declared = self
            .stack
            .table(table)
            .ok_or_else(|| format!("this relay reads no table {table}"))?;
        let keys = dynamodb_keys(declared, keys)?;
        let key: HashMap<String, serde_dynamo::AttributeValue> =
            serde_json::from_value(keys.clone()).map_err(|e| format!("the keys: {e}"))?;
        let item = aws_sdk_dynamodb::Client::new(self.config)
            .get_item()
            .table_name(table)
            .set_key(Some(key.into_iter().map(|(k, v)| (k, v.into())).collect()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("GetItem")(e).to_string())?
            .item
            .ok_or("the table no longer has the item")?;
        let image: HashMap<String, serde_dynamo::AttributeValue> = item
            .into_iter()
            .map(|(k, v)| (k, serde_dynamo::AttributeValue::from(v)))
            .collect();
        let mut dynamodb = json!({
            "Keys": keys,
            "NewImage": image,
            "SequenceNumber": sequence_number,
            "StreamViewType": "NEW_IMAGE",
        });
        if let Some(seconds) = time.and_then(rfc3339_seconds) {
            dynamodb["ApproximateCreationDateTime"] = json!(seconds);
        }
        Ok(json!({
            "eventID": event_id,
            "eventName": event_name.unwrap_or("MODIFY"),
            "eventSource": "aws:dynamodb",
            "eventSourceARN": stream_arn,
            "dynamodb": dynamodb,
        }))
    }
}

/// A dead letter's keys (plain JSON: `{"pk": "USER#1"}`) in DynamoDB JSON, typed as the table
/// declares its keys.
fn dynamodb_keys(table: &outbox_stack::Table, keys: &Value) -> Result<Value, String> {
    let mut out = serde_json::Map::new();
    for key in std::iter::once(&table.partition_key).chain(&table.sort_key) {
        let text = match &keys[&key.name] {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => return Err(format!("the dead letter's keys have no `{}`", key.name)),
        };
        out.insert(key.name.clone(), json!({ key.kind.as_str(): text }));
    }
    Ok(Value::Object(out))
}

/// Whether a Streams error says the records are gone (trimmed, expired, a deleted stream).
fn gone(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "TrimmedDataAccessException" | "ResourceNotFoundException" | "ExpiredIteratorException"
        )
    )
}

fn rfc3339_seconds(text: &str) -> Option<i64> {
    aws_sdk_dynamodbstreams::primitives::DateTime::from_str(
        text,
        aws_sdk_dynamodbstreams::primitives::DateTimeFormat::DateTime,
    )
    .ok()
    .map(|t| t.secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_batch_and_a_dead_letter_are_told_apart() {
        let batch = r#"{"DDBStreamBatchInfo":{"shardId":"s1","startSequenceNumber":"100","endSequenceNumber":"120","streamArn":"arn:s"}}"#;
        assert_eq!(
            Letter::parse(batch),
            Ok(Letter::Batch {
                stream_arn: "arn:s".into(),
                shard: "s1".into(),
                start: "100".into(),
                end: "120".into()
            })
        );
        let letter = json!({
            "detail-type": "Outbox Poison Record",
            "time": "2026-12-05T10:00:00Z",
            "detail": {
                "sequenceNumber": "7", "eventID": "e7", "eventSourceARN": "arn:s",
                "eventName": "INSERT", "kind": "schema", "reason": "r",
                "event": "UserCreated", "keys": { "pk": { "S": "USER#1" } }
            }
        });
        let Ok(Letter::Record {
            event,
            keys,
            event_name,
            ..
        }) = Letter::parse(&letter.to_string())
        else {
            panic!("a dead letter");
        };
        assert_eq!(event.as_deref(), Some("UserCreated"));
        assert_eq!(event_name.as_deref(), Some("INSERT"));
        assert_eq!(keys, Some(json!({ "pk": { "S": "USER#1" } })));
        assert!(Letter::parse(r#"{"detail-type":"UserCreated"}"#).is_err());
        assert!(Letter::parse("nope").is_err());
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(sequence_key("99") < sequence_key("100"));
        assert!(sequence_key("000100") == sequence_key("100"));
        assert!(sequence_key("4900000000000000000000000000001") > sequence_key("999"));
        assert_eq!(rfc3339_seconds("2023-11-14T22:13:20Z"), Some(1_700_000_000));
    }

    #[test]
    fn a_dead_letters_keys_are_typed_as_the_table_declares_them() {
        let key = |name: &str, kind: &str| outbox_stack::Key {
            name: name.into(),
            kind: kind.into(),
        };
        let table = outbox_stack::Table {
            name: "t".into(),
            partition_key: key("pk", "S"),
            sort_key: Some(key("version", "N")),
            stream: "NEW_IMAGE".into(),
            filters: Vec::new(),
        };
        assert_eq!(
            dynamodb_keys(&table, &json!({ "pk": "USER#1", "version": 3 })),
            Ok(json!({ "pk": { "S": "USER#1" }, "version": { "N": "3" } }))
        );
        assert!(dynamodb_keys(&table, &json!({ "pk": "USER#1" })).is_err());
    }
}
