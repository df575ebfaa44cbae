//! `relay`: the relay function's settings and its event source mappings'.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::vocabulary::DriftPolicy;

/// Settings of the relay function and its event source mappings.
#[derive(Debug, Clone, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RelaySettings {
    /// The Cargo package name of the generated relay crate (default `relay`). Give each relay
    /// its own when several are members of one Cargo workspace; its binary stays `relay`.
    #[serde(default = "default_package")]
    pub package: String,
    /// Records per invocation (1-10000, default 100).
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// Seconds to gather a batch (0-300, default 1).
    #[serde(default = "default_batching_window")]
    pub batching_window: u32,
    /// Concurrent batches per shard (1-10, default 1). Above 1, records of one item still go
    /// to the same batch in order.
    #[serde(default = "default_one")]
    pub parallelization_factor: u32,
    /// Where a new mapping starts reading (default `TRIM_HORIZON`: nothing is skipped).
    #[serde(default)]
    pub starting_position: StartingPosition,
    /// Retries of a failed batch before it goes to the failure queue (0-10000, default 10).
    #[serde(default = "default_retry_attempts")]
    pub maximum_retry_attempts: u32,
    /// Oldest record (seconds) still retried (60-604800, default 86400).
    #[serde(default = "default_record_age")]
    pub maximum_record_age: u32,
    /// Function memory in MB (128-10240, default 256).
    #[serde(default = "default_memory")]
    pub memory: u32,
    /// Function timeout in seconds (1-900, default 60).
    #[serde(default = "default_timeout")]
    pub timeout: u32,
    /// Reserved concurrency of the function (unset: none).
    pub reserved_concurrency: Option<u32>,
    /// Days the relay's logs are kept (a CloudWatch Logs retention value, default 30).
    #[serde(default = "default_log_retention")]
    pub log_retention: u32,
    /// What happens to a record that cannot be decoded, mapped or validated: `fail` (the
    /// default: bisect, retries, then the failure queue) or `dead-letter` (an
    /// `Outbox Poison Record` event on the bus, and the stream goes on).
    #[serde(default)]
    pub poison_policy: PoisonPolicy,
    /// What an event whose detail breaks its schema does (the item drifted from the declared
    /// entity): `dead-letter` (the default: an `Outbox Poison Record` with the keys and the
    /// reason goes to the `<service>-dead-letters` queue and the stream goes on), `publish`
    /// (published anyway, counted as drifted) or `stop` (the record is poison, see
    /// `poison-policy`). Events may override it.
    #[serde(default)]
    pub drift_policy: DriftPolicy,
    /// The most PutEvents requests the relay keeps in flight (1-1000, default 100). The window
    /// adapts below it: it grows while answers are fast and shrinks on throttling, timeouts
    /// and slowing answers.
    pub max_in_flight: Option<u32>,
    /// The relay's share of the account's PutEvents quota, in entries per second per
    /// function instance (unset: none declared; a throttle still slows the relay down). The
    /// quota is per account and region: divide it by the shards (times the parallelization
    /// factor) and leave room for other publishers.
    pub max_entries_per_second: Option<u32>,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            package: default_package(),
            batch_size: default_batch_size(),
            batching_window: default_batching_window(),
            parallelization_factor: default_one(),
            starting_position: StartingPosition::default(),
            maximum_retry_attempts: default_retry_attempts(),
            maximum_record_age: default_record_age(),
            memory: default_memory(),
            timeout: default_timeout(),
            reserved_concurrency: None,
            log_retention: default_log_retention(),
            poison_policy: PoisonPolicy::default(),
            drift_policy: DriftPolicy::default(),
            max_in_flight: None,
            max_entries_per_second: None,
        }
    }
}

fn default_package() -> String {
    "relay".to_owned()
}

fn default_batch_size() -> u32 {
    100
}

fn default_batching_window() -> u32 {
    1
}

fn default_one() -> u32 {
    1
}

fn default_retry_attempts() -> u32 {
    10
}

fn default_record_age() -> u32 {
    86_400
}

fn default_memory() -> u32 {
    256
}

fn default_timeout() -> u32 {
    60
}

fn default_log_retention() -> u32 {
    30
}

/// `StartingPosition` of the event source mappings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StartingPosition {
    /// The oldest record still in the stream.
    #[default]
    TrimHorizon,
    /// Only records written after the mapping is created.
    Latest,
}

impl StartingPosition {
    /// The name AWS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            StartingPosition::TrimHorizon => "TRIM_HORIZON",
            StartingPosition::Latest => "LATEST",
        }
    }
}

/// Poison-record handling of the relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PoisonPolicy {
    /// Report the record as failed.
    #[default]
    Fail,
    /// Publish it as an `Outbox Poison Record` event and go on.
    DeadLetter,
}
