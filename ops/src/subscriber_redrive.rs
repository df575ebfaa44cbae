//! `relay redrive --subscriber NAME`: delivers again what a Custom Event Bus subscriber could
//! not. Its dead-letter queue holds failure records (`errorCode`, `failedMessages[{eventId,
//! eventGroupId, timestamp}]`), not events; the events are still on the bus (its retention), so
//! the redrive reads them back from there: a subscriber of its own per batch of groups, a copy
//! of the consumer's (the same target, role, transformer, order and dead-letter queue) that
//! starts at the earliest failed event, stops after the latest, and takes exactly the failed
//! events (a `SYSTEM_METADATA` filter on `aws:EventId`). The bus delivers them again with their
//! ids, each group in order, to that target alone. A record is deleted once every event in it
//! was delivered; one whose events failed again stays (with the redrive subscriber's new
//! records), so running again resumes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_eventbridgev2::types::{
    Filter, FilterConfiguration, FilterScope, PointInTimeConfiguration, PointType,
    StartingPosition, SubscriberState,
};
use serde::Serialize;
use serde_json::Value;

use crate::{LocalError, aws_error};

/// One failure record in a subscriber's dead-letter queue.
#[derive(Debug, Clone)]
pub struct FailureRecord {
    /// The message's receipt handle.
    pub receipt: String,
    /// The subscriber that recorded it.
    pub subscriber_arn: String,
    /// Why delivery failed (`errorCode: errorMessage`).
    pub error: String,
    /// The events it failed to deliver.
    pub events: Vec<FailedEvent>,
}

/// A failed event of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedEvent {
    /// The bus's event id.
    pub event_id: String,
    /// Its group.
    pub event_group_id: Option<String>,
    /// When the bus took it in, epoch seconds.
    pub ingested_at: i64,
}

