//! Stage 3, `plan`: a validated config resolved into one model that every renderer and command
//! reads: final AWS names, the detail-type of every event, what selects its records, where each
//! detail field comes from and what it is ([`detail`]), who receives what and with which rule
//! pattern. Nothing downstream looks at the config again.

pub mod detail;
pub mod monitor;
pub mod naming;
pub mod select;

use serde::Serialize;
use serde_json::{Value, json};

use crate::attrs::ImagePath;
use crate::config::{
    ApiAuth, BusKind, Config, DriftPolicy, Event, GroupSpec, Input, Operation, PoisonPolicy, Table,
    Target,
};
use detail::Detail;
use select::Condition;

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

/// A rule's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TargetPlan {
    /// A Lambda function, by name or ARN.
    Lambda {
        /// Name or ARN.
        function: String,
    },
    /// An SQS queue the stack creates.
    Sqs {
        /// Queue name.
        queue: String,
        /// A FIFO queue (`.fifo`).
        fifo: bool,
    },
    /// An SNS topic.
    Sns {
        /// Name (created) or ARN (existing).
        topic: String,
        /// The stack creates it.
        created: bool,
    },
    /// A Step Functions state machine, by name or ARN.
    StepFunctions {
        /// Name or ARN.
        state_machine: String,
    },
    /// A Kinesis data stream.
    Kinesis {
        /// Name (created) or ARN (existing).
        stream: String,
        /// The stack creates it.
        created: bool,
        /// The partition key's path into the event.
        partition_key: String,
    },
    /// A Firehose delivery stream, by name or ARN.
    Firehose {
        /// Name or ARN.
        delivery_stream: String,
        /// The bucket ARN and key prefix of a stream the stack creates.
        created: Option<(String, String)>,
    },
    /// An API destination.
    ApiDestination {
        /// The destination's name (created) or ARN (existing).
        destination: String,
        /// The endpoint, its method, rate limit and auth when the stack creates it.
        created: Option<ApiDestinationPlan>,
    },
    /// A CloudWatch Logs log group.
    Logs {
        /// Name (created) or ARN (existing).
        log_group: String,
        /// Days a created log group keeps events.
        retention_days: Option<u32>,
    },
    /// An event bus (usually another account's), by ARN.
    EventBus {
        /// Its ARN.
        arn: String,
    },
}

/// An API destination and connection the stack creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiDestinationPlan {
    /// The connection's name.
    pub connection: String,
    /// The HTTPS endpoint.
    pub endpoint: String,
    /// The HTTP method.
    pub method: String,
    /// Invocations per second at most.
    pub rate_limit: u32,
    /// `API_KEY` or `BASIC`.
    pub authorization: &'static str,
    /// The API key's header (`API_KEY`).
    pub header: Option<String>,
    /// The secret's ARN.
    pub secret: String,
}

