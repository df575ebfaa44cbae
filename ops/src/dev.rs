//! `relay dev`: the generated stack on a local endpoint (moto by default). Creates the tables
//! with their streams, the bus, each consumer's rule with a queue as its target (a Lambda
//! consumer is represented by a local queue), and the relay's on-failure destination queue;
//! then prints what arrives on those queues while the pollers run.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use aws_sdk_sqs::error::ProvideErrorMetadata as _;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crate::{Key, LocalError, LocalStack, Table, aws_error};

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
/// gets the whole event; the line shows the consumer's part).
pub async fn watch(
    sqs: &aws_sdk_sqs::Client,
    label: &str,
    url: &str,
    input: Option<&outbox_stack::input::Input>,
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
            println!(
                "{}",
                describe(label, message.body().unwrap_or_default(), input)
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

/// One line for a message: an event's detail-type, id and detail (or what the consumer's
/// `input` makes of the event), or a failed batch's reason.
pub fn describe(label: &str, body: &str, input: Option<&outbox_stack::input::Input>) -> String {
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
            format!("receives {}", input.apply(&event))
        }
        None => message
            .get("detail")
            .cloned()
            .unwrap_or_default()
            .to_string(),
    };
    format!(
        "[{label}] {} from {} ({id}): {shown}",
        text("detail-type"),
        text("source"),
    )
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn events_and_failed_batches_read_as_one_line_each() {
        let event = r#"{"detail-type":"UserCreated","source":"myapp.users","resources":["urn:outbox:event:abc"],"detail":{"userId":"1"}}"#;
        assert_eq!(
            describe("userCreatedConsumer", event, None),
            r#"[userCreatedConsumer] UserCreated from myapp.users (urn:outbox:event:abc): {"userId":"1"}"#
        );
        let template = outbox_stack::input::Input::Template(vec![
            ("user".into(), "$.detail.userId".into()),
            ("id".into(), "$.resources[0]".into()),
            ("kind".into(), "welcome".into()),
        ]);
        assert_eq!(
            describe("crm", event, Some(&template)),
            r#"[crm] UserCreated from myapp.users (urn:outbox:event:abc): receives {"user":"1","id":"urn:outbox:event:abc","kind":"welcome"}"#
        );
        let failed = r#"{"requestContext":{"condition":"RetryAttemptsExhausted"},"DDBStreamBatchInfo":{"batchSize":1,"startSequenceNumber":"7"},"outbox":{"reason":"map: email is missing"}}"#;
        assert_eq!(
            describe("on-failure destination", failed, None),
            "[on-failure destination] 1 record(s) from sequence number 7 (RetryAttemptsExhausted): map: email is missing"
        );
        assert_eq!(describe("q", "plain", None), "[q] plain");
    }
}
