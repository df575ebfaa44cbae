//! `asyncapi.json`: an AsyncAPI 3 document of the bus: one channel and message per event
//! (payload: the event's envelope schema), the relay as sender, every consumer as receiver.

use serde_json::{Map, json};

use super::Files;
use crate::ident::Scope;
use crate::plan::Plan;

/// Where the document is written.
pub const PATH: &str = "asyncapi.json";

/// Renders the document into `files`.
pub fn render(plan: &Plan, files: &mut Files) {
    let mut keys = Scope::default();
    let mut channels = Map::new();
    let mut messages = Map::new();
    let mut operations = Map::new();
    let mut event_keys = std::collections::BTreeMap::new();
    for event in &plan.events {
        let key = keys.snake(&event.name).trim_start_matches("r#").to_owned();
        event_keys.insert(event.name.clone(), key.clone());
        let mut detail = event.detail.schema.clone();
        if let Some(object) = detail.as_object_mut() {
            object.remove("description");
        }
        messages.insert(
            key.clone(),
            json!({
                "name": event.name,
                "title": event.name,
                "summary": event.description.clone().unwrap_or_else(|| format!("The {} event.", event.name)),
                "contentType": "application/json",
                "payload": {
                    "type": "object",
                    "required": ["source", "detail-type", "detail"],
                    "properties": {
                        "id": { "type": "string", "description": "EventBridge's id of this delivery" },
                        "time": { "type": "string", "format": "date-time" },
                        "resources": { "type": "array", "items": { "type": "string" }, "description": "resources[0] is the outbox event id (urn:outbox:event:...), stable across redeliveries" },
                        "source": { "const": event.source },
                        "detail-type": { "const": event.detail_type },
                        "detail": detail
                    }
                },
                "x-outbox-schema-version": event.schema_version
            }),
        );
        channels.insert(
            key.clone(),
            json!({
                "address": format!("{}/{}/{}", plan.bus.name, event.source, event.detail_type),
                "description": format!("{} events (source {}, detail-type {}) on the {} bus.", event.name, event.source, event.detail_type, plan.bus.name),
                "messages": { key.clone(): { "$ref": format!("#/components/messages/{key}") } }
            }),
        );
        operations.insert(
            format!("publish_{key}"),
            json!({
                "action": "send",
                "summary": format!("The relay publishes {} from the table's stream.", event.name),
                "channel": { "$ref": format!("#/channels/{key}") },
                "messages": [{ "$ref": format!("#/channels/{key}/messages/{key}") }]
            }),
        );
    }
    let mut consumer_keys = Scope::default();
    for consumer in &plan.consumers {
        let consumer_key = consumer_keys
            .snake(&consumer.name)
            .trim_start_matches("r#")
            .to_owned();
        for event in &consumer.events {
            let Some(key) = event_keys.get(event) else {
                continue;
            };
            let mut operation = json!({
                "action": "receive",
                "summary": format!("{} ({} {}) receives {event} through rule {}.", consumer.name, consumer.target.kind(), consumer.target.name(), consumer.rule),
                "channel": { "$ref": format!("#/channels/{key}") },
                "messages": [{ "$ref": format!("#/channels/{key}/messages/{key}") }]
            });
            if let Some(pattern) = &consumer.pattern {
                operation["x-eventbridge-detail-pattern"] = pattern.clone();
            }
            operations.insert(format!("{consumer_key}_receives_{key}"), operation);
        }
    }
    let document = json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": format!("{} events", plan.service),
            "version": "1.0.0",
            "description": format!("{} The domain events of {} on the EventBridge bus {}.", crate::generated_by(Some(&plan.config_file)), plan.service, plan.bus.name)
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": { "messages": messages }
    });
    let mut text = serde_json::to_string_pretty(&document).expect("JSON values serialize");
    text.push('\n');
    files.insert(PATH.into(), text);
}