impl TargetPlan {
    /// The target's kind as outbox.yaml spells it (`lambda`, `sqs`, `step-functions`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            TargetPlan::Lambda { .. } => "lambda",
            TargetPlan::Sqs { .. } => "sqs",
            TargetPlan::Sns { .. } => "sns",
            TargetPlan::StepFunctions { .. } => "step-functions",
            TargetPlan::Kinesis { .. } => "kinesis",
            TargetPlan::Firehose { .. } => "firehose",
            TargetPlan::ApiDestination { .. } => "api-destination",
            TargetPlan::Logs { .. } => "logs",
            TargetPlan::EventBus { .. } => "event-bus",
        }
    }

    /// The target's name or ARN.
    pub fn name(&self) -> &str {
        match self {
            TargetPlan::Lambda { function } => function,
            TargetPlan::Sqs { queue, .. } => queue,
            TargetPlan::Sns { topic, .. } => topic,
            TargetPlan::StepFunctions { state_machine } => state_machine,
            TargetPlan::Kinesis { stream, .. } => stream,
            TargetPlan::Firehose {
                delivery_stream, ..
            } => delivery_stream,
            TargetPlan::ApiDestination { destination, .. } => destination,
            TargetPlan::Logs { log_group, .. } => log_group,
            TargetPlan::EventBus { arn } => arn,
        }
    }

    /// What it is, for people: `SQS queue`, `Step Functions state machine`, ...
    pub fn noun(&self) -> &'static str {
        match self {
            TargetPlan::Lambda { .. } => "Lambda function",
            TargetPlan::Sqs { fifo: true, .. } => "SQS FIFO queue",
            TargetPlan::Sqs { .. } => "SQS queue",
            TargetPlan::Sns { .. } => "SNS topic",
            TargetPlan::StepFunctions { .. } => "Step Functions state machine",
            TargetPlan::Kinesis { .. } => "Kinesis data stream",
            TargetPlan::Firehose { .. } => "Firehose delivery stream",
            TargetPlan::ApiDestination { .. } => "API destination",
            TargetPlan::Logs { .. } => "CloudWatch Logs log group",
            TargetPlan::EventBus { .. } => "event bus",
        }
    }

    /// Whether it is a FIFO queue.
    pub fn is_fifo(&self) -> bool {
        matches!(self, TargetPlan::Sqs { fifo: true, .. })
    }

    fn from_config(target: &Target, rule: &str) -> TargetPlan {
        let existing = naming::is_arn;
        match target {
            Target::Lambda(lambda) => TargetPlan::Lambda {
                function: lambda.function.clone(),
            },
            Target::Sqs(sqs) => TargetPlan::Sqs {
                queue: sqs.queue.clone(),
                fifo: naming::is_fifo(&sqs.queue),
            },
            Target::Sns(sns) => TargetPlan::Sns {
                topic: sns.topic.clone(),
                created: !existing(&sns.topic),
            },
            Target::StepFunctions(sfn) => TargetPlan::StepFunctions {
                state_machine: sfn.state_machine.clone(),
            },
            Target::Kinesis(kinesis) => TargetPlan::Kinesis {
                stream: kinesis.stream.clone(),
                created: !existing(&kinesis.stream),
                partition_key: kinesis.partition_key.clone(),
            },
            Target::Firehose(firehose) => TargetPlan::Firehose {
                delivery_stream: firehose.delivery_stream.clone(),
                created: firehose.bucket.clone().map(|bucket| {
                    let prefix = firehose.prefix.clone().unwrap_or_else(|| "events/".into());
                    (bucket, prefix)
                }),
            },
            Target::ApiDestination(api) => match (&api.arn, &api.endpoint, &api.auth) {
                (Some(arn), _, _) => TargetPlan::ApiDestination {
                    destination: arn.clone(),
                    created: None,
                },
                (None, endpoint, auth) => TargetPlan::ApiDestination {
                    destination: rule.to_owned(),
                    created: Some(ApiDestinationPlan {
                        connection: naming::connection(rule),
                        endpoint: endpoint.clone().unwrap_or_default(),
                        method: api.method.to_ascii_uppercase(),
                        rate_limit: api.rate_limit,
                        authorization: match auth {
                            Some(ApiAuth::Basic { .. }) => "BASIC",
                            _ => "API_KEY",
                        },
                        header: match auth {
                            Some(ApiAuth::ApiKey { header, .. }) => Some(header.clone()),
                            _ => None,
                        },
                        secret: match auth {
                            Some(ApiAuth::ApiKey { secret, .. } | ApiAuth::Basic { secret }) => {
                                secret.clone()
                            }
                            None => String::new(),
                        },
                    }),
                },
            },
            Target::Logs(logs) => TargetPlan::Logs {
                log_group: logs.log_group.clone(),
                retention_days: (!existing(&logs.log_group)).then_some(logs.retention_days),
            },
            Target::EventBus(bus) => TargetPlan::EventBus {
                arn: bus.arn.clone(),
            },
        }
    }
}

/// What a consumer's target receives instead of the whole event (shared with `relay dev`,
/// which shows it locally).
pub use outbox_stack::input::{Input as InputPlan, Step, is_path, path_segments};

