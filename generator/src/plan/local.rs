//! What `relay dev` stands up locally and `relay poll` reads.

use super::{BusPlan, ConsumerPlan, RelayPlan, TablePlan, TargetPlan};

/// What `relay dev` stands up locally and `relay poll` reads: the tables with their streams,
/// the bus, the consumers' rules with a queue each (a Lambda consumer is represented by a local
/// queue), the relay's stream settings and its failure destination. Names are the deployed
/// stacks' where they have one.
pub(super) fn local_stack(
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
                dead_letter_queue: c.dead_letter_queue.clone(),
            })
            .collect(),
    }
}
