//! The handler publishing to the new Custom Event Bus (`eventbridgev2`, Smithy RPC v2 CBOR)
//! through the relay's client, against the fake's v2 endpoint (which decodes with `ciborium`,
//! not the relay's `minicbor`): entries carry their group and deduplication id, each group's
//! events are published in stream order through throttling and 5xx, up to 100 entries go in a
//! request, a redelivered batch is absorbed as `DEDUPLICATED`, and requests are signed as
//! EventBridge checks them.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_eventbridge::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
};
use outbox_local_bus::{Faults, LocalEventBridge};
use outbox_runtime::handler::{self, Options};
use outbox_runtime::publish::{EventBridgePublisher, RetryPolicy};

const BUS: &str =
    "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy";

fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "test",
        )))
        .build()
}

fn options(bus: &str) -> Options {
    let mut options = Options::new(bus);
    options.custom_bus();
    options.retry = RetryPolicy {
        max_attempts: 30,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        deadline_margin: Duration::from_millis(100),
    };
    options
}

async fn handle(fake: &LocalEventBridge, event: &str, options: &Options) -> handler::Outcome {
    let publisher = EventBridgePublisher::from_sdk_config(
        &sdk_config(&fake.endpoint()),
        Duration::from_secs(5),
    )
    .await;
    handler::handle(&support::TestMapper, &publisher, event, options, None, None)
        .await
        .unwrap()
}

/// Each group's `n` values in the order the fake accepted them.
fn accepted_per_group(fake: &LocalEventBridge) -> BTreeMap<String, Vec<u64>> {
    let mut per_group: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for entry in fake.log().accepted {
        let detail: serde_json::Value = serde_json::from_str(&entry.detail).unwrap();
        let group = entry.event_group_id.clone().expect("a group");
        assert_eq!(group, detail["id"], "the group is the item's partition key");
        assert_eq!(
            entry.deduplication_id.as_deref(),
            entry.resources[0].strip_prefix("urn:outbox:event:"),
            "deduplicated by the event id"
        );
        assert_eq!(entry.event_bus_name.as_deref(), Some(BUS));
        assert!(entry.trace_header.is_none());
        per_group
            .entry(group)
            .or_default()
            .push(detail["n"].as_u64().unwrap());
    }
    per_group
}

fn expected_per_group(count: usize, items: usize) -> BTreeMap<String, Vec<u64>> {
    let mut expected: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for i in (0..count).filter(|i| i % 7 != 6) {
        expected
            .entry(format!("ITEM#{}", i % items))
            .or_default()
            .push(i as u64);
    }
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_group_in_order_once_through_throttling_and_5xx() {
    let fake = LocalEventBridge::start(Faults {
        throttle_entries: 0.2,
        fail_requests: 0.1,
        slow_requests: 1.0,
        slow_jitter: Duration::from_millis(3),
        seed: 11,
        signed_by: Some(("test".to_owned(), "test".to_owned())),
        ..Faults::default()
    })
    .await
    .unwrap();
    let (count, items) = (1_000, 23);
    let event = support::batch(count, items);
    let outcome = handle(&fake, &event, &options(BUS)).await;
    assert!(
        outcome.response.batch_item_failures.is_empty(),
        "{:?}",
        outcome.failure
    );
    let log = fake.log();
    assert!(log.bad_signatures.is_empty(), "{:?}", log.bad_signatures);
    assert!(outcome.stats.retried > 0, "faults were injected");
    assert_eq!(outcome.stats.throttled, log.throttled_entries);
    assert!(
        log.largest_request_entries > 10 && log.largest_request_entries <= 100,
        "up to 100 entries per request: {}",
        log.largest_request_entries
    );
    assert_eq!(accepted_per_group(&fake), expected_per_group(count, items));
    // An entry sent again after a 5xx answer whose publish went through is absorbed.
    assert_eq!(
        outcome.stats.published,
        log.accepted.len() + log.deduplicated
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_batch_reaches_nobody_twice() {
    let fake = LocalEventBridge::start(Faults::default()).await.unwrap();
    let event = support::batch(300, 17);
    let first = handle(&fake, &event, &options(BUS)).await;
    let accepted = fake.log().accepted.len();
    assert_eq!(first.stats.published, accepted);
    // Lambda delivers the batch again (say, the invocation timed out after publishing).
    let again = handle(&fake, &event, &options(BUS)).await;
    assert!(again.response.batch_item_failures.is_empty());
    assert_eq!(
        again.stats.published, accepted,
        "DEDUPLICATED counts as done"
    );
    let log = fake.log();
    assert_eq!(log.accepted.len(), accepted, "nothing published twice");
    assert_eq!(log.deduplicated, accepted);
}

#[tokio::test]
async fn without_the_bus_arn_every_record_fails_saying_so() {
    let fake = LocalEventBridge::start(Faults::default()).await.unwrap();
    let event = support::batch(5, 2);
    let outcome = handle(&fake, &event, &options("orders")).await;
    let failure = outcome.failure.expect("the first record fails");
    assert!(
        failure.reason.contains("EVENT_BUS_ARN"),
        "{}",
        failure.reason
    );
    assert_eq!(
        fake.log().requests,
        0,
        "nothing is sent to a bus named by name"
    );
}

#[tokio::test]
async fn a_malformed_bus_arn_is_refused_by_the_service_not_retried() {
    let fake = LocalEventBridge::start(Faults::default()).await.unwrap();
    let event = support::batch(3, 1);
    let bad = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/TOO-SHORT";
    let outcome = handle(&fake, &event, &options(bad)).await;
    let failure = outcome.failure.expect("refused");
    assert!(
        failure.reason.contains("InvalidInputException"),
        "{}",
        failure.reason
    );
    assert_eq!(fake.log().requests, 1);
}
