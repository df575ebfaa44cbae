//! What the stacks watch: a CloudWatch alarm on everything that can delay or lose an event (the
//! relay falling behind its stream, failing or throttled; the failure and dead-letter queues
//! holding messages; rules failing to deliver; PutEvents throttling and failures from the
//! relay's own metrics), the SNS topic they notify, and one dashboard of the flow. Both stacks
//! render it alike; queues the stacks do not name are referred to by key ([`QueueKey`]).

use serde::Serialize;
use serde_json::{Value, json};

use super::{ConsumerPlan, TargetPlan};
use crate::config::{Alarms, IteratorAge};
use crate::ident;

/// The relay's own metrics (CloudWatch Embedded Metric Format lines, dimension `Service`).
pub const RELAY_NAMESPACE: &str = "Outbox";

/// Alarms, topic and dashboard (absent with `alarms.enabled: false`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringPlan {
    /// Where alarms notify.
    pub topic: TopicPlan,
    /// Every alarm.
    pub alarms: Vec<AlarmPlan>,
    /// The dashboard.
    pub dashboard: DashboardPlan,
}

/// The SNS topic the alarms notify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TopicPlan {
    /// A topic the stack creates, by name.
    Create(String),
    /// An existing topic, by ARN.
    Existing(String),
}

/// One CloudWatch alarm on one metric.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmPlan {
    /// `AlarmName`: `<service>-<key>`.
    pub name: String,
    /// What it watches, unique in the stack (`relay-iterator-age-warn`): ids and labels.
    pub key: String,
    /// `warn` (look today) or `page` (events are at risk now).
    pub severity: &'static str,
    /// `AlarmDescription`: what it means and where the runbook is.
    pub description: String,
    /// What to do when it fires (the generated README's runbook).
    pub runbook: String,
    /// The metric.
    pub metric: MetricPlan,
    /// `Statistic`.
    pub statistic: &'static str,
    /// Seconds per datapoint.
    pub period: u32,
    /// Datapoints that must breach in a row.
    pub evaluation_periods: u32,
    /// Fires at or above this value (in the metric's unit).
    pub threshold: u64,
    /// Watch `metric` minus this one (metric math), not `metric` alone.
    pub minus: Option<MetricPlan>,
}

/// A CloudWatch metric.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricPlan {
    /// `Namespace`.
    pub namespace: &'static str,
    /// `MetricName`.
    pub name: &'static str,
    /// `Dimensions`, in order.
    pub dimensions: Vec<Dimension>,
}

/// A metric dimension.
#[derive(Debug, Clone, Serialize)]
pub struct Dimension {
    /// Its name.
    pub name: &'static str,
    /// Its value.
    #[serde(flatten)]
    pub value: DimensionValue,
}

/// A dimension's value: known text, or what the stack knows only when it is deployed (the
/// name of a queue it creates without a name, an ARN AWS generates).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DimensionValue {
    /// Known when generating.
    Value(String),
    /// The `QueueName` of the unnamed queue with this key.
    Queue(QueueKey),
    /// The Custom Event Bus's ARN.
    BusArn,
    /// The ARN of the consumer's subscriber (by consumer name).
    SubscriberArn(String),
}

impl DimensionValue {
    /// Its name in the dashboard's body, substituted on deploy (`${NAME}`); `None` for a value
    /// known now.
    pub fn placeholder(&self) -> Option<String> {
        match self {
            DimensionValue::Value(_) => None,
            DimensionValue::Queue(key) => Some(key.0.clone()),
            DimensionValue::BusArn => Some("EventBusArn".into()),
            DimensionValue::SubscriberArn(consumer) => {
                Some(format!("{}SubscriberArn", ident::pascal(consumer)))
            }
        }
    }
}

/// The key of a queue the stacks create unnamed (its SAM logical id, its CDK construct id):
/// the relay's failure queue and the dead-letter queues.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct QueueKey(pub String);

impl QueueKey {
    /// The relay's on-failure destination.
    pub fn failure_queue() -> Self {
        QueueKey(ident::pascal("relay failure queue"))
    }

    /// Where an SQS consumer's queue moves messages received too often.
    pub fn queue_dead_letters(consumer: &str) -> Self {
        QueueKey(ident::pascal(&format!("{consumer} queue dead letters")))
    }

    /// Where a rule puts events it could not deliver.
    pub fn rule_dead_letters(consumer: &str) -> Self {
        QueueKey(ident::pascal(&format!("{consumer} dead letter queue")))
    }
}

