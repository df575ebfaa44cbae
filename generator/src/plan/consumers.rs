//! Consumers' rules: the route of dead-lettered events, and each rule's event pattern.

use serde_json::{Value, json};

use super::{ConsumerPlan, EventPlan, InputPlan, TargetPlan, naming};

/// The route the stacks give dead-lettered events (poison records, drifted events): a rule on
/// their source and detail-type to the queue `<service>-dead-letters`, so none is lost on the
/// bus.
pub(super) fn dead_letter_route(service: &str, poison_source: &str) -> ConsumerPlan {
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

/// A rule's event pattern: the sources and detail-types of the events it wants, plus its
/// content pattern under `detail`.
pub(super) fn rule_pattern(
    events: &[EventPlan],
    wanted: &[String],
    content: Option<&Value>,
) -> Value {
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
