//! The stack's settings beside its resources: every linter suppression with the reason it
//! holds, the relay's environment, queue settings, descriptions, the Custom Event Bus's
//! subscriber properties and delivery trust. What the stack contains (names, rule patterns,
//! sources, targets) is decided in the plan.

use serde_json::{Value, json};

use crate::plan::RelayPlan;
use crate::plan::{ConsumerPlan, Plan, TablePlan};

/// A checkov suppression with the reason it does not apply.
fn skip(id: &str, comment: &str) -> Value {
    json!({ "id": id, "comment": comment })
}

/// A cfn-lint (cfn-lint-serverless) suppression with the reason it does not apply.
fn lint_ignore(id: &str, comment: &str) -> (Value, Value) {
    (
        json!({ "config": { "ignore_checks": [id] } }),
        json!(format!("{id} {comment}")),
    )
}

/// Resource `Metadata` made of suppressions.
fn metadata(checkov: Vec<Value>, cfn_lint: Option<(Value, Value)>) -> Value {
    let mut metadata = serde_json::Map::new();
    if !checkov.is_empty() {
        metadata.insert("checkov".into(), json!({ "skip": checkov }));
    }
    if let Some((config, comment)) = cfn_lint {
        metadata.insert("cfn-lint".into(), config);
        metadata.insert("comment".into(), comment);
    }
    Value::Object(metadata)
}

fn queue_skip() -> Value {
    skip(
        "CKV_AWS_27",
        "encrypted at rest with SQS-managed keys (SqsManagedSseEnabled); a customer-managed KMS key is an opt-in",
    )
}

/// Metadata of a queue that consumers read (it has a redrive policy).
pub fn queue_metadata() -> Value {
    metadata(vec![queue_skip()], None)
}

/// Metadata of a queue that is the last stop (a dead-letter queue or a failure destination).
pub fn last_stop_queue_metadata() -> Value {
    metadata(
        vec![queue_skip()],
        Some(lint_ignore(
            "ES6000",
            "(needs a redrive policy) does not apply: this queue is where failed messages end up.",
        )),
    )
}

/// Metadata of a table the stack creates.
pub fn table_metadata(table: &TablePlan) -> Value {
    let mut skips = vec![skip(
        "CKV_AWS_119",
        "encrypted at rest with an AWS-owned key by default and SSE enabled with the AWS-managed key; a customer-managed key is an opt-in",
    )];
    if !table.point_in_time_recovery {
        skips.push(skip(
            "CKV_AWS_28",
            "outbox.yaml sets `point-in-time-recovery: false` for this table",
        ));
    }
    metadata(skips, None)
}

/// Metadata of the relay's log group.
pub fn log_group_metadata() -> Value {
    metadata(
        vec![skip(
            "CKV_AWS_158",
            "CloudWatch Logs encrypts log data at rest by default; the relay never logs item contents",
        )],
        None,
    )
}

/// Metadata of the relay function (its suppressions only; SAM adds its build settings).
pub fn relay_metadata(relay: &RelayPlan) -> Value {
    let mut skips = vec![
        skip(
            "CKV_AWS_116",
            "invoked by DynamoDB Streams event source mappings, whose on-failure destination (an SQS queue) receives failed batches; a function DLQ applies to asynchronous invocations only",
        ),
        skip(
            "CKV_AWS_117",
            "talks only to AWS APIs (DynamoDB Streams, EventBridge); no private resources to reach from a VPC",
        ),
        skip(
            "CKV_AWS_173",
            "the environment holds names and settings only, no secrets",
        ),
        skip(
            "CKV_AWS_272",
            "code signing is an organisation-level choice; enable it with a signing profile where required",
        ),
    ];
    if relay.reserved_concurrency.is_none() {
        skips.push(skip(
            "CKV_AWS_115",
            "concurrency is bounded by the stream's shards and ParallelizationFactor",
        ));
    }
    metadata(skips, None)
}

/// Metadata of the permission that lets a rule invoke a consumer's function.
pub fn lambda_permission_metadata() -> Value {
    metadata(
        vec![],
        Some(lint_ignore(
            "ES1007",
            "(add an EventInvokeConfig) does not apply: the function belongs to another stack, which owns its asynchronous invocation settings; the rule target's retry policy and dead-letter queue cover delivery.",
        )),
    )
}

/// Metadata of a consumer's rule, when it needs any.
pub fn rule_metadata(consumer: &ConsumerPlan) -> Option<Value> {
    consumer.dead_letter_queue.is_none().then(|| {
        metadata(
            vec![],
            Some(lint_ignore(
                "ES4000",
                "(targets need a dead-letter queue): outbox.yaml sets `dead-letter-queue: false` for this consumer.",
            )),
        )
    })
}

/// The relay's environment besides `EVENT_BUS_NAME` (which each stack sets from its bus).
pub fn relay_environment(relay: &RelayPlan) -> Value {
    let mut environment = json!({
        "OUTBOX_METRICS": "emf",
        "OUTBOX_POISON_POLICY": relay.poison_policy,
    });
    let publishing = [
        ("OUTBOX_MAX_IN_FLIGHT", relay.max_in_flight),
        (
            "OUTBOX_MAX_ENTRIES_PER_SECOND",
            relay.max_entries_per_second,
        ),
    ];
    for (name, value) in publishing {
        if let Some(value) = value {
            environment[name] = json!(value.to_string());
        }
    }
    environment
}

/// The stack's description.
pub fn stack_description(plan: &Plan) -> String {
    format!(
        "The outbox of {}: DynamoDB Streams -> relay -> EventBridge -> consumers. Generated from {}.",
        plan.service, plan.config_file
    )
}

