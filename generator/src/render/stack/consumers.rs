//! Each consumer in the stack: its rule (or Custom Event Bus subscriber), target,
//! queues and the policies that let exactly its rule deliver.

use serde_json::{Map, Value, json};

use super::{
    Bus, ConsumerPlan, QueueKey, TargetPlan, Template, dead_letter_queue, get_att, infra, queue,
    reference, targets,
};
use crate::ident;

pub(super) fn consumer_resources(consumer: &ConsumerPlan, bus: &Bus, t: &mut Template) {
    let rule_id = t.ids.pascal(&format!("{} rule", consumer.name));
    let rule_arn = get_att(&rule_id, "Arn");
    let fifo = consumer.target.is_fifo();
    // Target properties beyond its id, ARN and delivery settings.
    let mut properties = Map::new();
    let (target_arn, target_id) = match &consumer.target {
        TargetPlan::Sqs {
            queue: queue_name, ..
        } => {
            // A rule sends no deduplication id: the FIFO queue derives one from the content.
            let queue_id = consumer_queue(consumer, queue_name, fifo, t);
            t.add(
                &format!("{} queue policy", consumer.name),
                queue_policy(&queue_id, &rule_arn),
            );
            (get_att(&queue_id, "Arn"), queue_id)
        }
        TargetPlan::Lambda { function } => {
            let function = targets::function_arn(function);
            t.add(
                &format!("{} permission", consumer.name),
                json!({
                    "Type": "AWS::Lambda::Permission",
                    "Metadata": infra::lambda_permission_metadata(),
                    "Properties": { "Action": "lambda:InvokeFunction", "FunctionName": function, "Principal": "events.amazonaws.com", "SourceArn": rule_arn }
                }),
            );
            (function, ident::pascal(&consumer.name))
        }
        _ => {
            let spec = targets::rule_target(consumer, targets::Via::Rule(&rule_arn), &mut t.ids)
                .expect("every further kind of target has a spec");
            for resource in spec.resources {
                t.resources.insert(resource.id, resource.resource);
            }
            if let Some((id, statements)) = &spec.role {
                t.resources
                    .insert(id.clone(), infra::target_role(statements));
                properties.insert("RoleArn".into(), get_att(id, "Arn"));
            }
            if let Some((name, description, value)) = spec.output {
                t.outputs
                    .insert(name, json!({ "Description": description, "Value": value }));
            }
            properties.extend(spec.parameters);
            (spec.arn, ident::pascal(&consumer.name))
        }
    };
    let mut target = json!({
        "Id": target_id,
        "Arn": target_arn,
        "RetryPolicy": { "MaximumRetryAttempts": consumer.maximum_attempts, "MaximumEventAgeInSeconds": consumer.maximum_event_age }
    });
    if fifo {
        target["SqsParameters"] = json!({ "MessageGroupId": consumer.name });
    }
    properties.extend(targets::input(consumer));
    target
        .as_object_mut()
        .expect("a target is an object")
        .extend(properties);
    if consumer.dead_letter_queue.is_some() {
        let dlq = t.add_queue(
            QueueKey::rule_dead_letters(&consumer.name),
            dead_letter_queue(false),
        );
        t.add(
            &format!("{} dead letter queue policy", consumer.name),
            queue_policy(&dlq, &rule_arn),
        );
        target["DeadLetterConfig"] = json!({ "Arn": get_att(&dlq, "Arn") });
    }
    let mut rule = json!({
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": consumer.rule,
            "Description": consumer.rule_description,
            "EventBusName": bus.name,
            "EventPattern": consumer.rule_pattern,
            "State": "ENABLED",
            "Targets": [target]
        }
    });
    if let Some(metadata) = infra::rule_metadata(consumer) {
        rule["Metadata"] = metadata;
    }
    t.resources.insert(rule_id, rule);
}

/// A consumer's own queue (FIFO for a `.fifo` target, with content-based deduplication if
/// `content_deduplication`) and the dead letters it moves messages received too often to;
/// returns the queue's id.
pub(super) fn consumer_queue(
    consumer: &ConsumerPlan,
    queue_name: &str,
    content_deduplication: bool,
    t: &mut Template,
) -> String {
    let fifo = consumer.target.is_fifo();
    let unprocessed = t.add_queue(
        QueueKey::queue_dead_letters(&consumer.name),
        dead_letter_queue(fifo),
    );
    let mut properties = json!({
        "QueueName": queue_name,
        "RedrivePolicy": { "deadLetterTargetArn": get_att(&unprocessed, "Arn"), "maxReceiveCount": infra::MAX_RECEIVE_COUNT }
    });
    if fifo {
        properties["FifoQueue"] = json!(true);
        if content_deduplication {
            properties["ContentBasedDeduplication"] = json!(true);
        }
    }
    t.add(
        &format!("{} queue", consumer.name),
        queue(infra::queue_metadata(), properties),
    )
}