impl FailureRecord {
    /// A dead-letter message's record; `None` when it is not one.
    pub fn parse(receipt: &str, body: &str) -> Option<FailureRecord> {
        let record: Value = serde_json::from_str(body).ok()?;
        let events = record["failedMessages"]
            .as_array()?
            .iter()
            .map(|m| {
                let ingested = m["timestamp"].as_str()?;
                let at = aws_sdk_eventbridgev2::primitives::DateTime::from_str(
                    ingested,
                    aws_sdk_eventbridgev2::primitives::DateTimeFormat::DateTime,
                )
                .ok()?;
                Some(FailedEvent {
                    event_id: m["eventId"].as_str()?.to_owned(),
                    event_group_id: m["eventGroupId"].as_str().map(str::to_owned),
                    ingested_at: at.secs(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(FailureRecord {
            receipt: receipt.to_owned(),
            subscriber_arn: record["subscriberArn"].as_str()?.to_owned(),
            error: format!(
                "{}: {}",
                record["errorCode"].as_str().unwrap_or("?"),
                record["errorMessage"].as_str().unwrap_or("?")
            ),
            events,
        })
    }

    /// The name of the subscriber that recorded it (`.../subscriber/NAME/ID`).
    pub fn subscriber_name(&self) -> &str {
        self.subscriber_arn
            .split("subscriber/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
    }
}

/// What a redrive did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Failure records read.
    pub records: usize,
    /// Distinct events in them.
    pub events: usize,
    /// Events delivered again.
    pub delivered: usize,
    /// Records deleted (every event in them delivered).
    pub deleted: usize,
    /// Records kept (an event in them failed again, or the dry run).
    pub kept: usize,
    /// The subscribers the redrive created (and deleted), one per batch.
    pub subscribers: Vec<String>,
    /// Nothing was created or deleted.
    pub dry_run: bool,
}

/// What a redrive reads and writes.
pub struct SubscriberRedrive<'a> {
    /// SQS (the dead-letter queue).
    pub sqs: &'a aws_sdk_sqs::Client,
    /// The Custom Event Bus's API.
    pub bus: &'a aws_sdk_eventbridgev2::Client,
    /// The subscriber's name (its consumer's rule name).
    pub subscriber: &'a str,
    /// Its ARN, when no record names it.
    pub subscriber_arn: Option<&'a str>,
    /// Its dead-letter queue's URL.
    pub dead_letters: &'a str,
    /// Show what would be redriven; create and delete nothing.
    pub dry_run: bool,
    /// How long one batch may take to be delivered.
    pub wait: Duration,
}

/// The longest `aws:EventId` list one filter carries (a subscriber's filters take 4,096 bytes
/// in all, the consumer's own pattern among them).
const IDS_BYTES: usize = 2_500;

/// How long the records read stay hidden from another reader.
const HIDDEN: i32 = 900;

impl SubscriberRedrive<'_> {
    /// Runs it.
    pub async fn run(&self) -> Result<Summary, LocalError> {
        // The subscriber's records, and those an earlier redrive's subscribers wrote.
        let earlier = format!("{}-redrive-", self.subscriber);
        let (ours, others) = self
            .read(|record| {
                let name = record.subscriber_name();
                name == self.subscriber || name.starts_with(&earlier)
            })
            .await?;
        // Records of other subscribers go back at once.
        for record in &others {
            self.release(record).await?;
        }
        let mut summary = Summary {
            records: ours.len(),
            dry_run: self.dry_run,
            ..Summary::default()
        };
        // Each event once, each group's events in the order the bus took them in.
        let mut events: BTreeMap<&str, &FailedEvent> = BTreeMap::new();
        for record in &ours {
            for event in &record.events {
                events.insert(&event.event_id, event);
            }
        }
        summary.events = events.len();
        if ours.is_empty() {
            eprintln!(
                "redrive: no failure records of subscriber {} in its dead-letter queue",
                self.subscriber
            );
            return Ok(summary);
        }
        if self.dry_run {
            for record in &ours {
                eprintln!(
                    "redrive: would deliver again {} event(s) ({})",
                    record.events.len(),
                    record.error
                );
                for event in &record.events {
                    println!("{}", serde_json::to_string(event).unwrap_or_default());
                }
                self.release(record).await?;
            }
            summary.kept = ours.len();
            return Ok(summary);
        }
        let named = ours
            .iter()
            .find(|r| r.subscriber_name() == self.subscriber)
            .map(|r| r.subscriber_arn.clone());
        let Some(arn) = self.subscriber_arn.map(str::to_owned).or(named) else {
            for record in &ours {
                self.release(record).await?;
            }
            return Err(LocalError::Aws {
                operation: "redrive",
                message: format!(
                    "no record names subscriber {}'s ARN (only earlier redrives'): pass --subscriber-arn",
                    self.subscriber
                ),
            });
        };
        let original = self
            .bus
            .describe_subscriber()
            .subscriber_arn(&arn)
            .send()
            .await
            .map_err(aws_error("DescribeSubscriber"))?;
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let prefix = format!("{}-redrive-{started}", self.subscriber);
        for (n, batch) in batches(events.values().copied()).into_iter().enumerate() {
            let name = format!("{prefix}-{}", n + 1);
            eprintln!(
                "redrive: {name}: {} event(s) of {} group(s) from the bus's retention",
                batch.len(),
                batch
                    .iter()
                    .map(|e| &e.event_group_id)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
            );
            self.replay(&original, &name, &batch).await?;
            summary.subscribers.push(name);
        }
        // What failed again is recorded anew, by the redrive's subscribers.
        let (again, others) = self
            .read(|record| record.subscriber_name().starts_with(&prefix))
            .await?;
        for record in others.iter().chain(&again) {
            self.release(record).await?;
        }
        let failed: std::collections::BTreeSet<&str> = again
            .iter()
            .flat_map(|r| r.events.iter().map(|e| e.event_id.as_str()))
            .collect();
        summary.delivered = events.keys().filter(|id| !failed.contains(*id)).count();
        for record in &ours {
            if record
                .events
                .iter()
                .any(|e| failed.contains(e.event_id.as_str()))
            {
                self.release(record).await?;
                summary.kept += 1;
            } else {
                self.sqs
                    .delete_message()
                    .queue_url(self.dead_letters)
                    .receipt_handle(&record.receipt)
                    .send()
                    .await
                    .map_err(aws_error("DeleteMessage"))?;
                summary.deleted += 1;
            }
        }
        Ok(summary)
    }

    /// Reads every failure record of the queue: those `wanted` (hidden while the redrive runs)
    /// and the rest.
    async fn read(
        &self,
        wanted: impl Fn(&FailureRecord) -> bool,
    ) -> Result<(Vec<FailureRecord>, Vec<FailureRecord>), LocalError> {
        let (mut ours, mut others) = (Vec::new(), Vec::new());
        let mut empty = 0;
        while empty < 3 {
            let output = self
                .sqs
                .receive_message()
                .queue_url(self.dead_letters)
                .max_number_of_messages(10)
                .visibility_timeout(HIDDEN)
                .send()
                .await
                .map_err(aws_error("ReceiveMessage"))?;
            if output.messages().is_empty() {
                empty += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            for message in output.messages() {
                let receipt = message.receipt_handle().unwrap_or_default();
                match FailureRecord::parse(receipt, message.body().unwrap_or_default()) {
                    Some(record) if wanted(&record) => ours.push(record),
                    Some(record) => others.push(record),
                    None => {
                        eprintln!(
                            "redrive: a message that is not a failure record stays: {}",
                            message.body().unwrap_or_default()
                        );
                    }
                }
            }
        }
        Ok((ours, others))
    }

    /// Makes a record visible again at once.
    async fn release(&self, record: &FailureRecord) -> Result<(), LocalError> {
        self.sqs
            .change_message_visibility()
            .queue_url(self.dead_letters)
            .receipt_handle(&record.receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(aws_error("ChangeMessageVisibility"))?;
        Ok(())
    }

    /// One batch: a subscriber like the consumer's that reads exactly these events back from
    /// the bus, waited for until it stops, then deleted.
    async fn replay(
        &self,
        original: &aws_sdk_eventbridgev2::operation::describe_subscriber::DescribeSubscriberOutput,
        name: &str,
        batch: &[&FailedEvent],
    ) -> Result<(), LocalError> {
        let invalid = |what: &str| LocalError::Aws {
            operation: "CreateSubscriber",
            message: what.to_owned(),
        };
        let selection = selection(batch);
        let mut filters: Vec<Filter> = original
            .filter_configuration()
            .map(|f| f.filters().to_vec())
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f.scope() != &FilterScope::SystemMetadata)
            .collect();
        filters.push(
            Filter::builder()
                .scope(FilterScope::SystemMetadata)
                .pattern(selection.to_string())
                .build()
                .map_err(|e| invalid(&e.to_string()))?,
        );
        let first = batch
            .iter()
            .map(|e| e.ingested_at)
            .min()
            .unwrap_or_default();
        let last = batch
            .iter()
            .map(|e| e.ingested_at)
            .max()
            .unwrap_or_default();
        let point = PointInTimeConfiguration::builder()
            .point_type(PointType::Timestamp)
            .starting_point(aws_sdk_eventbridgev2::primitives::DateTime::from_secs(
                first - 1,
            ))
            .end_point(aws_sdk_eventbridgev2::primitives::DateTime::from_secs(
                last + 1,
            ))
            .build()
            .map_err(|e| invalid(&e.to_string()))?;
        let created = self
            .bus
            .create_subscriber()
            .name(name)
            .description(format!(
                "outbox: redrives {} failed event(s) of subscriber {}",
                batch.len(),
                self.subscriber
            ))
            .set_event_bus_arn(original.event_bus_arn().map(str::to_owned))
            .set_invoke_configuration(original.invoke_configuration().cloned())
            .set_transformer(original.transformer().cloned())
            .set_type(original.r#type().cloned())
            .set_retry_policy(original.retry_policy().cloned())
            .set_on_failure_configuration(original.on_failure_configuration().cloned())
            .filter_configuration(
                FilterConfiguration::builder()
                    .set_filters(Some(filters))
                    .build(),
            )
            .starting_position(StartingPosition::PointInTime)
            .point_in_time_configuration(point)
            .send()
            .await
            .map_err(aws_error("CreateSubscriber"))?;
        let arn = created.subscriber_arn().unwrap_or_default().to_owned();
        let deadline = Instant::now() + self.wait;
        let outcome = loop {
            let described = self
                .bus
                .describe_subscriber()
                .subscriber_arn(&arn)
                .send()
                .await
                .map_err(aws_error("DescribeSubscriber"))?;
            if described.state() == Some(&SubscriberState::Stopped) {
                break Ok(());
            }
            if Instant::now() > deadline {
                break Err(LocalError::Aws {
                    operation: "redrive",
                    message: format!(
                        "{name} did not stop within {} s: its records stay; run again",
                        self.wait.as_secs()
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        self.bus
            .delete_subscriber()
            .subscriber_arn(&arn)
            .send()
            .await
            .map_err(aws_error("DeleteSubscriber"))?;
        outcome
    }
}

/// The `SYSTEM_METADATA` pattern that takes exactly a batch's events back: their ids; or, for
/// one group with more failed events than an id list may hold, the group itself over the
/// failures' time range (its events delivered in between come again, and consumers drop them
/// by their id, as after any retry).
fn selection(batch: &[&FailedEvent]) -> serde_json::Value {
    let ids: Vec<&str> = batch.iter().map(|e| e.event_id.as_str()).collect();
    let bytes: usize = ids.iter().map(|id| id.len() + 3).sum();
    match batch.first().and_then(|e| e.event_group_id.as_deref()) {
        Some(group)
            if bytes > IDS_BYTES
                && batch
                    .iter()
                    .all(|e| e.event_group_id.as_deref() == Some(group)) =>
        {
            serde_json::json!({ "EventGroupId": [group] })
        }
        _ => serde_json::json!({ "aws:EventId": ids }),
    }
}

/// The events in batches whose id lists fit one filter, every group whole in one batch (so a
/// group's events are delivered by one subscriber, in order; a group too large for one list
/// is a batch of its own, taken back by its group id), each batch in ingestion order.
fn batches<'a>(events: impl Iterator<Item = &'a FailedEvent>) -> Vec<Vec<&'a FailedEvent>> {
    let mut groups: BTreeMap<Option<&str>, Vec<&FailedEvent>> = BTreeMap::new();
    for event in events {
        groups
            .entry(event.event_group_id.as_deref())
            .or_default()
            .push(event);
    }
    let mut batches: Vec<Vec<&FailedEvent>> = Vec::new();
    let mut bytes = 0;
    for (_, group) in groups {
        let size: usize = group.iter().map(|e| e.event_id.len() + 3).sum();
        if batches.is_empty() || bytes + size > IDS_BYTES {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        batches.last_mut().expect("a batch").extend(group);
    }
    for batch in &mut batches {
        batch.sort_by_key(|e| e.ingested_at);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::{FailedEvent, FailureRecord, batches};

    #[test]
    fn a_failure_record_reads_as_its_subscriber_and_events() {
        let body = r#"{"version":"1.0","busArn":"arn:aws:events:us-east-1:111122223333:event-busv2/orders/x","subscriberArn":"arn:aws:events:us-east-1:111122223333:subscriber/large-orders/EXAMPLEabcdef1234567890","errorCode":"ACCESS_DENIED","errorMessage":"no","failedMessages":[{"eventId":"a1","eventGroupId":"order-1001","deduplicationId":null,"timestamp":"2026-09-16T18:40:12Z"},{"eventId":"e5","eventGroupId":"order-1002","timestamp":"2026-09-16T18:40:13Z"}]}"#;
        let record = FailureRecord::parse("r", body).unwrap();
        assert_eq!(record.subscriber_name(), "large-orders");
        assert_eq!(record.error, "ACCESS_DENIED: no");
        assert_eq!(record.events.len(), 2);
        assert_eq!(
            record.events[1].event_group_id.as_deref(),
            Some("order-1002")
        );
        assert_eq!(
            record.events[0].ingested_at + 1,
            record.events[1].ingested_at
        );
        assert!(FailureRecord::parse("r", r#"{"detail": 1}"#).is_none());
    }

    #[test]
    fn a_group_too_large_for_an_id_list_is_taken_back_by_its_group_id() {
        let event = |i: usize, group: &str| FailedEvent {
            event_id: format!("a1b2c3d4-5678-90ab-cdef-{i:012}"),
            event_group_id: Some(group.into()),
            ingested_at: 1_000 + i as i64,
        };
        let big: Vec<FailedEvent> = (0..200).map(|i| event(i, "ORDER#1")).collect();
        let small: Vec<FailedEvent> = (0..3).map(|i| event(1_000 + i, "ORDER#2")).collect();
        let batches = batches(big.iter().chain(&small));
        assert_eq!(batches.len(), 2);
        assert_eq!(
            super::selection(&batches[0]),
            serde_json::json!({ "EventGroupId": ["ORDER#1"] })
        );
        let by_id = super::selection(&batches[1]);
        assert_eq!(by_id["aws:EventId"].as_array().unwrap().len(), 3);
        assert!(by_id.to_string().len() < 4_096);
    }

    #[test]
    fn batches_keep_each_group_whole_and_in_order() {
        let events: Vec<FailedEvent> = (0..400)
            .map(|i| FailedEvent {
                event_id: format!("event-{i:020}"),
                event_group_id: Some(format!("group-{}", i % 7)),
                ingested_at: 1_000 + (400 - i),
            })
            .collect();
        let batches = batches(events.iter());
        assert!(batches.len() > 1, "the ids do not fit one filter");
        let mut seen = std::collections::BTreeMap::new();
        for (n, batch) in batches.iter().enumerate() {
            for event in batch {
                assert_eq!(
                    *seen.entry(&event.event_group_id).or_insert(n),
                    n,
                    "a group is split"
                );
            }
            assert!(
                batch
                    .windows(2)
                    .all(|w| w[0].ingested_at <= w[1].ingested_at)
            );
        }
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 400);
    }
}