/// The dashboard: its body is JSON text in which each unnamed queue's name is `${KEY}` and the
/// region `${AWS::Region}`, for `Fn::Sub`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardPlan {
    /// `DashboardName`.
    pub name: String,
    /// `DashboardBody`, to substitute.
    pub body: String,
    /// The deploy-time values the body refers to, by placeholder.
    pub placeholders: Vec<(String, DimensionValue)>,
}

/// What the monitoring of a relay and its consumers needs to know.
pub(super) struct Watched<'a> {
    pub service: &'a str,
    /// The relay's `maximum-record-age` (the iterator-age defaults follow it).
    pub maximum_record_age: u32,
    pub function: &'a str,
    pub bus: &'a str,
    pub consumers: &'a [ConsumerPlan],
    /// A Custom Event Bus: subscribers, not rules (no rule metrics).
    pub custom_bus: bool,
}

/// The alarms, topic and dashboard `alarms` asks for.
pub(super) fn plan(config: &Alarms, watched: &Watched) -> Option<MonitoringPlan> {
    if !config.enabled {
        return None;
    }
    let service = watched.service;
    let topic = match (&config.existing_topic, &config.topic) {
        (Some(arn), _) => TopicPlan::Existing(arn.clone()),
        (None, Some(name)) => TopicPlan::Create(name.clone()),
        (None, None) => TopicPlan::Create(format!("{service}-alarms")),
    };
    let ages = config.iterator_age.resolve(watched.maximum_record_age);
    let alarms = alarms(config, watched, ages);
    Some(MonitoringPlan {
        topic,
        dashboard: dashboard(watched, ages, &alarms),
        alarms,
    })
}

fn value(name: &'static str, text: &str) -> Dimension {
    Dimension {
        name,
        value: DimensionValue::Value(text.to_owned()),
    }
}

fn queue_metric(queue: DimensionValue) -> MetricPlan {
    MetricPlan {
        namespace: "AWS/SQS",
        name: "ApproximateNumberOfMessagesVisible",
        dimensions: vec![Dimension {
            name: "QueueName",
            value: queue,
        }],
    }
}

fn function_metric(name: &'static str, function: &str) -> MetricPlan {
    MetricPlan {
        namespace: "AWS/Lambda",
        name,
        dimensions: vec![value("FunctionName", function)],
    }
}

fn relay_metric(name: &'static str, service: &str) -> MetricPlan {
    MetricPlan {
        namespace: RELAY_NAMESPACE,
        name,
        dimensions: vec![value("Service", service)],
    }
}

/// A Custom Event Bus subscriber's metrics (dimensions: the bus's and the subscriber's ARNs;
/// EventBridge user guide, "Observability for the Custom Event Bus").
fn subscriber_metric(name: &'static str, consumer: &str) -> MetricPlan {
    MetricPlan {
        namespace: "AWS/EventsV2",
        name,
        dimensions: vec![
            Dimension {
                name: "EventBus",
                value: DimensionValue::BusArn,
            },
            Dimension {
                name: "Subscriber",
                value: DimensionValue::SubscriberArn(consumer.to_owned()),
            },
        ],
    }
}

/// A rule's metrics: on the default bus by `RuleName` alone, on a custom bus with `EventBusName`.
fn rule_metric(name: &'static str, bus: &str, rule: &str) -> MetricPlan {
    let bus = bus.rsplit('/').next().unwrap_or(bus);
    let mut dimensions = Vec::new();
    if bus != "default" {
        dimensions.push(value("EventBusName", bus));
    }
    dimensions.push(value("RuleName", rule));
    MetricPlan {
        namespace: "AWS/Events",
        name,
        dimensions,
    }
}

/// A count that must stay at zero: fires on any datapoint of one 5-minute period.
fn any(
    service: &str,
    key: String,
    severity: &'static str,
    what: &str,
    runbook: &str,
    metric: MetricPlan,
) -> AlarmPlan {
    let statistic = if metric.namespace == "AWS/SQS" {
        "Maximum"
    } else {
        "Sum"
    };
    AlarmPlan {
        description: format!("{what} Runbook: the generated README, \"When an alarm fires\"."),
        runbook: runbook.to_owned(),
        name: format!("{service}-{key}"),
        key,
        severity,
        metric,
        statistic,
        period: 300,
        evaluation_periods: 1,
        threshold: 1,
        minus: None,
    }
}

