//! Each consumer's target, as the stacks create or find it, and what it receives (input).

use serde::Serialize;

use super::naming;
use crate::config::{ApiAuth, Input, Target};

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

    pub(super) fn from_config(target: &Target, rule: &str) -> TargetPlan {
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

/// What a consumer's `input` plans to.
pub fn input_plan(input: &Input) -> InputPlan {
    match input {
        Input::Detail => InputPlan::Detail,
        Input::Metadata => InputPlan::Metadata,
        Input::Path(path) => InputPlan::Path(path.clone()),
        Input::Template(fields) => {
            InputPlan::Template(fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }
    }
}
