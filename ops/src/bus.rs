//! The new Custom Event Bus on this machine: moto has none, so `relay dev` (and the tests) run
//! the fake's in process, with a subscriber per consumer that delivers what its filter matches
//! to the consumer's queue one event at a time (FIFO queues with the event's group as the
//! message group, the bus's event id as the deduplication id), which keeps each group in order.

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use outbox_local_bus::v2::{Delivery, Subscription};
use outbox_local_bus::{Faults, LocalEventBridge};

use crate::{Consumer, LocalError, aws_error};

/// The id part of the ARN the local bus answers to (AWS generates 25 characters).
const LOCAL_BUS_ID: &str = "localbus00000000000000000";

/// The ARN of the local Custom Event Bus named `name`.
pub fn local_bus_arn(name: &str) -> String {
    format!("arn:aws:events:us-east-1:123456789012:event-busv2/{name}/{LOCAL_BUS_ID}")
}

/// A running local bus and its subscribers' delivery tasks.
pub struct LocalBus {
    /// The bus (stops when dropped).
    pub fake: LocalEventBridge,
    /// One per subscriber: delivers until the bus stops.
    pub deliveries: Vec<BoxFuture<'static, Result<(), LocalError>>>,
}

/// Starts the bus with `faults` and subscribes each consumer to its queue (`queues`: consumer
/// name -> queue URL).
pub async fn start(
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
        let (deliver, mut received) = tokio::sync::mpsc::unbounded_channel::<Delivery>();
        fake.subscribe(Subscription {
            name: consumer.rule_name.clone(),
            pattern,
            deliver,
        });
        let (sqs, url, fifo) = (sqs.clone(), url.clone(), consumer.queue.ends_with(".fifo"));
        let name = consumer.name.clone();
        deliveries.push(
            async move {
                while let Some(delivery) = received.recv().await {
                    let mut send = sqs
                        .send_message()
                        .queue_url(&url)
                        .message_body(delivery.body);
                    if fifo {
                        send = send
                            .message_group_id(delivery.group.unwrap_or_else(|| name.clone()))
                            .message_deduplication_id(delivery.event_id);
                    }
                    send.send().await.map_err(aws_error("SendMessage"))?;
                }
                Ok(())
            }
            .boxed(),
        );
    }
    Ok(LocalBus { fake, deliveries })
}