/// The alarms; `(warn, page)` are the iterator-age thresholds in seconds.
fn alarms(config: &Alarms, watched: &Watched, (warn, page): (u32, u32)) -> Vec<AlarmPlan> {
    let Watched {
        service,
        function,
        bus,
        consumers,
        maximum_record_age,
        ..
    } = *watched;
    let age = |severity: &'static str, seconds: u32, evaluation_periods: u32, runbook: &str| {
        AlarmPlan {
            name: format!("{service}-relay-iterator-age-{severity}"),
            key: format!("relay-iterator-age-{severity}"),
            severity,
            description: format!(
                "The relay's oldest unpublished stream record is {seconds} s old (records are lost at {} s). Runbook: the generated README, \"When an alarm fires\".",
                IteratorAge::lost_at(maximum_record_age)
            ),
            runbook: runbook.to_owned(),
            metric: function_metric("IteratorAge", function),
            statistic: "Maximum",
            period: 60,
            evaluation_periods,
            threshold: u64::from(seconds) * 1_000,
            minus: None,
        }
    };
    let mut alarms = vec![
        age(
            "warn",
            warn,
            5,
            "The relay falls behind its stream. Look at the dashboard: errors or throttles (see those alarms), or more writes than one batch per shard keeps up with (raise `relay.batch-size` or `relay.parallelization-factor`).",
        ),
        age(
            "page",
            page,
            3,
            "Records are at risk: a stream keeps them 24 hours. Find the cause now (relay errors, a record that keeps failing, PutEvents throttling); if a poison record holds the shard, `poison-policy: dead-letter` lets the stream go on.",
        ),
        any(
            service,
            "relay-errors".to_owned(),
            "page",
            "The relay function failed an invocation (a crash or timeout, not a reported record).",
            "Read the relay's log group for the error; a timeout wants a larger `relay.timeout` or a smaller `relay.batch-size`. Lambda retries the batch; nothing is lost while the iterator age stays low.",
            function_metric("Errors", function),
        ),
        any(
            service,
            "relay-throttles".to_owned(),
            "warn",
            "Lambda throttled the relay (account or reserved concurrency).",
            "Raise the account's concurrency quota or `relay.reserved-concurrency`; throttled batches are retried, so watch the iterator age.",
            function_metric("Throttles", function),
        ),
        any(
            service,
            "relay-failures".to_owned(),
            "page",
            "Stream batches reached the relay's failure queue: their events were not published.",
            "Each message names a shard and a sequence range. Fix the cause (the message's `outbox.reason` locally, the relay's log in AWS), then `relay redrive --dry-run`, then `relay redrive`, while the stream still holds the records (24 hours).",
            queue_metric(DimensionValue::Queue(QueueKey::failure_queue())),
        ),
        any(
            service,
            "put-events-failures".to_owned(),
            "page",
            "EventBridge refused events, or retries ran out: the relay reported records as failed.",
            "Read the relay's log (`record failed`) for the error code. Lambda retries the record; it goes to the failure queue when retries run out.",
            relay_metric("failed", service),
        ),
        AlarmPlan {
            threshold: u64::from(config.put_events_throttles),
            ..any(
                service,
                "put-events-throttles".to_owned(),
                "warn",
                "EventBridge throttled PutEvents entries (the relay retried them).",
                "Ask for a higher PutEvents quota for the region, or lower `relay.parallelization-factor`; throttled entries are retried with backoff.",
                relay_metric("throttled", service),
            )
        },
    ];
    for consumer in consumers {
        let name = &consumer.name;
        let dead_letters = consumer.name == outbox_stack::DEAD_LETTERS;
        if dead_letters {
            alarms.push(any(
                service,
                "dead-letters".to_owned(),
                "page",
                "The relay dead-lettered events (a poison record, or an item that drifted from its entity).",
                "Each message says which record and item and why (never the item). Fix the config or the data, then `relay redrive --dry-run` and `relay redrive`.",
                queue_metric(DimensionValue::Value(consumer.target.name().to_owned())),
            ));
        }
        if !watched.custom_bus {
            alarms.push(any(
            service,
            format!("{name}-failed-invocations"),
            "page",
            &format!("Rule {} failed to deliver events to {name}.", consumer.rule),
            "The target refused or was unreachable until the retry policy gave up (a missing permission, a deleted target). Events went to the rule's dead-letter queue if it has one; otherwise they are lost: fix the target and republish with `relay redrive` from the stream, or a replay.",
            rule_metric("FailedInvocations", bus, &consumer.rule),
        ));
        }
        if watched.custom_bus {
            alarms.extend(subscriber_alarms(service, consumer));
        }
        if consumer.dead_letter_queue.is_some() {
            let dead_letters = DimensionValue::Queue(QueueKey::rule_dead_letters(name));
            alarms.push(if watched.custom_bus {
                any(
                    service,
                    format!("{name}-undelivered"),
                    "page",
                    &format!("Events for {name} are recorded in its subscriber's dead-letter queue."),
                    &format!("Each message is a failure record (errorCode, errorMessage, the failed events' ids and groups), not the events. Fix the target, then `relay redrive --subscriber {name} --dry-run` and `relay redrive --subscriber {name}` deliver the events again, in group order."),
                    queue_metric(dead_letters),
                )
            } else {
                any(
                    service,
                    format!("{name}-undelivered"),
                    "page",
                    &format!("Events for {name} wait in its rule's dead-letter queue."),
                    "The message attributes say why EventBridge could not deliver (ERROR_CODE, ERROR_MESSAGE). Fix the target, then move the messages back (send each to the target, or `aws sqs start-message-move-task` for a queue target).",
                    queue_metric(dead_letters),
                )
            });
        }
        if matches!(consumer.target, TargetPlan::Sqs { .. }) {
            alarms.push(any(
                service,
                format!("{name}-queue-dead-letters"),
                "warn",
                &format!("Messages the {name} consumer received too often wait in its queue's dead letters."),
                "The consumer failed each of them several times. Fix the consumer, then `aws sqs start-message-move-task` moves them back to its queue.",
                queue_metric(DimensionValue::Queue(QueueKey::queue_dead_letters(name))),
            ));
        }
    }
    alarms
}

