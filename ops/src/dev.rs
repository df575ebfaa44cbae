//! `relay dev`: the generated stack on a local endpoint (moto by default). Creates the tables
//! with their streams, the bus, each consumer's rule with a queue as its target (a Lambda
//! consumer is represented by a local queue), and the relay's on-failure destination queue;
//! then prints what arrives on those queues while the pollers run.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use aws_sdk_sqs::error::ProvideErrorMetadata as _;
use aws_sdk_sqs::types::QueueAttributeName;
use outbox_runtime::entry::Entry;
use outbox_runtime::publish::{EntryOutcome, Publisher, RequestError};
use serde_json::Value;

use crate::{Key, LocalError, LocalStack, Table, aws_error};

/// The relay's publisher in `dev`, remembering each entry's detail as it was published (by its
/// event id), so a consumer's line shows what the relay sent: moto's bus parses events with
/// Python's `json`, which keeps integers exact but turns a number with a fraction into a double.
pub struct Recording<P> {
    inner: P,
    published: Published,
}

/// Details as published, with their group and deduplication id (a Custom Event Bus), by event
/// id (`resources[0]`).
#[derive(Default)]
pub struct Published(Mutex<HashMap<String, Remembered>>);

/// What `dev` remembers of a published entry.
#[derive(Clone)]
struct Remembered {
    detail: String,
    system: Option<(String, String)>,
}

/// How many details `dev` remembers before it starts again (a session's worth).
const REMEMBERED: usize = 100_000;

impl Published {
    fn remember(&self, entries: &[&Entry]) {
        let mut published = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if published.len() > REMEMBERED {
            published.clear();
        }
        for entry in entries {
            if let Some(id) = entry.resources.first() {
                let system = entry
                    .system_metadata
                    .as_ref()
                    .map(|s| (s.event_group_id.clone(), s.deduplication_id.clone()));
                let detail = entry.detail.clone();
                published.insert(id.clone(), Remembered { detail, system });
            }
        }
    }

    fn get(&self, id: &str) -> Option<Remembered> {
        let published = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        published.get(id).cloned()
    }
}

impl<P> Recording<P> {
    /// Wraps the relay's publisher.
    pub fn new(inner: P) -> Self {
        Recording {
            inner,
            published: Published::default(),
        }
    }

    /// What was published so far.
    pub fn published(&self) -> &Published {
        &self.published
    }
}

impl<P: Publisher> Publisher for Recording<P> {
    async fn put_events(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, RequestError> {
        self.published.remember(entries);
        self.inner.put_events(entries).await
    }
}

/// The queues of a provisioned local stack.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// Each consumer's name and queue URL.
    pub consumer_queues: Vec<(String, String)>,
    /// The relay's on-failure destination.
    pub failure_queue_url: String,
}

