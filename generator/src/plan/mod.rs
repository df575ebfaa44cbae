//! Stage 3, `plan`: a validated config resolved into one model that every renderer and command
//! reads: final AWS names, the detail-type of every event, what selects its records, where each
//! detail field comes from and what it is ([`detail`]), who receives what and with which rule
//! pattern. Nothing downstream looks at the config again.

mod consumers;
pub mod detail;
mod events;
mod local;
pub mod monitor;
pub mod naming;
pub mod schema;
pub mod select;
mod tables;
mod targets;

use serde::Serialize;
use serde_json::{Value, json};

use crate::attrs::ImagePath;
use crate::config::{BusKind, Config, PoisonPolicy};
use crate::vocabulary::DriftPolicy;
use consumers::dead_letter_route;
use consumers::rule_pattern;
use detail::Detail;
use events::event_plan;
use local::local_stack;
use select::Condition;
use tables::key_type;
use tables::stream_filters;
pub use targets::{
    ApiDestinationPlan, InputPlan, Step, TargetPlan, input_plan, is_path, path_segments,
};

/// Everything the renderers need, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The service (stack) name.
    pub service: String,
    /// The config file's name, as shown in generated files (no directories).
    pub config_file: String,
    /// The event bus.
    pub bus: BusPlan,
    /// The tables, by name.
    pub tables: Vec<TablePlan>,
    /// Every event, by table then name.
    pub events: Vec<EventPlan>,
    /// Every consumer, by name.
    pub consumers: Vec<ConsumerPlan>,
    /// The relay function.
    pub relay: RelayPlan,
    /// What `relay dev` stands up locally and `relay poll` reads.
    pub local_stack: outbox_stack::LocalStack,
    /// Alarms, their topic and the dashboard (none with `alarms.enabled: false`).
    pub monitoring: Option<monitor::MonitoringPlan>,
}

/// The event bus.
#[derive(Debug, Clone, Serialize)]
pub struct BusPlan {
    /// Its name or ARN.
    pub name: String,
    /// Whether the stack creates it.
    pub created: bool,
    /// The new Custom Event Bus (`bus.kind: custom`), not a Classic one.
    pub custom: bool,
    /// Days the new bus keeps events (a created Custom Event Bus).
    pub retention_days: Option<u32>,
    /// The archive of the service's events (a Classic bus).
    pub archive: Option<ArchivePlan>,
}

/// An archive of the service's events on a Classic bus, for replays.
#[derive(Debug, Clone, Serialize)]
pub struct ArchivePlan {
    /// `ArchiveName`.
    pub name: String,
    /// Days it keeps events.
    pub retention_days: u32,
    /// What it keeps: the service's sources.
    pub pattern: Value,
}

/// What an event's `EventGroupId` is on the new Custom Event Bus (FIFO subscribers deliver a
/// group's events in order).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GroupPlan {
    /// The value of a key attribute (by default the partition key: the aggregate).
    Key {
        /// The attribute.
        attribute: String,
    },
    /// The value at a path of an image.
    Path {
        /// Image and path.
        path: ImagePath,
    },
    /// One group for all.
    Const {
        /// The group.
        value: String,
    },
}

/// A table.
#[derive(Debug, Clone, Serialize)]
pub struct TablePlan {
    /// Table name.
    pub name: String,
    /// Partition key name.
    pub partition_key: String,
    /// Sort key name.
    pub sort_key: Option<String>,
    /// `StreamViewType`.
    pub stream: &'static str,
    /// Whether it is an explicit outbox table.
    pub outbox: bool,
    /// Partition key type (`S`, `N`, `B`).
    pub partition_type: &'static str,
    /// The stream ARN of an existing table (the stack does not create it).
    pub existing_stream: Option<String>,
    /// Point-in-time recovery.
    pub point_in_time_recovery: bool,
    /// Deletion protection.
    pub deletion_protection: bool,
    /// Sort key type.
    pub sort_type: Option<&'static str>,
    /// Lambda event-filter patterns (DynamoDB stream record shape) that pass every record an
    /// event of this table may want; empty: no filtering.
    pub filters: Vec<serde_json::Value>,
}