/// A Custom Event Bus subscriber's alarms: events it dropped (page), and deliveries failing
/// for 15 minutes (warn: the target refuses, and in a FIFO subscriber its groups wait, growing
/// older, until the retry policy gives up).
fn subscriber_alarms(service: &str, consumer: &ConsumerPlan) -> [AlarmPlan; 2] {
    let name = &consumer.name;
    [
        any(
            service,
            format!("{name}-dropped"),
            "page",
            &format!(
                "Subscriber {} dropped events for {name}: they are lost.",
                consumer.rule
            ),
            "Retries ran out and the events could not go to the subscriber's dead-letter queue (none, or it refused them). Fix the target and the queue's policy, then republish: `relay redrive` from the stream (24 hours), or a subscriber that starts at a point in time inside the bus's retention.",
            subscriber_metric("EventsDropped", name),
        ),
        AlarmPlan {
            evaluation_periods: 3,
            minus: Some(subscriber_metric("EventsDelivered", name)),
            ..any(
                service,
                format!("{name}-delivery-failing"),
                "warn",
                &format!(
                    "Subscriber {} fails to deliver to {name} (15 minutes of failed attempts).",
                    consumer.rule
                ),
                "The target refuses or cannot be reached (permissions, throttling, a deleted target); the subscriber retries, and in a FIFO subscriber the failing events hold up their groups. Read the subscriber's log (set its LogConfiguration) for the error; what retries cannot deliver is recorded in its dead-letter queue (the `-undelivered` alarm).",
                subscriber_metric("EventDeliveryAttempts", name),
            )
        },
    ]
}

/// A metric in a dashboard widget: `[namespace, name, dimension, value, ..., options]`.
fn widget_metric(metric: &MetricPlan, options: Value) -> Value {
    let mut line = vec![json!(metric.namespace), json!(metric.name)];
    for dimension in &metric.dimensions {
        line.push(json!(dimension.name));
        line.push(match (&dimension.value, dimension.value.placeholder()) {
            (DimensionValue::Value(text), _) => json!(text),
            (_, placeholder) => json!(format!("${{{}}}", placeholder.unwrap_or_default())),
        });
    }
    line.push(options);
    Value::Array(line)
}

