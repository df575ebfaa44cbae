//! The `consumers` section: the events each consumer takes, its target and its pattern's
//! syntax (what the pattern can match is judged after planning, in [`super::patterns`]).

use std::collections::{BTreeMap, BTreeSet};

use super::names;
use super::{Checker, EventFacts};
use crate::config::{Config, Target};
use crate::diag::{Diagnostic, suggestion};
use crate::path;
use crate::plan::naming;
use crate::yaml_index::Path;

impl Checker {
    pub(super) fn consumers(&mut self, config: &Config, events: &BTreeMap<&str, EventFacts>) {
        let mut queues: BTreeMap<&str, Path> = BTreeMap::new();
        for (name, consumer) in &config.consumers {
            let path = path!["consumers", name];
            self.name(path.clone(), "consumer name", name, names::config_name);
            if name == outbox_stack::DEAD_LETTERS {
                self.error(
                    path.clone(),
                    format!(
                        "`{name}` is the route the stacks give dead-lettered events (rule `{}`)",
                        naming::rule(&config.service, name)
                    ),
                )
                .hint = Some("choose another consumer name".into());
            }
            let rule = naming::rule(&config.service, name);
            if let Err(why) = names::rule(&rule) {
                self.error(
                    path.clone(),
                    format!("its EventBridge rule would be named `{rule}`, which {why}"),
                )
                .hint = Some(
                    "shorten the service or consumer name, using letters, digits, `.`, `_` and `-`"
                        .into(),
                );
            }
            if consumer.events.is_empty() {
                self.error(path.key("events"), "list the events this consumer receives");
            }
            let mut seen = BTreeSet::new();
            let mut fields: BTreeSet<&str> = BTreeSet::new();
            for (i, event) in consumer.events.iter().enumerate() {
                let item = path.key("events").index(i);
                if !seen.insert(event) {
                    self.error(item.clone(), format!("`{event}` is listed twice"));
                }
                match events.get(event.as_str()) {
                    Some(facts) => fields.extend(facts.fields.iter().map(String::as_str)),
                    None => {
                        let message = format!(
                            "unknown event `{event}`{}",
                            suggestion(event, events.keys().copied())
                        );
                        let declared: Vec<&str> = events.keys().copied().collect();
                        self.error(item, message).hint =
                            Some(format!("declared events: {}", declared.join(", ")));
                    }
                }
            }
            if let Some(pattern) = &consumer.pattern {
                let known_events = consumer
                    .events
                    .iter()
                    .all(|e| events.contains_key(e.as_str()));
                self.pattern(
                    &path.key("pattern"),
                    pattern,
                    known_events.then_some(&fields),
                );
            }
            match &consumer.target {
                further @ (Target::Sns(_)
                | Target::StepFunctions(_)
                | Target::Kinesis(_)
                | Target::Firehose(_)
                | Target::ApiDestination(_)
                | Target::Logs(_)
                | Target::EventBus(_)) => {
                    self.further_target(&path.key("target"), &config.service, name, further);
                }
                Target::Lambda(lambda) => {
                    self.name(
                        path.key("target").key("lambda").key("function"),
                        "function",
                        &lambda.function,
                        names::lambda_function,
                    );
                }
                Target::Sqs(sqs) => {
                    let queue_path = path.key("target").key("sqs").key("queue");
                    self.name(queue_path.clone(), "queue name", &sqs.queue, names::queue);
                    if sqs.queue == outbox_stack::dead_letter_queue(&config.service) {
                        self.error(
                            queue_path.clone(),
                            format!("queue `{}` is where dead-lettered events go", sqs.queue),
                        )
                        .hint = Some("give the consumer a queue of its own".into());
                    }
                    if let Some(first) = queues.get(sqs.queue.as_str()) {
                        let message =
                            format!("queue `{}` is already the target of {first}", sqs.queue);
                        self.error(queue_path, message).hint =
                            Some("a consumer owns its queue; give each consumer its own".into());
                    } else {
                        queues.insert(&sqs.queue, path.clone());
                    }
                }
            }
            if let Some(input) = &consumer.input {
                self.input(&path.key("input"), input);
            }
            if consumer.retry.maximum_attempts > 185 {
                self.error(
                    path.key("retry").key("maximum-attempts"),
                    format!(
                        "{} is more than EventBridge allows (0 to 185)",
                        consumer.retry.maximum_attempts
                    ),
                );
            }
            if !(60..=86_400).contains(&consumer.retry.maximum_event_age) {
                self.error(
                    path.key("retry").key("maximum-event-age"),
                    format!(
                        "{} seconds is outside what EventBridge allows (60 to 86400)",
                        consumer.retry.maximum_event_age
                    ),
                );
            }
        }
    }

    /// Checks the shape EventBridge requires of a content pattern (every value is an array or
    /// an object) and that its top-level fields are fields of the consumer's events.
    pub(super) fn pattern(
        &mut self,
        path: &Path,
        pattern: &serde_json::Value,
        fields: Option<&BTreeSet<&str>>,
    ) {
        let serde_json::Value::Object(map) = pattern else {
            self.error(
                path.clone(),
                "a pattern is a mapping from detail fields to lists of values",
            )
            .hint = Some("for example `pattern: { status: [SHIPPED] }`".into());
            return;
        };
        if map.is_empty() {
            self.out.push(
                Diagnostic::warning(
                    path.clone(),
                    "an empty pattern matches every event of the consumer's events",
                )
                .hint("leave `pattern` out, or add a condition"),
            );
        }
        for (key, value) in map {
            if key != "$or"
                && let Some(fields) = fields
                && !fields.contains(key.as_str())
            {
                let message = format!(
                    "`{key}` is not a detail field of the consumer's events, so the rule would never match{}",
                    suggestion(key, fields.iter().copied())
                );
                let listed: Vec<&str> = fields.iter().copied().collect();
                self.error(path.key(key), message).hint =
                    Some(format!("detail fields: {}", listed.join(", ")));
            }
            self.pattern_value(&path.key(key), key, value);
        }
    }

    pub(super) fn pattern_value(&mut self, path: &Path, key: &str, value: &serde_json::Value) {
        match value {
            serde_json::Value::Array(items) if key == "$or" => {
                if items.len() < 2 {
                    self.error(path.clone(), "`$or` needs at least two alternatives");
                }
                for (i, item) in items.iter().enumerate() {
                    if let serde_json::Value::Object(map) = item {
                        for (k, v) in map {
                            self.pattern_value(&path.index(i).key(k), k, v);
                        }
                    } else {
                        self.error(path.index(i), "each `$or` alternative is a mapping");
                    }
                }
            }
            serde_json::Value::Array(items) if items.is_empty() => {
                self.error(path.clone(), "an empty list matches nothing");
            }
            serde_json::Value::Array(_) => {}
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    self.pattern_value(&path.key(k), k, v);
                }
            }
            other => {
                self.error(
                    path.clone(),
                    format!("pattern values are lists: write `[{other}]`, not `{other}`"),
                )
                .hint = Some("EventBridge matches a field against a list of values".into());
            }
        }
    }
}
