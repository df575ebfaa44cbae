//! The new Custom Event Bus on this machine: moto has none, so `relay dev` (and the tests) run
//! the fake's in process, with a subscriber per consumer that delivers what its filter matches
//! to the consumer's queue one event at a time (FIFO queues with the event's group as the
//! message group, the bus's event id as the deduplication id), which keeps each group in order.
//! As at AWS, a delivery that keeps failing is retried, then recorded in the subscriber's
//! dead-letter queue as a failure record (the failed events' ids and groups, not the events),
//! which `relay redrive --subscriber` reads.

use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use outbox_local_bus::v2::{Delivery, Subscription};
use outbox_local_bus::{Faults, LocalEventBridge};
use serde_json::json;

use crate::{Consumer, LocalError, aws_error};

/// The id part of the ARN the local bus answers to (AWS generates 25 characters).
const LOCAL_BUS_ID: &str = "localbus00000000000000000";

/// Attempts at delivering one event before it is recorded as failed (AWS's default retry
/// policy makes 5 over 300 s; here they come 50 ms apart).
const ATTEMPTS: u32 = 4;

/// The ARN of the local Custom Event Bus named `name`.
pub fn local_bus_arn(name: &str) -> String {
    format!("arn:aws:events:us-east-1:123456789012:event-busv2/{name}/{LOCAL_BUS_ID}")
}

/// The ARN of the local subscriber named `name`.
pub fn local_subscriber_arn(name: &str) -> String {
    format!("arn:aws:events:us-east-1:123456789012:subscriber/{name}/{LOCAL_BUS_ID}")
}

/// A running local bus and its subscribers' delivery tasks.
pub struct LocalBus {
    /// The bus (stops when dropped).
    pub fake: LocalEventBridge,
    /// One per subscriber: delivers until the bus stops.
    pub deliveries: Vec<BoxFuture<'static, Result<(), LocalError>>>,
}

/// A queue's ARN.
async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, LocalError> {
    let output = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws_error("GetQueueAttributes"))?;
    Ok(output
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default())
}

/// Starts the bus `bus_arn` with `faults` and subscribes each consumer to its queue (`queues`:
/// consumer name -> queue URL), recording what it cannot deliver in its dead-letter queue
/// when that queue exists.
pub async fn start(
    bus_arn: &str,
    consumers: &[Consumer],
    queues: &[(String, String)],
    sqs: &aws_sdk_sqs::Client,
    faults: Faults,
) -> Result<LocalBus, LocalError> {
    let fake = LocalEventBridge::start(faults)
        .await
        .map_err(|e| LocalError::Aws {
            operation: "start the local Custom Event Bus",
            message: e.to_string(),
        })?;
    let mut deliveries = Vec::new();
    for consumer in consumers {
        let Some((_, url)) = queues.iter().find(|(name, _)| *name == consumer.name) else {
            continue;
        };
        let pattern = outbox_pattern::Pattern::from_value(&consumer.pattern).map_err(|e| {
            LocalError::Aws {
                operation: "subscribe",
                message: format!("{}: {e}", consumer.name),
            }
        })?;
        let dead_letters = match &consumer.dead_letter_queue {
            Some(name) => match sqs.get_queue_url().queue_name(name).send().await {
                Ok(found) => {
                    let url = found.queue_url().unwrap_or_default().to_owned();
                    let arn = queue_arn(sqs, &url).await?;
                    Some((url, arn))
                }
                Err(_) => None,
            },
            None => None,
        };
        let target_arn = queue_arn(sqs, url).await?;
        let (deliver, mut received) = tokio::sync::mpsc::unbounded_channel::<Delivery>();
        fake.subscribe(Subscription {
            name: consumer.rule_name.clone(),
            arn: local_subscriber_arn(&consumer.rule_name),
            bus_arn: bus_arn.to_owned(),
            pattern,
            filter: consumer.pattern.clone(),
            target_arn: target_arn.clone(),
            dead_letter_arn: dead_letters.as_ref().map(|(_, arn)| arn.clone()),
            ordered: consumer.ordered,
            deliver,
        });
        let target = Target {
            sqs: sqs.clone(),
            url: url.clone(),
            arn: target_arn,
            fifo: consumer.queue.ends_with(".fifo"),
            name: consumer.name.clone(),
            bus_arn: bus_arn.to_owned(),
            dead_letters: dead_letters.map(|(url, _)| url),
        };
        deliveries.push(
            async move {
                while let Some(mut delivery) = received.recv().await {
                    let delivered = target.deliver(&delivery).await?;
                    if let Some(done) = delivery.done.take() {
                        let _ = done.send(delivered);
                    }
                }
                Ok(())
            }
            .boxed(),
        );
    }
    Ok(LocalBus { fake, deliveries })
}

/// A subscriber's target queue and dead-letter queue.
struct Target {
    sqs: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    fifo: bool,
    name: String,
    bus_arn: String,
    dead_letters: Option<String>,
}

impl Target {
    /// Sends one event, retrying; records it in the dead-letter queue when every attempt
    /// failed. Whether it was delivered; an error only when it could not be recorded either.
    async fn deliver(&self, delivery: &Delivery) -> Result<bool, LocalError> {
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let mut send = self
                .sqs
                .send_message()
                .queue_url(&self.url)
                .message_body(&delivery.body);
            if self.fifo {
                send = send
                    .message_group_id(delivery.group.clone().unwrap_or_else(|| self.name.clone()))
                    .message_deduplication_id(&delivery.event_id);
            }
            match send.send().await {
                Ok(_) => return Ok(true),
                Err(e) => last = aws_error("SendMessage")(e).to_string(),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let Some(dead_letters) = &self.dead_letters else {
            eprintln!(
                "subscriber of {}: event {} dropped after {ATTEMPTS} attempts ({last}); it has no dead-letter queue",
                self.name, delivery.event_id
            );
            return Ok(false);
        };
        // The record AWS writes (EventBridge user guide, "Retry policies and dead-letter
        // queues"): the failed events' ids and groups, not the events.
        let record = json!({
            "version": "1.0",
            "busArn": self.bus_arn,
            "subscriberArn": delivery.subscriber_arn,
            "targetArn": self.arn,
            "errorCode": "TARGET_UNAVAILABLE",
            "errorMessage": last,
            "exhaustedRetryCondition": "MaximumRetryAttempts",
            "retryAttempts": ATTEMPTS - 1,
            "failedMessages": [{
                "eventId": delivery.event_id,
                "eventGroupId": delivery.group,
                "deduplicationId": delivery.deduplication_id,
                "timestamp": delivery.ingested,
            }],
        });
        self.sqs
            .send_message()
            .queue_url(dead_letters)
            .message_body(record.to_string())
            .send()
            .await
            .map_err(aws_error("SendMessage (dead-letter record)"))?;
        Ok(false)
    }
}
