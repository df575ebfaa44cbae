//! The checks of a consumer's target beyond a queue or a function: names AWS takes, ARNs of the
//! right service, an API destination's endpoint, method, rate and secret, a log group
//! EventBridge can write to. Paths into events (a Kinesis partition key, an input transform)
//! are checked against the events' schemas after planning ([`crate::rules`]).

use super::*;
use crate::config::{ApiAuth, Consumer};
use crate::plan::naming;

/// The HTTP methods an API destination takes.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE", "PATCH"];

impl Checker {
    /// `value` is a name `name_rule` takes (the stack creates it, or finds it in its account
    /// and region) or an ARN of `service` with a resource starting `resource`.
    fn name_or_arn(
        &mut self,
        path: Path,
        what: &str,
        value: &str,
        name_rule: fn(&str) -> Result<(), String>,
        arn: (&str, &str, &str),
    ) {
        let (service, resource, example) = arn;
        let result = if naming::is_arn(value) {
            names::arn(value, service, resource, example)
        } else {
            name_rule(value)
        };
        if let Err(why) = result {
            self.error(path, format!("{what} `{value}` {why}"));
        }
    }

    /// A target of one of the further kinds, at `path` (`consumers.NAME.target`).
    pub(super) fn further_target(
        &mut self,
        path: &Path,
        service: &str,
        consumer: &str,
        target: &Target,
    ) {
        match target {
            Target::Sns(sns) => {
                let at = path.key("sns").key("topic");
                if naming::is_fifo(&sns.topic) {
                    self.error(
                        at,
                        format!("`{}` is a FIFO topic, which a rule cannot keep in order", sns.topic),
                    )
                    .hint = Some("use a standard topic, or an `sqs` target with a `.fifo` queue on a Custom Event Bus for order".into());
                } else if naming::is_arn(&sns.topic) {
                    self.name(at, "topic", &sns.topic, names::existing_topic);
                } else {
                    self.name(at, "topic name", &sns.topic, names::topic);
                }
            }
            Target::StepFunctions(sfn) => self.name_or_arn(
                path.key("step-functions").key("state-machine"),
                "state machine",
                &sfn.state_machine,
                names::state_machine,
                (
                    "states",
                    "stateMachine:",
                    "arn:aws:states:REGION:ACCOUNT:stateMachine:NAME",
                ),
            ),
            Target::Kinesis(kinesis) => {
                self.name_or_arn(
                    path.key("kinesis").key("stream"),
                    "stream",
                    &kinesis.stream,
                    names::kinesis_stream,
                    (
                        "kinesis",
                        "stream/",
                        "arn:aws:kinesis:REGION:ACCOUNT:stream/NAME",
                    ),
                );
                if crate::plan::path_segments(&kinesis.partition_key).is_none() {
                    self.error(
                        path.key("kinesis").key("partition-key"),
                        format!("`{}` is not a path into the event", kinesis.partition_key),
                    )
                    .hint = Some("for example `$.detail.orderId`".into());
                }
            }
            Target::Firehose(firehose) => {
                let at = path.key("firehose");
                self.name_or_arn(
                    at.key("delivery-stream"),
                    "delivery stream",
                    &firehose.delivery_stream,
                    names::delivery_stream,
                    (
                        "firehose",
                        "deliverystream/",
                        "arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME",
                    ),
                );
                match &firehose.bucket {
                    Some(bucket) => {
                        if naming::is_arn(&firehose.delivery_stream) {
                            self.error(
                                at.key("bucket"),
                                "an existing delivery stream already has its destination",
                            )
                            .hint = Some("give a name to create a stream that writes to `bucket`, or leave `bucket` out".into());
                        }
                        self.name(at.key("bucket"), "bucket", bucket, names::bucket_arn);
                    }
                    None if firehose.prefix.is_some() => {
                        self.error(
                            at.key("prefix"),
                            "`prefix` is for a stream the stack creates: give its `bucket`",
                        );
                    }
                    None => {}
                }
            }
            Target::ApiDestination(api) => {
                let at = path.key("api-destination");
                self.api_destination(&at, service, consumer, api);
            }
            Target::Logs(logs) => {
                let at = path.key("logs");
                self.name_or_arn(
                    at.key("log-group"),
                    "log group",
                    &logs.log_group,
                    names::event_log_group,
                    (
                        "logs",
                        "log-group:/aws/events/",
                        "arn:aws:logs:REGION:ACCOUNT:log-group:/aws/events/NAME",
                    ),
                );
                self.log_retention(at.key("retention-days"), logs.retention_days);
            }
            Target::EventBus(bus) if bus.arn.contains(":event-busv2/") => {
                let at = path.key("event-bus").key("arn");
                self.name(at, "bus", &bus.arn, names::custom_bus_arn);
            }
            Target::EventBus(bus) => {
                self.name(path.key("event-bus").key("arn"), "bus", &bus.arn, |arn| {
                    names::arn(
                        arn,
                        "events",
                        "event-bus/",
                        "arn:aws:events:REGION:ACCOUNT:event-bus/NAME",
                    )
                })
            }
            Target::Lambda(_) | Target::Sqs(_) => {}
        }
    }