/// A domain event.
#[derive(Debug, Clone, Serialize)]
pub struct EventPlan {
    /// Event name.
    pub name: String,
    /// File-name-safe slug of the name (schema files, event ids).
    pub slug: String,
    /// The table it comes from.
    pub table: String,
    /// What selects its records, in words (`INSERT of user items`).
    pub trigger: String,
    /// What a record must meet to produce it.
    pub conditions: Vec<Condition>,
    /// The conditions declared under `when`, in words.
    pub described: Vec<String>,
    /// EventBridge `Source`.
    pub source: String,
    /// EventBridge `DetailType`.
    pub detail_type: String,
    /// Schema version.
    pub schema_version: u32,
    /// Description.
    pub description: Option<String>,
    /// The detail: every field resolved, and its schema.
    pub detail: Detail,
    /// Attributes that never leave the table.
    pub redacted: Vec<String>,
    /// What a detail that breaks the schema does.
    pub drift: DriftPolicy,
    /// Its group on the new Custom Event Bus.
    pub group: GroupPlan,
    /// `relay backfill` produces it for every item of its entity.
    pub snapshot: bool,
}

/// A consumer.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerPlan {
    /// Consumer name.
    pub name: String,
    /// EventBridge rule name.
    pub rule: String,
    /// The rule's description.
    pub rule_description: String,
    /// The events it receives.
    pub events: Vec<String>,
    /// Its content pattern (on `detail`).
    pub pattern: Option<serde_json::Value>,
    /// The content pattern as compact JSON text (documentation).
    pub pattern_text: Option<String>,
    /// The rule's whole event pattern: the sources and detail-types of its events, and the
    /// content pattern under `detail`.
    pub rule_pattern: serde_json::Value,
    /// Where the rule delivers.
    pub target: TargetPlan,
    /// What the target receives instead of the whole event.
    pub input: Option<InputPlan>,
    /// What the target is, for people (`SNS topic`).
    pub target_noun: &'static str,
    /// The target's name or ARN.
    pub target_name: String,
    /// What the target receives, for people (`the whole event`, `` `$.detail.order` ``).
    pub input_text: String,
    /// Dead-letter queue name, if any.
    pub dead_letter_queue: Option<String>,
    /// Delivered in order per event group (a FIFO subscriber of a Custom Event Bus).
    pub ordered: bool,
    /// Where its subscriber starts (`horizon` or epoch seconds), on a Custom Event Bus.
    pub start_at: Option<StartAt>,
    /// EventBridge retry attempts.
    pub maximum_attempts: u32,
    /// EventBridge maximum event age, seconds.
    pub maximum_event_age: u32,
    /// Description.
    pub description: Option<String>,
    /// The queue that receives its events under `relay dev`: its own SQS queue, or one that
    /// stands in for its function.
    pub local_queue: String,
}

/// Where a new subscriber of a Custom Event Bus starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StartAt {
    /// The oldest event the bus keeps.
    Horizon,
    /// This time, in seconds since the epoch.
    Time(i64),
}

impl StartAt {
    /// `horizon` or an RFC 3339 time.
    pub fn parse(text: &str) -> Option<StartAt> {
        if text == "horizon" {
            return Some(StartAt::Horizon);
        }
        let time = aws_smithy_types::DateTime::from_str(
            text,
            aws_smithy_types::date_time::Format::DateTime,
        )
        .ok()?;
        Some(StartAt::Time(time.secs()))
    }
}