/// The schema registry's name and description.
pub fn registry(plan: &Plan) -> (String, String) {
    (
        format!("{}-events", plan.service),
        format!("The event contracts of {}.", plan.service),
    )
}

/// Days a queue that is the last stop keeps its messages (the maximum, 14 days).
pub const LAST_STOP_RETENTION: u32 = 1_209_600;
/// Receives before a consumer queue's message moves to its dead letters.
pub const MAX_RECEIVE_COUNT: u32 = 5;

/// How every alarm compares: it fires at or above its threshold.
pub const ALARM_COMPARISON: &str = "GreaterThanOrEqualToThreshold";
/// A metric with no data is healthy: most of these counts are only sent when not zero.
pub const ALARM_MISSING_DATA: &str = "notBreaching";

/// Metadata of the alarms' SNS topic.
pub fn alarm_topic_metadata() -> Value {
    metadata(
        vec![skip(
            "CKV_AWS_26",
            "CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key, and alarm notifications carry no item data; use `existing-topic` for a topic with a customer-managed key",
        )],
        None,
    )
}

/// Metadata of a topic the stack creates as a consumer's target.
pub fn target_topic_metadata() -> Value {
    metadata(
        vec![skip(
            "CKV_AWS_26",
            "EventBridge cannot publish to a topic encrypted with the AWS-managed SNS key; give an existing topic with a customer-managed key (whose key policy lets events.amazonaws.com use it) by ARN to encrypt",
        )],
        None,
    )
}

/// The role EventBridge delivers to a consumer's target with: trusted by EventBridge of this
/// account only, allowed exactly `statements`.
pub fn target_role(statements: &[Value]) -> Value {
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": delivery_trust_policy(),
            "Policies": [{ "PolicyName": "delivery", "PolicyDocument": { "Version": "2012-10-17", "Statement": statements } }]
        }
    })
}

/// A Custom Event Bus's description.
pub fn custom_bus_description(plan: &Plan) -> String {
    format!(
        "The domain events of {}, published by its outbox relay.",
        plan.service
    )
}

/// A bus's name from its name or ARN (the name part of `event-busv2/NAME/ID`, `event-bus/NAME`).
pub fn bus_name(bus: &str) -> &str {
    match bus.split_once(":event-busv2/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => bus.rsplit('/').next().unwrap_or(bus),
    }
}

/// Who may assume a subscriber's delivery role: EventBridge, for this account only.
pub fn delivery_trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "events.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } } }
        }]
    })
}

/// JSONata of an SQS FIFO target: the event's group is the message group (the queue keeps a
/// group's order), its id the deduplication id (unique per event; a constant would make the
/// queue drop every message after the first).
pub(super) const MESSAGE_GROUP: &str = "{% $events.SystemMetadata.EventGroupId %}";
const MESSAGE_DEDUPLICATION: &str = "{% $events.SystemMetadata.\"aws:EventId\" %}";

/// A consumer's subscriber on a Custom Event Bus, without what each stack refers to its own
/// way (`EventBusArn`, `InvokeConfiguration.TargetArn` and `RoleArn`, `OnFailureConfiguration`).
pub fn subscriber(consumer: &ConsumerPlan) -> Value {
    let mut invoke = json!({});
    match &consumer.target {
        crate::plan::TargetPlan::Sqs { fifo: true, .. } => {
            invoke["SqsParameters"] = json!({
                "MessageGroupId": MESSAGE_GROUP,
                "MessageDeduplicationId": MESSAGE_DEDUPLICATION
            });
        }
        crate::plan::TargetPlan::Lambda { .. } => {
            // Order holds only while each delivery waits for the function's answer.
            invoke["LambdaParameters"] = json!({
                "InvocationType": if consumer.ordered { "REQUEST_RESPONSE" } else { "EVENT" }
            });
        }
        _ => {}
    }
    let mut subscriber = json!({
        "Name": consumer.rule,
        "Description": consumer.rule_description,
        "Type": if consumer.ordered { "FIFO" } else { "UNORDERED" },
        "FilterConfiguration": {
            "Filters": [{ "Scope": "DATA", "Pattern": consumer.rule_pattern.to_string() }]
        },
        "InvokeConfiguration": invoke,
        "RetryPolicy": {
            "MaxRetryAttempts": consumer.maximum_attempts.min(185),
            "MaxEventAgeInSeconds": consumer.maximum_event_age
        }
    });
    if let Some(input) = &consumer.input {
        subscriber["Transformer"] = match input.jsonata() {
            Some(expression) => {
                json!({ "Type": "JSONATA", "JsonataConfiguration": { "Expression": expression } })
            }
            None => json!({ "Type": "WITH_METADATA" }),
        };
    }
    match consumer.start_at {
        None => {}
        Some(crate::plan::StartAt::Horizon) => {
            subscriber["StartingPosition"] = json!("POINT_IN_TIME");
            subscriber["PointInTimeConfiguration"] = json!({ "PointType": "HORIZON" });
        }
        Some(crate::plan::StartAt::Time(seconds)) => {
            subscriber["StartingPosition"] = json!("POINT_IN_TIME");
            subscriber["PointInTimeConfiguration"] =
                json!({ "PointType": "TIMESTAMP", "StartingPoint": seconds });
        }
    }
    subscriber
}

/// The archive of the service's events (a Classic bus), without its `SourceArn`.
pub fn archive(archive: &crate::plan::ArchivePlan, plan: &Plan) -> Value {
    json!({
        "ArchiveName": archive.name,
        "Description": format!("The events of {} (for `relay replay`).", plan.service),
        "EventPattern": archive.pattern,
        "RetentionDays": archive.retention_days
    })
}
