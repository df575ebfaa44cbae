//! Each table's stream filters (Lambda event filtering) and key types.

use crate::config::Table;
use crate::vocabulary::Operation;

pub(super) fn key_type(key_type: crate::config::KeyType) -> &'static str {
    match key_type {
        crate::config::KeyType::S => "S",
        crate::config::KeyType::N => "N",
        crate::config::KeyType::B => "B",
    }
}

/// AWS allows this many filters per event source mapping.
pub const MAX_STREAM_FILTERS: usize = 5;

/// One filter per event, on what the stream record itself shows: the operation, the key
/// attributes the entity matches on, an outbox row's type. Conditions a filter cannot express
/// (`changed`, non-key attributes) are left to the relay, so the filters only ever let more
/// through, never less. More events than AWS allows filters: no filtering.
pub(super) fn stream_filters(table: &Table) -> Vec<serde_json::Value> {
    use serde_json::json;
    let filters: Vec<serde_json::Value> = table
        .events
        .iter()
        .map(|(name, event)| match &table.outbox {
            Some(outbox) => json!({
                "eventName": ["INSERT"],
                "dynamodb": { "NewImage": { outbox.type_attribute.clone(): { "S": [event.outbox_type.as_deref().unwrap_or(name)] } } }
            }),
            None => {
                let mut ops: Vec<&str> = Vec::new();
                for name in event.on.iter().map(|op| op.event_name()) {
                    if !ops.contains(&name) {
                        ops.push(name);
                    }
                }
                let mut filter = json!({ "eventName": ops });
                // TTL deletions are REMOVE records by the DynamoDB service: an event of only one
                // kind of removal lets only that kind through (records without removals have no
                // `userIdentity`).
                let has = |op| event.on.contains(&op);
                match (has(Operation::Remove), has(Operation::Expire)) {
                    (true, false) => {
                        filter["userIdentity"] = json!({ "type": [{ "exists": false }] });
                    }
                    (false, true) if !has(Operation::Insert) && !has(Operation::Modify) => {
                        filter["userIdentity"] = json!({
                            "type": ["Service"],
                            "principalId": ["dynamodb.amazonaws.com"]
                        });
                    }
                    _ => {}
                }
                let is_key = |a: &str| a == table.keys.partition.name || table.keys.sort.as_ref().is_some_and(|k| k.name == a);
                let mut keys = serde_json::Map::new();
                if let Some(entity) = event.entity.as_ref().and_then(|e| table.entities.get(e)) {
                    for (attribute, test) in entity.matches.iter().filter(|(a, _)| is_key(a)) {
                        let values = match (&test.prefix, &test.equals) {
                            (Some(prefix), _) => json!([{ "prefix": prefix }]),
                            (_, Some(equals)) => json!([equals]),
                            _ => continue,
                        };
                        keys.insert(attribute.clone(), json!({ "S": values }));
                    }
                }
                if !keys.is_empty() {
                    filter["dynamodb"] = json!({ "Keys": keys });
                }
                filter
            }
        })
        .collect();
    // A global table published from one region: the other regions' relays are never invoked.
    let home = table
        .global
        .as_ref()
        .filter(|g| g.origin_attribute.is_none())
        .map(|g| g.publish_in.clone());
    let mut unique: Vec<serde_json::Value> = Vec::new();
    for mut filter in filters {
        if let Some(home) = &home {
            filter["awsRegion"] = json!([home]);
        }
        if !unique.contains(&filter) {
            unique.push(filter);
        }
    }
    if unique.len() > MAX_STREAM_FILTERS {
        Vec::new()
    } else {
        unique
    }
}