/// The relay function: its names and what it may put on the bus.
#[derive(Debug, Clone, Serialize)]
pub struct RelayPlan {
    /// Function name.
    pub name: String,
    /// The Cargo package name of the relay crate (its binary and library are `relay` whatever it is).
    pub package: String,
    /// Function description.
    pub description: String,
    /// Its stream failure destination's queue name.
    pub failure_queue: String,
    /// The `source` of its poison-record events (`relay` with `poison-policy: dead-letter`).
    pub poison_source: String,
    /// Every `source` it may put: its events' and its poison-record events'.
    pub sources: Vec<String>,
    /// Its log group: `/aws/lambda/<name>`.
    pub log_group: String,
    /// Days its log group keeps logs.
    pub log_retention: u32,
    /// Memory (MB).
    pub memory: u32,
    /// Timeout (seconds).
    pub timeout: u32,
    /// Reserved concurrency, if any.
    pub reserved_concurrency: Option<u32>,
    /// What it does with a record it cannot map: `fail` or `dead-letter`
    /// (`OUTBOX_POISON_POLICY`).
    pub poison_policy: &'static str,
    /// The bound of its window of PutEvents requests, when set (`OUTBOX_MAX_IN_FLIGHT`).
    pub max_in_flight: Option<u32>,
    /// Its declared share of the PutEvents quota, when set (`OUTBOX_MAX_ENTRIES_PER_SECOND`).
    pub max_entries_per_second: Option<u32>,
    /// How Lambda reads the streams for it.
    pub reading: StreamReading,
}

