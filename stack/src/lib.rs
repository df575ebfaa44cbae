//! `outbox-stack`: what the generator tells a relay about the stack it belongs to, defined
//! once for both sides. The generator builds a [`LocalStack`] from its plan and writes it into
//! the relay crate (`src/local_stack.json`); the relay's local tools (`relay dev`,
//! `relay poll`) read it back into the same types. Names that a deployed stack and the relay
//! must spell alike (the poison-record source, which the relay's IAM policy allows) are
//! functions here.

use serde::{Deserialize, Serialize};

pub mod input;

/// The `DetailType` of the events a relay dead-letters instead of publishing (poison records and
/// drifted events): where the record is and why, never its contents.
pub const POISON_DETAIL_TYPE: &str = "Outbox Poison Record";

/// The consumer name of the route the stacks give dead-lettered events: a rule matching
/// [`POISON_DETAIL_TYPE`] from [`poison_source`] to the queue [`dead_letter_queue`].
pub const DEAD_LETTERS: &str = "dead-letters";

/// The queue dead-lettered events of `service` end up in.
pub fn dead_letter_queue(service: &str) -> String {
    format!("{service}-{DEAD_LETTERS}")
}

/// The `source` of the poison-record events a relay puts on the bus
/// (`poison-policy: dead-letter`). The stacks allow the relay to put exactly its events'
/// sources and this one.
pub fn poison_source(service: &str) -> String {
    format!("{service}.outbox")
}

/// The stack `relay dev` stands up on a local endpoint and `relay poll` reads: the tables with
/// their streams, the bus, the consumers' rules with a queue each, the event source mapping's
/// settings and the relay's failure destination. Names are the deployed stacks' where they
/// have one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalStack {
    /// Who wrote it (`@generated ... DO NOT EDIT`).
    #[serde(rename = "$comment", default)]
    pub comment: String,
    /// The bus name (or ARN of an existing bus).
    pub bus: String,
    /// The bus is the new Custom Event Bus: `relay dev` stands it up in process (a fake with
    /// subscribers delivering to the consumers' queues), since moto has none.
    #[serde(default)]
    pub custom_bus: bool,
    /// The archive of the service's events on a Classic bus (`relay replay` reads it).
    #[serde(default)]
    pub archive: Option<Archive>,
    /// The tables the relay reads.
    pub tables: Vec<Table>,
    /// The event source mapping's settings.
    pub streams: StreamSettings,
    /// The name of the relay's on-failure destination queue.
    pub failure_queue: String,
    /// The consumers, each with a queue.
    pub consumers: Vec<Consumer>,
}

impl LocalStack {
    /// Reads the description the generator wrote.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The description as the generator writes it (pretty JSON, a final newline).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("the stack serializes");
        text.push('\n');
        text
    }

    /// The bus name (the name part of an ARN).
    pub fn bus_name(&self) -> &str {
        match self.bus.split_once(":event-busv2/") {
            Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
            None => self.bus.rsplit('/').next().unwrap_or(&self.bus),
        }
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// An archive of events on a Classic bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Archive {
    /// Its name.
    pub name: String,
    /// Which events it keeps.
    pub pattern: serde_json::Value,
    /// Days it keeps them.
    pub retention_days: u32,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Partition key.
    pub partition_key: Key,
    /// Sort key.
    pub sort_key: Option<Key>,
    /// `StreamViewType`.
    pub stream: String,
    /// The event source mapping's `FilterCriteria` patterns (none: no filtering).
    #[serde(default)]
    pub filters: Vec<serde_json::Value>,
}

/// A key attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// Attribute name.
    pub name: String,
    /// `S`, `N` or `B`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The event source mapping's settings, as deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamSettings {
    /// `TRIM_HORIZON` or `LATEST`.
    pub starting_position: String,
    /// Records per invocation.
    pub batch_size: usize,
    /// Seconds to gather a batch.
    pub batching_window: u64,
    /// Retries of a failed batch before it goes to the failure destination.
    pub maximum_retry_attempts: u32,
    /// Oldest record (seconds) still retried.
    pub maximum_record_age: u64,
}

/// A consumer: its rule and the queue that receives (or stands in for) its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Consumer {
    /// Consumer name.
    pub name: String,
    /// The rule's name.
    pub rule_name: String,
    /// The rule's event pattern.
    pub pattern: serde_json::Value,
    /// The queue (its own SQS queue, or the local stand-in for its target).
    pub queue: String,
    /// What the queue stands in for (`lambda NAME`), if it is not the consumer's own queue.
    pub stands_in_for: Option<String>,
    /// Delivered in order per event group (a FIFO subscriber).
    #[serde(default)]
    pub ordered: bool,
    /// What its target receives instead of the whole event (`relay dev` shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<input::Input>,
    /// The queue its rule or subscriber records what it could not deliver in (on a Custom
    /// Event Bus, `relay redrive --subscriber` reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_stack_reads_back_the_same() {
        let stack = LocalStack {
            comment: "@generated".into(),
            bus: "arn:aws:events:eu-west-1:123456789012:event-bus/shop".into(),
            custom_bus: false,
            archive: None,
            tables: vec![Table {
                name: "t".into(),
                partition_key: Key {
                    name: "pk".into(),
                    kind: "S".into(),
                },
                sort_key: None,
                stream: "NEW_AND_OLD_IMAGES".into(),
                filters: vec![serde_json::json!({ "eventName": ["INSERT"] })],
            }],
            streams: StreamSettings {
                starting_position: "TRIM_HORIZON".into(),
                batch_size: 100,
                batching_window: 1,
                maximum_retry_attempts: 10,
                maximum_record_age: 86_400,
            },
            failure_queue: "shop-relay-failures".into(),
            consumers: vec![Consumer {
                name: "c".into(),
                rule_name: "shop-c".into(),
                pattern: serde_json::json!({ "source": ["shop"] }),
                queue: "c-local".into(),
                stands_in_for: Some("lambda c".into()),
                ordered: false,
                input: Some(input::Input::Detail),
                dead_letter_queue: Some("shop-c-dlq".into()),
            }],
        };
        assert_eq!(LocalStack::parse(&stack.to_json()).unwrap(), stack);
        assert_eq!(stack.bus_name(), "shop");
        assert!(LocalStack::parse(r#"{"bus": "b", "extra": 1}"#).is_err());
    }
}
