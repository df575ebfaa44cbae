//! The names outbox gives what the stacks create, and what a name in outbox.yaml says about
//! what it names: each derived here once. The checks ask these (a rule name AWS would refuse
//! is an error before planning), the plan stores their results, the renderers read the plan.

/// Whether a target, bus or stream is given by ARN (it exists; the stack does not create it)
/// rather than by name.
pub fn is_arn(name_or_arn: &str) -> bool {
    name_or_arn.starts_with("arn:")
}

/// Whether a queue or topic name (or ARN) is a FIFO one.
pub fn is_fifo(queue_or_topic: &str) -> bool {
    queue_or_topic.ends_with(".fifo")
}

/// The EventBridge rule (or Custom Event Bus subscriber) of a consumer: `<service>-<consumer>`.
pub fn rule(service: &str, consumer: &str) -> String {
    format!("{service}-{consumer}")
}

/// The connection of an API destination the stack creates for a rule.
pub fn connection(rule: &str) -> String {
    format!("{rule}-connection")
}

/// The dead-letter queue of a rule's target.
pub fn dead_letter_queue(rule: &str) -> String {
    format!("{rule}-dlq")
}

/// The relay function of a service.
pub fn relay(service: &str) -> String {
    format!("{service}-relay")
}

/// A Lambda function's log group.
pub fn function_log_group(function: &str) -> String {
    format!("/aws/lambda/{function}")
}