fn input_plan(input: &Input) -> InputPlan {
    match input {
        Input::Detail => InputPlan::Detail,
        Input::Path(path) => InputPlan::Path(path.clone()),
        Input::Template(fields) => {
            InputPlan::Template(fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }
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

/// The route the stacks give dead-lettered events (poison records, drifted events): a rule on
/// their source and detail-type to the queue `<service>-dead-letters`, so none is lost on the
/// bus.
fn dead_letter_route(service: &str, poison_source: &str) -> ConsumerPlan {
    let name = outbox_stack::DEAD_LETTERS;
    let rule = naming::rule(service, name);
    let queue = outbox_stack::dead_letter_queue(service);
    let retry = crate::config::Retry::default();
    ConsumerPlan {
        dead_letter_queue: Some(naming::dead_letter_queue(&rule)),
        ordered: false,
        start_at: None,
        rule_description: format!(
            "Routes the events the relay dead-letters ({}) to {queue}.",
            outbox_stack::POISON_DETAIL_TYPE
        ),
        rule_pattern: json!({
            "source": [poison_source],
            "detail-type": [outbox_stack::POISON_DETAIL_TYPE],
        }),
        rule,
        name: name.to_owned(),
        events: vec![outbox_stack::POISON_DETAIL_TYPE.to_owned()],
        pattern: None,
        pattern_text: None,
        target: TargetPlan::Sqs {
            queue: queue.clone(),
            fifo: false,
        },
        input: None,
        target_noun: "SQS queue",
        target_name: queue.clone(),
        input_text: InputPlan::describe(None),
        maximum_attempts: retry.maximum_attempts,
        maximum_event_age: retry.maximum_event_age,
        description: Some(
            "Poison records and drifted events, with the record's ids, the item's keys and the reason (never its contents)."
                .into(),
        ),
        local_queue: queue,
    }
}

/// What `relay dev` stands up locally and `relay poll` reads: the tables with their streams,
/// the bus, the consumers' rules with a queue each (a Lambda consumer is represented by a local
/// queue), the relay's stream settings and its failure destination. Names are the deployed
/// stacks' where they have one.
fn local_stack(
    bus: &BusPlan,
    tables: &[TablePlan],
    consumers: &[ConsumerPlan],
    relay: &RelayPlan,
    config_file: &str,
) -> outbox_stack::LocalStack {
    let key = |name: &str, kind: &str| outbox_stack::Key {
        name: name.to_owned(),
        kind: kind.to_owned(),
    };
    outbox_stack::LocalStack {
        comment: crate::generated_by(Some(config_file)),
        bus: bus.name.clone(),
        custom_bus: bus.custom,
        archive: bus.archive.as_ref().map(|a| outbox_stack::Archive {
            name: a.name.clone(),
            pattern: a.pattern.clone(),
            retention_days: a.retention_days,
        }),
        tables: tables
            .iter()
            .map(|t| outbox_stack::Table {
                name: t.name.clone(),
                partition_key: key(&t.partition_key, t.partition_type),
                sort_key: t
                    .sort_key
                    .as_deref()
                    .zip(t.sort_type)
                    .map(|(n, k)| key(n, k)),
                stream: t.stream.to_owned(),
                filters: t.filters.clone(),
            })
            .collect(),
        streams: outbox_stack::StreamSettings {
            starting_position: relay.reading.starting_position.to_owned(),
            batch_size: relay.reading.batch_size as usize,
            batching_window: relay.reading.batching_window.into(),
            maximum_retry_attempts: relay.reading.maximum_retry_attempts,
            maximum_record_age: relay.reading.maximum_record_age.into(),
        },
        failure_queue: relay.failure_queue.clone(),
        consumers: consumers
            .iter()
            .map(|c| outbox_stack::Consumer {
                name: c.name.clone(),
                rule_name: c.rule.clone(),
                pattern: c.rule_pattern.clone(),
                queue: c.local_queue.clone(),
                stands_in_for: match &c.target {
                    TargetPlan::Sqs { .. } => None,
                    target => Some(format!("{} {}", target.kind(), target.name())),
                },
                ordered: c.ordered,
                input: c.input.clone(),
            })
            .collect(),
    }
}

/// A rule's event pattern: the sources and detail-types of the events it wants, plus its
/// content pattern under `detail`.
fn rule_pattern(events: &[EventPlan], wanted: &[String], content: Option<&Value>) -> Value {
    let wanted: Vec<&EventPlan> = events.iter().filter(|e| wanted.contains(&e.name)).collect();
    let mut sources: Vec<&str> = wanted.iter().map(|e| e.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    let mut detail_types: Vec<&str> = wanted.iter().map(|e| e.detail_type.as_str()).collect();
    detail_types.sort_unstable();
    detail_types.dedup();
    let mut pattern = json!({ "source": sources, "detail-type": detail_types });
    if let Some(detail) = content {
        pattern["detail"] = detail.clone();
    }
    pattern
}

fn key_type(key_type: crate::config::KeyType) -> &'static str {
    match key_type {
        crate::config::KeyType::S => "S",
        crate::config::KeyType::N => "N",
        crate::config::KeyType::B => "B",
    }
}

/// AWS allows this many filters per event source mapping.
pub const MAX_STREAM_FILTERS: usize = 5;

/// One filter per event, on what the stream record itself shows: the operation, the key
/// attributes the entity matches on, an outbox row's type. Conditions a filter cannot express
/// (`changed`, non-key attributes) are left to the relay, so the filters only ever let more
/// through, never less. More events than AWS allows filters: no filtering.
fn stream_filters(table: &Table) -> Vec<serde_json::Value> {
    use serde_json::json;
    let filters: Vec<serde_json::Value> = table
        .events
        .iter()
        .map(|(name, event)| match &table.outbox {
            Some(outbox) => json!({
                "eventName": ["INSERT"],
                "dynamodb": { "NewImage": { outbox.type_attribute.clone(): { "S": [event.outbox_type.as_deref().unwrap_or(name)] } } }
            }),
            None => {
                let mut ops: Vec<&str> = Vec::new();
                for name in event.on.iter().map(|op| op.event_name()) {
                    if !ops.contains(&name) {
                        ops.push(name);
                    }
                }
                let mut filter = json!({ "eventName": ops });
                // TTL deletions are REMOVE records by the DynamoDB service: an event of only one
                // kind of removal lets only that kind through (records without removals have no
                // `userIdentity`).
                let has = |op| event.on.contains(&op);
                match (has(Operation::Remove), has(Operation::Expire)) {
                    (true, false) => {
                        filter["userIdentity"] = json!({ "type": [{ "exists": false }] });
                    }
                    (false, true) if !has(Operation::Insert) && !has(Operation::Modify) => {
                        filter["userIdentity"] = json!({
                            "type": ["Service"],
                            "principalId": ["dynamodb.amazonaws.com"]
                        });
                    }
                    _ => {}
                }
                let is_key = |a: &str| a == table.keys.partition.name || table.keys.sort.as_ref().is_some_and(|k| k.name == a);
                let mut keys = serde_json::Map::new();
                if let Some(entity) = event.entity.as_ref().and_then(|e| table.entities.get(e)) {
                    for (attribute, test) in entity.matches.iter().filter(|(a, _)| is_key(a)) {
                        let values = match (&test.prefix, &test.equals) {
                            (Some(prefix), _) => json!([{ "prefix": prefix }]),
                            (_, Some(equals)) => json!([equals]),
                            _ => continue,
                        };
                        keys.insert(attribute.clone(), json!({ "S": values }));
                    }
                }
                if !keys.is_empty() {
                    filter["dynamodb"] = json!({ "Keys": keys });
                }
                filter
            }
        })
        .collect();
    // A global table published from one region: the other regions' relays are never invoked.
    let home = table
        .global
        .as_ref()
        .filter(|g| g.origin_attribute.is_none())
        .map(|g| g.publish_in.clone());
    let mut unique: Vec<serde_json::Value> = Vec::new();
    for mut filter in filters {
        if let Some(home) = &home {
            filter["awsRegion"] = json!([home]);
        }
        if !unique.contains(&filter) {
            unique.push(filter);
        }
    }
    if unique.len() > MAX_STREAM_FILTERS {
        Vec::new()
    } else {
        unique
    }
}

fn event_plan(
    table_name: &str,
    table: &Table,
    name: &str,
    event: &Event,
    drift: DriftPolicy,
) -> EventPlan {
    let ops = |default: &str| {
        if event.on.is_empty() {
            default.to_owned()
        } else {
            event
                .on
                .iter()
                .map(|op| op.as_str())
                .collect::<Vec<_>>()
                .join("/")
        }
    };
    let description = event.description.as_deref();
    let (trigger, mut conditions, detail) = match &table.outbox {
        Some(outbox) => {
            let selector = event.outbox_type.as_deref().unwrap_or(name);
            let trigger = format!(
                "{} of a row with {} = `{selector}`",
                ops("INSERT"),
                outbox.type_attribute
            );
            (
                trigger,
                select::outbox(outbox, name, event),
                detail::outbox(outbox, event, description),
            )
        }
        None => {
            let entity_name = event.entity.clone().unwrap_or_default();
            let trigger = format!("{} of an item of entity `{entity_name}`", ops(""));
            let conditions = table
                .entities
                .get(&entity_name)
                .map(|entity| select::entity(entity, event))
                .unwrap_or_default();
            (
                trigger,
                conditions,
                detail::entity(table, event, description),
            )
        }
    };
    if let Some(global) = &table.global {
        conditions.push(Condition::PublishedHere {
            home: global.publish_in.clone(),
            origin_attribute: global.origin_attribute.clone(),
        });
    }
    EventPlan {
        name: name.to_owned(),
        slug: crate::ident::id_slug(name),
        table: table_name.to_owned(),
        trigger,
        described: conditions.iter().filter_map(Condition::describe).collect(),
        conditions,
        source: event.source.clone(),
        detail_type: event.detail_type.clone().unwrap_or_else(|| name.to_owned()),
        schema_version: event.schema_version,
        description: event.description.clone(),
        detail,
        redacted: event.redact.clone(),
        drift: event.drift_policy.unwrap_or(drift),
        snapshot: event.snapshot,
        group: match &event.group {
            Some(GroupSpec::Const { value }) => GroupPlan::Const {
                value: value.clone(),
            },
            Some(GroupSpec::Path(path)) => GroupPlan::Path {
                path: ImagePath::validated(path),
            },
            None => GroupPlan::Key {
                attribute: table.keys.partition.name.clone(),
            },
        },
    }
}
