//! Each event: what selects its records, its source and detail-type, its detail.

use super::{Condition, EventPlan, GroupPlan, detail, select};
use crate::attrs::ImagePath;
use crate::config::{Event, GroupSpec, Table};
use crate::vocabulary::DriftPolicy;

pub(super) fn event_plan(
    table_name: &str,
    table: &Table,
    name: &str,
    event: &Event,
    drift: DriftPolicy,
) -> EventPlan {
    let ops = |default: &str| {
        if event.on.is_empty() {
            default.to_owned()
        } else {
            event
                .on
                .iter()
                .map(|op| op.as_str())
                .collect::<Vec<_>>()
                .join("/")
        }
    };
    let description = event.description.as_deref();
    let (trigger, mut conditions, detail) = match &table.outbox {
        Some(outbox) => {
            let selector = event.outbox_type.as_deref().unwrap_or(name);
            let trigger = format!(
                "{} of a row with {} = `{selector}`",
                ops("INSERT"),
                outbox.type_attribute
            );
            (
                trigger,
                select::outbox(outbox, name, event),
                detail::outbox(outbox, event, description),
            )
        }
        None => {
            let entity_name = event.entity.clone().unwrap_or_default();
            let trigger = format!("{} of an item of entity `{entity_name}`", ops(""));
            let conditions = table
                .entities
                .get(&entity_name)
                .map(|entity| select::entity(entity, event))
                .unwrap_or_default();
            (
                trigger,
                conditions,
                detail::entity(table, event, description),
            )
        }
    };
    if let Some(global) = &table.global {
        conditions.push(Condition::PublishedHere {
            home: global.publish_in.clone(),
            origin_attribute: global.origin_attribute.clone(),
        });
    }
    EventPlan {
        name: name.to_owned(),
        slug: crate::ident::id_slug(name),
        table: table_name.to_owned(),
        trigger,
        described: conditions.iter().filter_map(Condition::describe).collect(),
        conditions,
        source: event.source.clone(),
        detail_type: event.detail_type.clone().unwrap_or_else(|| name.to_owned()),
        schema_version: event.schema_version,
        description: event.description.clone(),
        detail,
        redacted: event.redact.clone(),
        drift: event.drift_policy.unwrap_or(drift),
        snapshot: event.snapshot,
        group: match &event.group {
            Some(GroupSpec::Const { value }) => GroupPlan::Const {
                value: value.clone(),
            },
            Some(GroupSpec::Path(path)) => GroupPlan::Path {
                path: ImagePath::validated(path),
            },
            None => GroupPlan::Key {
                attribute: table.keys.partition.name.clone(),
            },
        },
    }
}
