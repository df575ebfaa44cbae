//! `consumers`: who receives which events, through which target and input.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::default_true;

/// A consumer of events: an EventBridge rule and its target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Consumer {
    /// The events it receives, by event name.
    pub events: Vec<String>,
    /// An EventBridge content pattern on the events' `detail`, for example
    /// `{ status: [SHIPPED] }`.
    pub pattern: Option<serde_json::Value>,
    /// Where matching events go.
    pub target: Target,
    /// What the target receives: the whole event (default), `detail`, `{ path: ... }`,
    /// `{ template: { field: path, ... } }` or (a Custom Event Bus) `metadata`.
    pub input: Option<Input>,
    /// How EventBridge retries delivery.
    #[serde(default)]
    pub retry: Retry,
    /// Give the target a dead-letter queue for events EventBridge cannot deliver (default
    /// `true`).
    #[serde(default = "default_true")]
    pub dead_letter_queue: bool,
    /// On a Custom Event Bus, where a new subscriber starts: `horizon` (the oldest event the
    /// bus keeps) or a time (RFC 3339); default: events published from now on. Replacing a
    /// subscriber is how a consumer re-processes a time range.
    pub start_at: Option<String>,
    /// Needs each aggregate's events in order (a Custom Event Bus only): a FIFO subscriber to
    /// an SQS FIFO queue (grouped by the event's group) or a Lambda function invoked
    /// synchronously.
    #[serde(default)]
    pub ordered: bool,
    /// Shown in the generated documentation.
    pub description: Option<String>,
}

/// The target of a consumer's rule. Where a target takes a name or an ARN, a name means the
/// stack creates it (SNS topic, Kinesis stream, log group) or finds it in the stack's account
/// and region (function, state machine, delivery stream); an ARN means it exists.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub enum Target {
    /// An existing Lambda function.
    Lambda(LambdaTarget),
    /// An SQS queue the stack creates.
    Sqs(SqsTarget),
    /// An SNS topic: created by name, or existing by ARN.
    Sns(SnsTarget),
    /// An existing Step Functions state machine (a Standard one: EventBridge starts an
    /// execution per event).
    StepFunctions(StepFunctionsTarget),
    /// A Kinesis data stream: created by name (on-demand, encrypted), or existing by ARN.
    Kinesis(KinesisTarget),
    /// An Amazon Data Firehose delivery stream: created by name (writing to an existing S3
    /// bucket), or existing by name or ARN.
    Firehose(FirehoseTarget),
    /// An HTTP endpoint (an API destination and its connection, created), or an existing API
    /// destination by ARN.
    ApiDestination(ApiDestinationTarget),
    /// A CloudWatch Logs log group (a debug tap): created by name (`/aws/events/...`), or
    /// existing by ARN.
    Logs(LogsTarget),
    /// An event bus, typically in another account, by ARN (that account's bus policy must let
    /// this stack's delivery role put events: see the generated README).
    EventBus(EventBusTarget),
}

/// An SNS topic target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SnsTarget {
    /// The topic's name (created) or ARN (existing).
    pub topic: String,
}

/// A Step Functions target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StepFunctionsTarget {
    /// The state machine's name (in the stack's account and region) or ARN.
    pub state_machine: String,
}

/// A Kinesis data stream target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KinesisTarget {
    /// The stream's name (created) or ARN (existing).
    pub stream: String,
    /// The record's partition key: a path into the event, for example `$.detail.orderId`
    /// (one shard keeps an aggregate's events together).
    pub partition_key: String,
}

/// A Firehose target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FirehoseTarget {
    /// The delivery stream's name or ARN. With `bucket`, the stack creates a stream of that
    /// name; without, it exists (in the stack's account and region, by name).
    pub delivery_stream: String,
    /// The S3 bucket (ARN, `arn:aws:s3:::NAME`) a created stream writes to, gzipped.
    pub bucket: Option<String>,
    /// The key prefix of the objects it writes (default `events/`).
    pub prefix: Option<String>,
}

/// An API destination target: an HTTP endpoint the stack creates a connection and a
/// destination for, or an existing destination.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApiDestinationTarget {
    /// An existing API destination's ARN (then nothing else is given).
    pub arn: Option<String>,
    /// The HTTPS endpoint the events are sent to.
    pub endpoint: Option<String>,
    /// The HTTP method (default POST).
    #[serde(default = "default_method")]
    pub method: String,
    /// Invocations per second at most (1-300, default 300).
    #[serde(default = "default_rate_limit")]
    pub rate_limit: u32,
    /// How the connection authenticates; the secret is read from Secrets Manager at deploy
    /// time, never written into the template.
    pub auth: Option<ApiAuth>,
}

fn default_method() -> String {
    "POST".into()
}

fn default_rate_limit() -> u32 {
    300
}

/// How an API destination's connection authenticates.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub enum ApiAuth {
    /// An API key in a header; the secret's whole value is the key.
    ApiKey {
        /// The header, for example `x-api-key`.
        header: String,
        /// The secret's ARN.
        secret: String,
    },
    /// HTTP basic authentication; the secret is JSON with `username` and `password`.
    Basic {
        /// The secret's ARN.
        secret: String,
    },
}

/// A CloudWatch Logs target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LogsTarget {
    /// The log group's name (created; it must start with `/aws/events/`) or ARN (existing).
    pub log_group: String,
    /// Days a created log group keeps events (default 7: a debug tap, not an archive).
    #[serde(default = "default_tap_retention")]
    pub retention_days: u32,
}

fn default_tap_retention() -> u32 {
    7
}

/// An event bus target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EventBusTarget {
    /// The bus's ARN.
    pub arn: String,
}

/// What a consumer receives instead of the whole event.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub enum Input {
    /// The detail only.
    Detail,
    /// One value of the event, by path, for example `$.detail.order`.
    Path(String),
    /// A JSON object: each field a path into the event (`$.detail.orderId`, `$.time`) or a
    /// constant string.
    Template(BTreeMap<String, String>),
    /// The event with its metadata, `{ Data, Metadata, SystemMetadata }` (a Custom Event Bus
    /// only): the bus's event id, the event's group and deduplication id, its ingestion time
    /// and whether it is a replay.
    Metadata,
}

/// A Lambda function target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LambdaTarget {
    /// The function's name or ARN.
    pub function: String,
}

/// An SQS queue target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SqsTarget {
    /// The queue name (a `.fifo` suffix makes a FIFO queue).
    pub queue: String,
}

/// EventBridge's retry policy for a target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Retry {
    /// Retries before giving up (0-185, default 185).
    #[serde(default = "default_attempts")]
    pub maximum_attempts: u32,
    /// Seconds an event may wait for delivery (60-86400, default 86400).
    #[serde(default = "default_event_age")]
    pub maximum_event_age: u32,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            maximum_attempts: default_attempts(),
            maximum_event_age: default_event_age(),
        }
    }
}

fn default_attempts() -> u32 {
    185
}

fn default_event_age() -> u32 {
    86_400
}