/// Creates whatever of the stack does not exist yet (it can run again).
pub async fn provision(
    config: &aws_config::SdkConfig,
    stack: &LocalStack,
) -> Result<Provisioned, LocalError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    for table in &stack.tables {
        create_table(&dynamodb, table).await?;
    }
    let sqs = aws_sdk_sqs::Client::new(config);
    if stack.custom_bus {
        // moto has no Custom Event Bus: `relay dev` runs one in process; only the queues here.
        let mut consumer_queues = Vec::new();
        for consumer in &stack.consumers {
            let (url, _) = create_queue(&sqs, &consumer.queue).await?;
            consumer_queues.push((consumer.name.clone(), url));
            // Where its subscriber records what it cannot deliver.
            if let Some(dead_letters) = &consumer.dead_letter_queue {
                create_queue(&sqs, dead_letters).await?;
            }
        }
        let (failure_queue_url, _) = create_queue(&sqs, &stack.failure_queue).await?;
        return Ok(Provisioned {
            consumer_queues,
            failure_queue_url,
        });
    }
    let events = aws_sdk_eventbridge::Client::new(config);
    let bus = stack.bus_name();
    if bus != "default" {
        match events.create_event_bus().name(bus).send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => {}
            Err(e) => return Err(aws_error("CreateEventBus")(e)),
        }
    }
    if let Some(archive) = &stack.archive {
        let bus_arn = bus_arn(&events, bus).await?;
        let created = events
            .create_archive()
            .archive_name(&archive.name)
            .event_source_arn(bus_arn)
            .event_pattern(archive.pattern.to_string())
            .retention_days(archive.retention_days as i32)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => {}
            Err(e) => return Err(aws_error("CreateArchive")(e)),
        }
    }
    let mut consumer_queues = Vec::new();
    for consumer in &stack.consumers {
        let (url, arn) = create_queue(&sqs, &consumer.queue).await?;
        events
            .put_rule()
            .name(&consumer.rule_name)
            .event_bus_name(bus)
            .event_pattern(consumer.pattern.to_string())
            .description(format!("outbox dev: {}", consumer.name))
            .send()
            .await
            .map_err(aws_error("PutRule"))?;
        let mut target = aws_sdk_eventbridge::types::Target::builder()
            .id("queue")
            .arn(arn);
        if consumer.queue.ends_with(".fifo") {
            target = target.sqs_parameters(
                aws_sdk_eventbridge::types::SqsParameters::builder()
                    .message_group_id(&consumer.name)
                    .build(),
            );
        }
        let output = events
            .put_targets()
            .rule(&consumer.rule_name)
            .event_bus_name(bus)
            .targets(target.build().map_err(|e| LocalError::Aws {
                operation: "PutTargets",
                message: e.to_string(),
            })?)
            .send()
            .await
            .map_err(aws_error("PutTargets"))?;
        if output.failed_entry_count() > 0 {
            return Err(LocalError::Aws {
                operation: "PutTargets",
                message: format!("{:?}", output.failed_entries()),
            });
        }
        consumer_queues.push((consumer.name.clone(), url));
    }
    let (failure_queue_url, _) = create_queue(&sqs, &stack.failure_queue).await?;
    Ok(Provisioned {
        consumer_queues,
        failure_queue_url,
    })
}

/// A Classic bus's ARN, by name.
pub(crate) async fn bus_arn(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
) -> Result<String, LocalError> {
    Ok(events
        .describe_event_bus()
        .name(bus)
        .send()
        .await
        .map_err(aws_error("DescribeEventBus"))?
        .arn()
        .unwrap_or_default()
        .to_owned())
}

async fn create_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &Table,
) -> Result<(), LocalError> {
    let build = |e: aws_sdk_dynamodb::error::BuildError| LocalError::Aws {
        operation: "CreateTable",
        message: e.to_string(),
    };
    let mut request = dynamodb
        .create_table()
        .table_name(&table.name)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(table.stream.as_str()))
                .build()
                .map_err(build)?,
        );
    let keys = [(&table.partition_key, KeyType::Hash)]
        .into_iter()
        .chain(table.sort_key.as_ref().map(|k| (k, KeyType::Range)));
    for (Key { name, kind }, key_type) in keys {
        request = request
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(key_type)
                    .build()
                    .map_err(build)?,
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(kind.as_str()))
                    .build()
                    .map_err(build)?,
            );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceInUseException") => Ok(()),
        Err(e) => Err(aws_error("CreateTable")(e)),
    }
}

/// Creates a queue (FIFO for a `.fifo` name) and returns its URL and ARN.
async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<(String, String), LocalError> {
    let mut request = sqs.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        request = request
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "true");
    }
    let url = request
        .send()
        .await
        .map_err(aws_error("CreateQueue"))?
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws_error("GetQueueAttributes"))?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default();
    Ok((url, arn))
}