/// The event source mappings' settings (one per table, all alike).
#[derive(Debug, Clone, Serialize)]
pub struct StreamReading {
    /// `StartingPosition`: `LATEST` or `TRIM_HORIZON`.
    pub starting_position: &'static str,
    /// `BatchSize`.
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`.
    pub batching_window: u32,
    /// `ParallelizationFactor`.
    pub parallelization_factor: u32,
    /// `MaximumRetryAttempts`.
    pub maximum_retry_attempts: u32,
    /// `MaximumRecordAgeInSeconds`.
    pub maximum_record_age: u32,
}

/// Resolves a config that [`crate::check::config`] accepted.
pub fn plan(config: &Config, config_file: &str) -> Plan {
    let bus = match (&config.bus.name, &config.bus.existing) {
        (Some(name), _) => BusPlan {
            name: name.clone(),
            created: true,
            custom: config.bus.kind == BusKind::Custom,
            retention_days: (config.bus.kind == BusKind::Custom)
                .then(|| config.bus.retention_days.unwrap_or(1)),
            archive: None,
        },
        (None, existing) => BusPlan {
            name: existing.clone().unwrap_or_default(),
            created: false,
            custom: config.bus.kind == BusKind::Custom,
            retention_days: None,
            archive: None,
        },
    };
    let tables: Vec<TablePlan> = config
        .tables
        .iter()
        .map(|(name, table)| TablePlan {
            name: name.clone(),
            partition_key: table.keys.partition.name.clone(),
            sort_key: table.keys.sort.as_ref().map(|k| k.name.clone()),
            stream: table.stream.as_str(),
            outbox: table.outbox.is_some(),
            partition_type: key_type(table.keys.partition.key_type),
            existing_stream: table.existing_stream.clone(),
            point_in_time_recovery: table.point_in_time_recovery,
            deletion_protection: table.deletion_protection,
            sort_type: table.keys.sort.as_ref().map(|k| key_type(k.key_type)),
            filters: stream_filters(table),
        })
        .collect();
    let events: Vec<EventPlan> = config
        .tables
        .iter()
        .flat_map(|(table_name, table)| {
            table.events.iter().map(move |(name, event)| {
                event_plan(table_name, table, name, event, config.relay.drift_policy)
            })
        })
        .collect();
    let consumers: Vec<ConsumerPlan> = config
        .consumers
        .iter()
        .map(|(name, consumer)| {
            let rule = naming::rule(&config.service, name);
            let target = TargetPlan::from_config(&consumer.target, &rule);
            let local_queue = match &target {
                TargetPlan::Sqs { queue, .. } => queue.clone(),
                _ => format!("{name}-local"),
            };
            ConsumerPlan {
                dead_letter_queue: consumer
                    .dead_letter_queue
                    .then(|| naming::dead_letter_queue(&rule)),
                ordered: consumer.ordered,
                start_at: consumer.start_at.as_deref().and_then(StartAt::parse),
                rule_description: consumer
                    .description
                    .clone()
                    .unwrap_or_else(|| format!("Routes {} to {name}.", consumer.events.join(", "))),
                rule_pattern: rule_pattern(&events, &consumer.events, consumer.pattern.as_ref()),
                rule,
                name: name.clone(),
                events: consumer.events.clone(),
                pattern: consumer.pattern.clone(),
                pattern_text: consumer.pattern.as_ref().map(Value::to_string),
                target_noun: target.noun(),
                target_name: target.name().to_owned(),
                input_text: InputPlan::describe(consumer.input.as_ref().map(input_plan).as_ref()),
                target,
                input: consumer.input.as_ref().map(input_plan),
                maximum_attempts: consumer.retry.maximum_attempts,
                maximum_event_age: consumer.retry.maximum_event_age,
                description: consumer.description.clone(),
                local_queue,
            }
        })
        .collect();
    let poison_source = outbox_stack::poison_source(&config.service);
    let mut consumers = consumers;
    let dead_letters = config.relay.poison_policy == PoisonPolicy::DeadLetter
        || events.iter().any(|e| e.drift == DriftPolicy::DeadLetter);
    if dead_letters {
        consumers.push(dead_letter_route(&config.service, &poison_source));
    }
    let mut sources: Vec<String> = events.iter().map(|e| e.source.clone()).collect();
    sources.push(poison_source.clone());
    sources.sort_unstable();
    sources.dedup();
    let mut bus = bus;
    let archive_days = config.bus.archive_days.unwrap_or(30);
    if !bus.custom && archive_days > 0 {
        bus.archive = Some(ArchivePlan {
            name: format!("{}-events", config.service),
            retention_days: archive_days,
            pattern: json!({ "source": sources }),
        });
    }
    let settings = &config.relay;
    let name = naming::relay(&config.service);
    let relay = RelayPlan {
        log_group: naming::function_log_group(&name),
        log_retention: settings.log_retention,
        memory: settings.memory,
        timeout: settings.timeout,
        reserved_concurrency: settings.reserved_concurrency,
        poison_policy: match settings.poison_policy {
            PoisonPolicy::Fail => "fail",
            PoisonPolicy::DeadLetter => "dead-letter",
        },
        max_in_flight: settings.max_in_flight,
        max_entries_per_second: settings.max_entries_per_second,
        reading: StreamReading {
            starting_position: settings.starting_position.as_str(),
            batch_size: settings.batch_size,
            batching_window: settings.batching_window,
            parallelization_factor: settings.parallelization_factor,
            maximum_retry_attempts: settings.maximum_retry_attempts,
            maximum_record_age: settings.maximum_record_age,
        },
        name,
        package: config.relay.package.clone(),
        description: format!(
            "Publishes the domain events of {} from DynamoDB Streams to EventBridge.",
            config.service
        ),
        failure_queue: format!("{}-relay-failures", config.service),
        poison_source,
        sources,
    };
    let monitoring = monitor::plan(
        &config.alarms,
        &monitor::Watched {
            service: &config.service,
            maximum_record_age: config.relay.maximum_record_age,
            function: &relay.name,
            bus: &bus.name,
            consumers: &consumers,
            custom_bus: bus.custom,
        },
    );
    Plan {
        monitoring,
        local_stack: local_stack(&bus, &tables, &consumers, &relay, config_file),
        relay,
        service: config.service.clone(),
        config_file: config_file.to_owned(),
        bus,
        tables,
        events,
        consumers,
    }
}