fn graph(title: &str, metrics: Vec<Value>, extra: Value) -> Value {
    let mut properties = json!({
        "title": title,
        "region": "${AWS::Region}",
        "view": "timeSeries",
        "stacked": false,
        "period": 60,
        "metrics": metrics,
    });
    if let (Some(p), Some(e)) = (properties.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    json!({ "type": "metric", "width": 12, "height": 6, "properties": properties })
}

fn dashboard(watched: &Watched, (warn, page): (u32, u32), alarms: &[AlarmPlan]) -> DashboardPlan {
    let Watched {
        service,
        function,
        bus,
        consumers,
        ..
    } = *watched;
    let sum = |label: &str| json!({ "stat": "Sum", "label": label });
    let max = |label: &str| json!({ "stat": "Maximum", "label": label });
    let relay_counts = [
        ("published", "published"),
        ("retried", "retried"),
        ("throttled", "throttled"),
        ("failed", "failed"),
        ("deadLettered", "dead-lettered"),
        ("drifted", "drifted (published anyway)"),
    ]
    .iter()
    .map(|(name, label)| widget_metric(&relay_metric(name, service), sum(label)))
    .collect();
    let subscriber_deliveries: Vec<Value> = consumers
        .iter()
        .filter(|_| watched.custom_bus)
        .flat_map(|c| {
            [
                ("EventsDelivered", "delivered"),
                ("EventDeliveryAttempts", "attempts"),
                ("OnFailureDestinationDelivered", "dead-lettered"),
                ("EventsDropped", "dropped"),
            ]
            .map(|(metric, what)| {
                widget_metric(
                    &subscriber_metric(metric, &c.name),
                    sum(&format!("{} {what}", c.name)),
                )
            })
        })
        .collect();
    let deliveries = consumers
        .iter()
        .filter(|_| !watched.custom_bus)
        .flat_map(|c| {
            let mut lines = vec![
                widget_metric(
                    &rule_metric("Invocations", bus, &c.rule),
                    sum(&format!("{} delivered", c.name)),
                ),
                widget_metric(
                    &rule_metric("FailedInvocations", bus, &c.rule),
                    sum(&format!("{} failed", c.name)),
                ),
            ];
            if c.dead_letter_queue.is_some() {
                lines.push(widget_metric(
                    &rule_metric("InvocationsSentToDlq", bus, &c.rule),
                    sum(&format!("{} dead-lettered", c.name)),
                ));
            }
            lines
        })
        .collect();
    let waiting = alarms
        .iter()
        .filter(|a| a.metric.namespace == "AWS/SQS")
        .map(|a| widget_metric(&a.metric, max(&a.key)))
        .collect();
    let mut widgets = vec![
        graph(
            "Relay: age of the oldest unpublished record (ms)",
            vec![widget_metric(
                &function_metric("IteratorAge", function),
                max("iterator age"),
            )],
            json!({ "annotations": { "horizontal": [
                { "label": "warn", "value": u64::from(warn) * 1_000 },
                { "label": "page", "value": u64::from(page) * 1_000 }
            ] } }),
        ),
        graph(
            "Relay: invocations",
            ["Invocations", "Errors", "Throttles"]
                .iter()
                .map(|name| widget_metric(&function_metric(name, function), sum(name)))
                .collect(),
            json!({}),
        ),
        graph("Relay: events", relay_counts, json!({})),
        graph(
            "Waiting in failure and dead-letter queues",
            waiting,
            json!({ "period": 300 }),
        ),
    ];
    if watched.custom_bus {
        widgets.insert(
            3,
            graph(
                "Consumers: deliveries (subscribers)",
                subscriber_deliveries,
                json!({ "period": 300 }),
            ),
        );
    } else {
        widgets.insert(
            3,
            graph("Consumers: deliveries (rules)", deliveries, json!({})),
        );
    }
    // Every deploy-time value a widget names (the alarms' metrics cover the queues; the
    // subscribers' graph, the bus and subscribers).
    let mut placeholders: Vec<(String, DimensionValue)> = alarms
        .iter()
        .filter(|a| a.metric.namespace == "AWS/SQS")
        .flat_map(|a| a.metric.dimensions.clone())
        .chain(
            consumers
                .iter()
                .filter(|_| watched.custom_bus)
                .flat_map(|c| subscriber_metric("EventsDelivered", &c.name).dimensions),
        )
        .filter_map(|d| Some((d.value.placeholder()?, d.value.clone())))
        .collect();
    placeholders.sort_by(|a, b| a.0.cmp(&b.0));
    placeholders.dedup_by(|a, b| a.0 == b.0);
    DashboardPlan {
        name: format!("{service}-outbox"),
        body: json!({ "widgets": widgets }).to_string(),
        placeholders,
    }
}
