//! The local stand-ins for what AWS runs around the relay (feature `local`): the stream poller
//! behind `relay poll` (Lambda's event source mapping) and the local stack behind `relay dev`
//! (tables, bus, rules and queues on a local endpoint such as moto).

pub mod checkpoint;
pub(crate) mod cli;
pub mod dev;
pub mod event;
pub mod poll;

use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata;
use serde::Deserialize;

use checkpoint::CheckpointError;

/// What the generator rendered into the relay about its stack (`Defaults::local_stack`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalStack {
    /// The bus name (or ARN of an existing bus).
    pub bus: String,
    /// The tables the relay reads.
    pub tables: Vec<LocalTable>,
    /// The event source mapping's settings.
    pub streams: StreamSettings,
    /// The local name of the relay's on-failure destination queue.
    pub failure_queue: String,
    /// The consumers, each with a queue.
    pub consumers: Vec<LocalConsumer>,
}

impl LocalStack {
    /// Parses the generated description.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The bus name (the last part of an ARN).
    pub fn bus_name(&self) -> &str {
        self.bus.rsplit('/').next().unwrap_or(&self.bus)
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&LocalTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// A table.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalTable {
    /// Its name.
    pub name: String,
    /// Partition key.
    pub partition_key: Key,
    /// Sort key.
    pub sort_key: Option<Key>,
    /// `StreamViewType`.
    pub stream: String,
    /// The event source mapping's `FilterCriteria` patterns (none: no filtering).
    #[serde(default)]
    pub filters: Vec<serde_json::Value>,
}

/// A key attribute.
#[derive(Debug, Clone, Deserialize)]
pub struct Key {
    /// Attribute name.
    pub name: String,
    /// `S`, `N` or `B`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The event source mapping's settings, as deployed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamSettings {
    /// `TRIM_HORIZON` or `LATEST`.
    pub starting_position: String,
    /// Records per invocation.
    pub batch_size: usize,
    /// Seconds to gather a batch.
    pub batching_window: u64,
    /// Retries of a failed batch before it goes to the failure destination.
    pub maximum_retry_attempts: u32,
    /// Oldest record (seconds) still retried.
    pub maximum_record_age: u64,
}

/// A consumer: its rule and the queue that receives (or stands in for) its target.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalConsumer {
    /// Consumer name.
    pub name: String,
    /// The rule's name.
    pub rule_name: String,
    /// The rule's event pattern.
    pub pattern: serde_json::Value,
    /// The queue (its own SQS queue, or the local stand-in for a Lambda function).
    pub queue: String,
    /// What the queue stands in for (`lambda NAME`), if it is not the consumer's own queue.
    pub stands_in_for: Option<String>,
}

/// The SDK configuration: the standard environment, or `endpoint` for every service (then a
/// region and test credentials are filled in when the environment has none, as local servers
/// accept any). The SDK's standard retries stay on for the stream and queue calls; the
/// relay's publisher turns them off and retries entry by entry.
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            loader = loader.region(aws_config::Region::new("us-east-1"));
        }
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "outbox-local",
            ));
        }
    }
    loader.load().await
}

/// The local stack or the poller cannot go on (nothing after the poller's last checkpoint is
/// lost; a restart resumes).
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The table has no stream.
    #[error(
        "table {0} has no stream; enable one (StreamSpecification) or run `relay dev --provision-only`"
    )]
    NoStream(String),
    /// A DynamoDB Streams or SQS call failed.
    #[error("{operation}: {message}")]
    Aws {
        /// The API call.
        operation: &'static str,
        /// What the service said.
        message: String,
    },
    /// The checkpoint file.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

pub(crate) fn aws_error<E: ProvideErrorMetadata + std::fmt::Display>(
    operation: &'static str,
) -> impl Fn(E) -> LocalError {
    move |e| LocalError::Aws {
        operation,
        message: match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => e.to_string(),
        },
    }
}