/// A consumer on a Custom Event Bus: its queue (or function), a subscriber with the
/// consumer's filter, ordering, retry policy and dead-letter queue, and the role it delivers
/// with (exactly the target and the dead-letter queue).
pub(super) fn subscriber_resources(consumer: &ConsumerPlan, bus: &Bus, t: &mut Template) {
    let mut parameters = Map::new();
    let mut output = None;
    let (target_arn, mut statements) = match &consumer.target {
        TargetPlan::Sqs {
            queue: queue_name, ..
        } => {
            // The subscriber sends each event's id as its deduplication id.
            let queue_id = consumer_queue(consumer, queue_name, false, t);
            let arn = get_att(&queue_id, "Arn");
            (arn.clone(), vec![deliver("sqs:SendMessage", &arn)])
        }
        TargetPlan::Lambda { function } => {
            let arn = targets::function_arn(function);
            (arn.clone(), vec![deliver("lambda:InvokeFunction", &arn)])
        }
        _ => {
            let spec = targets::rule_target(consumer, targets::Via::Subscriber, &mut t.ids)
                .expect("every further kind of target has a spec");
            for resource in spec.resources {
                t.resources.insert(resource.id, resource.resource);
            }
            output = spec.output;
            parameters = spec.parameters;
            (spec.arn, spec.role.map(|(_, s)| s).unwrap_or_default())
        }
    };
    let dead_letters = consumer.dead_letter_queue.as_ref().map(|_| {
        let dlq = t.add_queue(
            QueueKey::rule_dead_letters(&consumer.name),
            dead_letter_queue(false),
        );
        statements.push(json!({ "Sid": "DeadLetterWhatItCannotDeliver", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": get_att(&dlq, "Arn") }));
        get_att(&dlq, "Arn")
    });
    let role = t.add(
        &format!("{} delivery role", consumer.name),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": infra::delivery_trust_policy(),
                "Policies": [{ "PolicyName": "delivery", "PolicyDocument": { "Version": "2012-10-17", "Statement": statements } }]
            }
        }),
    );
    // The output names the role the subscriber delivers with (another account's bus policy
    // names it).
    if let Some((name, description, _)) = output {
        let value = get_att(&role, "Arn");
        t.outputs
            .insert(name, json!({ "Description": description, "Value": value }));
    }
    let mut subscriber = json!({
        "Type": "AWS::EventsV2::Subscriber",
        "Properties": infra::subscriber(consumer)
    });
    let properties = &mut subscriber["Properties"];
    properties["EventBusArn"] = bus.arn.clone();
    let invoke = properties["InvokeConfiguration"]
        .as_object_mut()
        .expect("an invoke configuration is an object");
    invoke.insert("TargetArn".into(), target_arn);
    invoke.insert("RoleArn".into(), get_att(&role, "Arn"));
    invoke.extend(parameters);
    if let Some(arn) = dead_letters {
        properties["OnFailureConfiguration"] = json!({ "Arn": arn });
    }
    let id = t.add(&format!("{} subscriber", consumer.name), subscriber);
    t.subscribers.insert(consumer.name.clone(), id);
}

/// The delivery role's statement for its queue or function.
fn deliver(action: &str, arn: &Value) -> Value {
    json!({ "Sid": "DeliverToItsTarget", "Effect": "Allow", "Action": action, "Resource": arn })
}

/// Lets exactly one rule send to a queue.
pub(super) fn queue_policy(queue_id: &str, rule_arn: &Value) -> Value {
    json!({
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [reference(queue_id)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "OnlyItsRule",
                    "Effect": "Allow",
                    "Principal": { "Service": "events.amazonaws.com" },
                    "Action": "sqs:SendMessage",
                    "Resource": get_att(queue_id, "Arn"),
                    "Condition": { "ArnEquals": { "aws:SourceArn": rule_arn } }
                }]
            }
        }
    })
}