/// Prints every message that arrives on `url`, labelled, and deletes it; forever. `input` is
/// what the consumer's deployed target receives instead of the whole event (the local queue
/// gets the whole event; the line shows the consumer's part: on a Custom Event Bus
/// (`custom_bus`), what its JSONata transformer gives).
pub async fn watch(
    sqs: &aws_sdk_sqs::Client,
    label: &str,
    url: &str,
    input: Option<&outbox_stack::input::Input>,
    published: &Published,
    custom_bus: bool,
) -> Result<(), LocalError> {
    loop {
        let output = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(aws_error("ReceiveMessage"))?;
        for message in output.messages() {
            let body = message.body().unwrap_or_default();
            let remembered = event_id(body).and_then(|id| published.get(&id));
            let as_published = remembered.as_ref().map(|r| r.detail.as_str());
            let system = custom_bus.then(|| system_metadata(body, remembered.as_ref()));
            println!(
                "{}",
                describe(label, body, input, as_published, system.as_ref())
            );
            if let Some(handle) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(aws_error("DeleteMessage"))?;
            }
        }
        if output.messages().is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The system metadata the Custom Event Bus gave the event in `body` (its group and
/// deduplication id as the relay published them).
fn system_metadata(body: &str, remembered: Option<&Remembered>) -> serde_json::Map<String, Value> {
    let event: Value = serde_json::from_str(body).unwrap_or_default();
    let text = |key: &str| event[key].as_str().unwrap_or_default().to_owned();
    let system = remembered.and_then(|r| r.system.as_ref());
    outbox_stack::input::system_metadata(
        &text("id"),
        &text("source"),
        &text("detail-type"),
        system.map(|(group, _)| group.as_str()),
        system.map(|(_, id)| id.as_str()),
    )
}

/// An event's id (`resources[0]`).
fn event_id(body: &str) -> Option<String> {
    let event: Value = serde_json::from_str(body).ok()?;
    event["resources"][0].as_str().map(str::to_owned)
}

/// One line for a message: an event's detail-type, id and detail (or what the consumer's
/// `input` makes of the event), or a failed batch's reason.
///
/// The detail is shown as the relay published it (`published`, when known) or else as the
/// queue delivered it, never parsed into numbers and printed again: every digit stays.
/// Computing an `input` needs the event as JSON values, where a number of more than 15 digits
/// may be a double; such a line says so (the deployed target receives every digit).
/// On a Custom Event Bus (`system` its system metadata for the event), `input` is the
/// consumer's JSONata transformer, evaluated as the bus does.
pub fn describe(
    label: &str,
    body: &str,
    input: Option<&outbox_stack::input::Input>,
    published: Option<&str>,
    system: Option<&serde_json::Map<String, Value>>,
) -> String {
    let Ok(message) = serde_json::from_str::<HashMap<String, Value>>(body) else {
        return format!("[{label}] {body}");
    };
    if let Some(info) = message.get("DDBStreamBatchInfo") {
        let reason = message
            .get("outbox")
            .and_then(|o| o["reason"].as_str())
            .unwrap_or("see the relay's log");
        return format!(
            "[{label}] {} record(s) from sequence number {} ({}): {reason}",
            info["batchSize"],
            info["startSequenceNumber"].as_str().unwrap_or("?"),
            message
                .get("requestContext")
                .and_then(|c| c["condition"].as_str())
                .unwrap_or("failed"),
        );
    }
    let text = |key: &str| message.get(key).and_then(Value::as_str).unwrap_or("?");
    let id = message
        .get("resources")
        .and_then(|r| r[0].as_str())
        .unwrap_or("?");
    let shown = match input {
        Some(input) => {
            let event: Value = message
                .clone()
                .into_iter()
                .collect::<serde_json::Map<_, _>>()
                .into();
            let rounded = match (has_long_number(body), system) {
                (false, _) => "",
                (true, None) => {
                    " (numbers of more than 15 digits shown as doubles here; the target receives every digit)"
                }
                (true, Some(_)) => {
                    " (a JSONata transformer reads numbers as doubles: more than 15 digits lose the last ones)"
                }
            };
            let received = match system {
                None => Ok(input.apply(&event)),
                Some(system) => outbox_stack::input::receives(Some(input), &event, system),
            };
            match received {
                Ok(value) => format!("receives {value}{rounded}"),
                Err(why) => format!("receives nothing: its JSONata transformer fails: {why}"),
            }
        }
        None => published.map_or_else(
            || {
                serde_json::from_str::<Detail>(body)
                    .ok()
                    .and_then(|event| event.detail)
                    .map_or_else(|| "null".to_owned(), |detail| detail.get().to_owned())
            },
            str::to_owned,
        ),
    };
    format!(
        "[{label}] {} from {} ({id}): {shown}",
        text("detail-type"),
        text("source"),
    )
}

/// An event's detail as the text the queue delivered.
#[derive(serde::Deserialize)]
struct Detail<'a> {
    #[serde(borrow)]
    detail: Option<&'a serde_json::value::RawValue>,
}

/// Whether `json` holds a number a double may not carry exactly (more than 15 digits).
fn has_long_number(json: &str) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut digits = 0;
    for byte in json.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                digits = 0;
            }
            b'0'..=b'9' => {
                digits += 1;
                if digits > 15 {
                    return true;
                }
            }
            b'.' => {}
            _ => digits = 0,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn events_and_failed_batches_read_as_one_line_each() {
        let event = r#"{"detail-type":"UserCreated","source":"myapp.users","resources":["urn:outbox:event:abc"],"detail":{"userId":"1"}}"#;
        assert_eq!(
            describe("userCreatedConsumer", event, None, None, None),
            r#"[userCreatedConsumer] UserCreated from myapp.users (urn:outbox:event:abc): {"userId":"1"}"#
        );
        let template = outbox_stack::input::Input::Template(vec![
            ("user".into(), "$.detail.userId".into()),
            ("id".into(), "$.resources[0]".into()),
            ("kind".into(), "welcome".into()),
        ]);
        assert_eq!(
            describe("crm", event, Some(&template), None, None),
            r#"[crm] UserCreated from myapp.users (urn:outbox:event:abc): receives {"user":"1","id":"urn:outbox:event:abc","kind":"welcome"}"#
        );
        let failed = r#"{"requestContext":{"condition":"RetryAttemptsExhausted"},"DDBStreamBatchInfo":{"batchSize":1,"startSequenceNumber":"7"},"outbox":{"reason":"map: email is missing"}}"#;
        assert_eq!(
            describe("on-failure destination", failed, None, None, None),
            "[on-failure destination] 1 record(s) from sequence number 7 (RetryAttemptsExhausted): map: email is missing"
        );
        assert_eq!(describe("q", "plain", None, None, None), "[q] plain");
    }

    #[test]
    fn numbers_are_shown_as_delivered_or_said_to_be_rounded() {
        // moto's queue body: Python's spacing, integers of any size exact.
        let event = r#"{"detail-type": "OrderPlaced", "source": "shop", "resources": ["urn:1"], "detail": {"total": 98765432109876543210, "id": "1234567890123456789"}}"#;
        assert_eq!(
            describe("orders", event, None, None, None),
            r#"[orders] OrderPlaced from shop (urn:1): {"total": 98765432109876543210, "id": "1234567890123456789"}"#
        );
        // moto turned the published 12345678901234567890.5 into a double: the line shows what
        // the relay sent.
        let rounded = r#"{"detail-type": "OrderPlaced", "source": "shop", "resources": ["urn:1"], "detail": {"total": 1.2345678901234567e+19}}"#;
        assert_eq!(
            describe(
                "orders",
                rounded,
                None,
                Some(r#"{"total":12345678901234567890.5}"#),
                None
            ),
            r#"[orders] OrderPlaced from shop (urn:1): {"total":12345678901234567890.5}"#
        );
        let template =
            outbox_stack::input::Input::Template(vec![("total".into(), "$.detail.total".into())]);
        assert!(
            describe("orders", event, Some(&template), None, None)
                .ends_with("(numbers of more than 15 digits shown as doubles here; the target receives every digit)")
        );
        let short = r#"{"detail-type": "OrderPlaced", "source": "shop", "resources": ["urn:1"], "detail": {"total": 19.99, "id": "1234567890123456789"}}"#;
        assert!(!describe("orders", short, Some(&template), None, None).contains("doubles"));
    }

    #[test]
    fn on_a_custom_event_bus_a_line_shows_what_the_jsonata_transformer_gives() {
        let event = r#"{"version":"0","id":"bus-1","detail-type":"OrderStatusChanged","source":"myapp.orders","resources":["urn:outbox:event:7"],"detail":{"orderId":"7","status":"SHIPPED"}}"#;
        let system = outbox_stack::input::system_metadata(
            "bus-1",
            "myapp.orders",
            "OrderStatusChanged",
            Some("ORDER#7"),
            Some("7:OrderStatusChanged"),
        );
        let template = outbox_stack::input::Input::Template(vec![
            ("orderId".into(), "$.detail.orderId".into()),
            ("missing".into(), "$.detail.nothing".into()),
            ("kind".into(), "shipped".into()),
        ]);
        assert_eq!(
            describe("shipped", event, Some(&template), None, Some(&system)),
            r#"[shipped] OrderStatusChanged from myapp.orders (urn:outbox:event:7): receives {"kind":"shipped","missing":null,"orderId":"7"}"#
        );
        let line = describe(
            "lake",
            event,
            Some(&outbox_stack::input::Input::Metadata),
            None,
            Some(&system),
        );
        assert!(line.contains(r#""EventGroupId":"ORDER#7""#), "{line}");
        assert!(line.contains(r#""aws:EventId":"bus-1""#), "{line}");
        assert!(line.contains(r#""Data":{"#), "{line}");
        assert!(line.contains(r#""version":"0""#), "{line}");
    }
}