    fn api_destination(
        &mut self,
        at: &Path,
        service: &str,
        consumer: &str,
        api: &crate::config::ApiDestinationTarget,
    ) {
        if let Some(arn) = &api.arn {
            self.name(at.key("arn"), "API destination", arn, |arn| {
                names::arn(
                    arn,
                    "events",
                    "api-destination/",
                    "arn:aws:events:REGION:ACCOUNT:api-destination/NAME/ID",
                )
            });
            if api.endpoint.is_some() || api.auth.is_some() {
                self.error(
                    at.clone(),
                    "give either an existing destination's `arn` or an `endpoint` and `auth`, not both",
                );
            }
            return;
        }
        match &api.endpoint {
            None => {
                self.error(
                    at.clone(),
                    "give the `endpoint` (with `auth`), or an existing destination's `arn`",
                )
                .hint = Some("for example `endpoint: https://example.com/hooks/orders`".into());
            }
            Some(endpoint) if !endpoint.starts_with("https://") || endpoint.len() <= 8 => {
                self.error(
                    at.key("endpoint"),
                    format!(
                        "`{endpoint}` is not an HTTPS URL (EventBridge calls only HTTPS endpoints)"
                    ),
                );
            }
            Some(_) => {}
        }
        let method = api.method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            self.error(
                at.key("method"),
                format!("`{}` is not an HTTP method EventBridge takes", api.method),
            )
            .hint = Some(format!("one of {}", METHODS.join(", ")));
        }
        if !(1..=300).contains(&api.rate_limit) {
            self.error(
                at.key("rate-limit"),
                format!(
                    "{} invocations per second is outside what EventBridge allows (1 to 300)",
                    api.rate_limit
                ),
            );
        }
        let connection = naming::connection(&naming::rule(service, consumer));
        if let Err(why) = names::rule(&connection) {
            self.error(
                at.clone(),
                format!("its connection would be named `{connection}`, which {why}"),
            )
            .hint = Some("shorten the service or consumer name".into());
        }
        let secret_arn = |arn: &str| {
            names::arn(
                arn,
                "secretsmanager",
                "secret:",
                "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
            )
        };
        match &api.auth {
            None => {
                self.error(at.clone(), "an API destination needs `auth` (its connection must authenticate)")
                    .hint = Some("`auth: { api-key: { header: x-api-key, secret: SECRET_ARN } }` or `auth: { basic: { secret: SECRET_ARN } }`".into());
            }
            Some(ApiAuth::ApiKey { header, secret }) => {
                let auth = at.key("auth").key("api-key");
                if header.trim().is_empty() {
                    self.error(auth.key("header"), "name the header the key is sent in");
                }
                self.name(auth.key("secret"), "secret", secret, secret_arn);
            }
            Some(ApiAuth::Basic { secret }) => {
                let auth = at.key("auth").key("basic");
                self.name(auth.key("secret"), "secret", secret, secret_arn);
            }
        }
    }

    /// A consumer's `input`: what EventBridge's input transformer takes (its paths are checked
    /// against the events after planning).
    pub(super) fn input(&mut self, path: &Path, input: &crate::config::Input) {
        let crate::config::Input::Template(fields) = input else {
            return;
        };
        let at = path.key("template");
        let paths = fields.values().filter(|v| crate::plan::is_path(v)).count();
        if fields.is_empty() {
            self.error(at, "a template needs at least one field").hint = Some(
                "for example `template: { orderId: $.detail.orderId }`, or `input: detail`".into(),
            );
        } else if paths > 100 {
            self.error(
                at,
                format!("{paths} paths; EventBridge's input transformer takes at most 100"),
            );
        }
    }

    /// What a Custom Event Bus's subscribers cannot do: write to a log group, transform what
    /// they forward to a Classic bus, keep order for a target that has none.
    pub(super) fn custom_bus_consumer(&mut self, path: &Path, consumer: &Consumer) {
        match &consumer.target {
            Target::Logs(_) => {
                self.error(
                    path.key("target").key("logs"),
                    "a Custom Event Bus's subscribers cannot write to a CloudWatch Logs log group",
                )
                .hint = Some("deliver to `firehose` (events land in S3) or an `sqs` queue, or put this consumer on a Classic bus".into());
            }
            Target::EventBus(bus)
                if consumer.input.is_some() && !bus.arn.contains(":event-busv2/") =>
            {
                self.error(
                    path.key("input"),
                    "a subscriber forwards events to a Classic bus as they are (no transformer)",
                )
                .hint = Some(
                    "leave `input` out; the other bus's rules shape what their targets get".into(),
                );
            }
            _ => {}
        }
        let expression = consumer
            .input
            .as_ref()
            .and_then(|input| crate::plan::input_plan(input).jsonata());
        if let Some(expression) = expression.filter(|e| e.chars().count() > JSONATA_MAX) {
            self.error(
                path.key("input"),
                format!(
                    "its JSONata transformer would be {} characters; a subscriber takes at most {JSONATA_MAX}",
                    expression.chars().count()
                ),
            )
            .hint = Some("send fewer fields, or `input: detail`".into());
        }
        if consumer.ordered && !matches!(consumer.target, Target::Lambda(_) | Target::Sqs(_)) {
            self.error(
                path.key("ordered"),
                "an ordered consumer delivers to a Lambda function or an SQS FIFO queue",
            )
            .hint = Some(
                "deliver to `sqs: { queue: NAME.fifo }` or `lambda`, or leave `ordered` out".into(),
            );
        }
    }

    /// `input: metadata` is what a Custom Event Bus adds to an event; a Classic bus has none.
    pub(super) fn classic_bus_consumer(&mut self, path: &Path, consumer: &Consumer) {
        if matches!(consumer.input, Some(crate::config::Input::Metadata)) {
            self.error(
                path.key("input"),
                "only a Custom Event Bus delivers an event with its metadata",
            )
            .hint =
                Some("set `kind: custom` on `bus`, or use `input: detail` or a template".into());
        }
    }
}

/// The longest JSONata expression a subscriber's transformer takes (`JsonataConfiguration`).
const JSONATA_MAX: usize = 8192;
