//! Stage 3, `plan`: a validated config resolved into what the renderers need: final AWS names,
//! the detail-type of every event, the JSON type of every field, and who receives what.

use serde::Serialize;

use crate::attrs::{Attributes, ImagePath, Shape};
use crate::config::{Config, DynamoType, Event, FieldSpec, Table, Target, When};

/// Everything the renderers need, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The service (stack) name.
    pub service: String,
    /// The config file's name, as shown in generated files (no directories).
    pub config_file: String,
    /// The event bus.
    pub bus: BusPlan,
    /// The tables, by name.
    pub tables: Vec<TablePlan>,
    /// Every event, by table then name.
    pub events: Vec<EventPlan>,
    /// Every consumer, by name.
    pub consumers: Vec<ConsumerPlan>,
    /// The relay's mappings, resolved to Rust.
    pub relay: crate::codegen::RelayPlan,
    /// Every event's contract (schemas).
    pub contracts: Vec<crate::contract::EventContract>,
    /// How the relay runs.
    pub settings: crate::config::RelaySettings,
}

/// The event bus.
#[derive(Debug, Clone, Serialize)]
pub struct BusPlan {
    /// Its name or ARN.
    pub name: String,
    /// Whether the stack creates it.
    pub created: bool,
}

/// A table.
#[derive(Debug, Clone, Serialize)]
pub struct TablePlan {
    /// Table name.
    pub name: String,
    /// Partition key name.
    pub partition_key: String,
    /// Sort key name.
    pub sort_key: Option<String>,
    /// `StreamViewType`.
    pub stream: &'static str,
    /// Whether it is an explicit outbox table.
    pub outbox: bool,
    /// Partition key type (`S`, `N`, `B`).
    pub partition_type: &'static str,
    /// The stream ARN of an existing table (the stack does not create it).
    pub existing_stream: Option<String>,
    /// Point-in-time recovery.
    pub point_in_time_recovery: bool,
    /// Deletion protection.
    pub deletion_protection: bool,
    /// Sort key type.
    pub sort_type: Option<&'static str>,
    /// Lambda event-filter patterns (DynamoDB stream record shape) that pass every record an
    /// event of this table may want; empty: no filtering.
    pub filters: Vec<serde_json::Value>,
}

/// A domain event.
#[derive(Debug, Clone, Serialize)]
pub struct EventPlan {
    /// Event name.
    pub name: String,
    /// The table it comes from.
    pub table: String,
    /// What selects its records, in words (`INSERT of user items`).
    pub trigger: String,
    /// Its conditions, in words.
    pub conditions: Vec<String>,
    /// EventBridge `Source`.
    pub source: String,
    /// EventBridge `DetailType`.
    pub detail_type: String,
    /// Schema version.
    pub schema_version: u32,
    /// Description.
    pub description: Option<String>,
    /// The detail's fields.
    pub fields: Vec<FieldPlan>,
    /// The rest of the image, if copied: `new.* except pk, sk`.
    pub rest: Option<String>,
    /// Attributes that never leave the table.
    pub redacted: Vec<String>,
}

/// A detail field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldPlan {
    /// Field name.
    pub name: String,
    /// Where it comes from, in words.
    pub origin: String,
    /// Its JSON type.
    pub json_type: &'static str,
    /// Whether every event has it.
    pub required: bool,
}

/// A consumer.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerPlan {
    /// Consumer name.
    pub name: String,
    /// EventBridge rule name.
    pub rule: String,
    /// The events it receives.
    pub events: Vec<String>,
    /// Its content pattern, as JSON.
    pub pattern: Option<String>,
    /// `lambda` or `sqs`.
    pub target_kind: &'static str,
    /// Function name/ARN or queue name.
    pub target: String,
    /// Dead-letter queue name, if any.
    pub dead_letter_queue: Option<String>,
    /// EventBridge retry attempts.
    pub maximum_attempts: u32,
    /// EventBridge maximum event age, seconds.
    pub maximum_event_age: u32,
    /// Description.
    pub description: Option<String>,
}

/// Resolves a config that [`crate::validate::validate`] accepted.
pub fn plan(config: &Config, config_file: &str) -> Plan {
    let bus = match (&config.bus.name, &config.bus.existing) {
        (Some(name), _) => BusPlan {
            name: name.clone(),
            created: true,
        },
        (None, existing) => BusPlan {
            name: existing.clone().unwrap_or_default(),
            created: false,
        },
    };
    let tables = config
        .tables
        .iter()
        .map(|(name, table)| TablePlan {
            name: name.clone(),
            partition_key: table.keys.partition.name.clone(),
            sort_key: table.keys.sort.as_ref().map(|k| k.name.clone()),
            stream: table.stream.as_str(),
            outbox: table.outbox.is_some(),
            partition_type: key_type(table.keys.partition.key_type),
            existing_stream: table.existing_stream.clone(),
            point_in_time_recovery: table.point_in_time_recovery,
            deletion_protection: table.deletion_protection,
            sort_type: table.keys.sort.as_ref().map(|k| key_type(k.key_type)),
            filters: stream_filters(table),
        })
        .collect();
    let events = config
        .tables
        .iter()
        .flat_map(|(table_name, table)| {
            table
                .events
                .iter()
                .map(move |(name, event)| event_plan(table_name, table, name, event))
        })
        .collect();
    let consumers = config
        .consumers
        .iter()
        .map(|(name, consumer)| {
            let rule = format!("{}-{}", config.service, name);
            let (target_kind, target) = match &consumer.target {
                Target::Lambda(lambda) => ("lambda", lambda.function.clone()),
                Target::Sqs(sqs) => ("sqs", sqs.queue.clone()),
            };
            ConsumerPlan {
                dead_letter_queue: consumer.dead_letter_queue.then(|| format!("{rule}-dlq")),
                rule,
                name: name.clone(),
                events: consumer.events.clone(),
                pattern: consumer.pattern.as_ref().map(|p| p.to_string()),
                target_kind,
                target,
                maximum_attempts: consumer.retry.maximum_attempts,
                maximum_event_age: consumer.retry.maximum_event_age,
                description: consumer.description.clone(),
            }
        })
        .collect();
    let contracts = crate::contract::contracts(config);
    Plan {
        relay: crate::codegen::relay_plan(config, &contracts),
        contracts,
        settings: config.relay.clone(),
        service: config.service.clone(),
        config_file: config_file.to_owned(),
        bus,
        tables,
        events,
        consumers,
    }
}

fn key_type(key_type: crate::config::KeyType) -> &'static str {
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
fn stream_filters(table: &Table) -> Vec<serde_json::Value> {
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
                let ops: Vec<&str> = event.on.iter().map(|op| op.as_str()).collect();
                let mut filter = json!({ "eventName": ops });
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
    let mut unique: Vec<serde_json::Value> = Vec::new();
    for filter in filters {
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

fn event_plan(table_name: &str, table: &Table, name: &str, event: &Event) -> EventPlan {
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
    let (trigger, fields, rest) = match &table.outbox {
        Some(outbox) => {
            let selector = event.outbox_type.as_deref().unwrap_or(name);
            let trigger = format!(
                "{} of a row with {} = `{selector}`",
                ops("INSERT"),
                outbox.type_attribute
            );
            let fields = event
                .payload
                .iter()
                .map(|(field, attribute)| FieldPlan {
                    name: field.clone(),
                    origin: format!("{}.{field}", outbox.payload_attribute),
                    json_type: json_type_of(attribute.0.dynamo_type),
                    required: attribute.0.required,
                })
                .collect();
            (trigger, fields, None)
        }
        None => {
            let entity_name = event.entity.clone().unwrap_or_default();
            let trigger = format!("{} of an item of entity `{entity_name}`", ops(""));
            let attributes = table
                .entities
                .get(&entity_name)
                .map(|entity| Attributes::new(table, entity));
            let fields = event
                .detail
                .iter()
                .map(|(field, spec)| field_plan(field, &spec.0, attributes.as_ref()))
                .collect();
            let rest = event.rest.as_ref().map(|rest| {
                let except = if rest.except.is_empty() {
                    String::new()
                } else {
                    format!(" except {}", rest.except.join(", "))
                };
                format!("every other attribute of `{}`{except}", rest.from.as_str())
            });
            (trigger, fields, rest)
        }
    };
    EventPlan {
        name: name.to_owned(),
        table: table_name.to_owned(),
        trigger,
        conditions: event.when.as_ref().map(describe_when).unwrap_or_default(),
        source: event.source.clone(),
        detail_type: event.detail_type.clone().unwrap_or_else(|| name.to_owned()),
        schema_version: event.schema_version,
        description: event.description.clone(),
        fields,
        rest,
        redacted: event.redact.clone(),
    }
}

fn field_plan(name: &str, spec: &FieldSpec, attributes: Option<&Attributes>) -> FieldPlan {
    if let Some(constant) = &spec.constant {
        let json_type = match constant {
            serde_json::Value::String(_) => "string",
            serde_json::Value::Number(_) => "number",
            serde_json::Value::Bool(_) => "boolean",
            serde_json::Value::Null => "null",
            serde_json::Value::Array(_) => "array",
            serde_json::Value::Object(_) => "object",
        };
        return FieldPlan {
            name: name.to_owned(),
            origin: format!("constant {constant}"),
            json_type,
            required: spec.required.unwrap_or(true),
        };
    }
    let from = spec.from.clone().unwrap_or_default();
    let image_path = ImagePath::parse(&from).ok();
    let shape = image_path
        .as_ref()
        .zip(attributes)
        .and_then(|(p, a)| a.lookup(&p.segments).ok());
    let json_type = match (spec.json_type, shape) {
        (Some(t), _) => t.as_str(),
        (None, Some(shape)) => json_type_of(shape.dynamo_type()),
        (None, None) => "string",
    };
    let declared_required = match shape {
        Some(Shape::Key(_) | Shape::Item) => true,
        Some(Shape::Attribute(spec)) => spec.required,
        None => false,
    };
    let mut origin = format!("`{from}`");
    if let Some(prefix) = &spec.strip_prefix {
        origin.push_str(&format!(" without the prefix `{prefix}`"));
    }
    if !spec.except.is_empty() {
        origin.push_str(&format!(" except {}", spec.except.join(", ")));
    }
    FieldPlan {
        name: name.to_owned(),
        origin,
        json_type,
        required: spec.required.unwrap_or(declared_required),
    }
}

/// The JSON type a DynamoDB value becomes in an event.
pub fn json_type_of(dynamo_type: DynamoType) -> &'static str {
    match dynamo_type {
        DynamoType::S | DynamoType::B => "string",
        DynamoType::N => "number",
        DynamoType::Bool => "boolean",
        DynamoType::Null => "null",
        DynamoType::StringSet | DynamoType::NumberSet | DynamoType::BinarySet | DynamoType::L => {
            "array"
        }
        DynamoType::M => "object",
    }
}

fn describe_when(when: &When) -> Vec<String> {
    let mut out = Vec::new();
    if !when.changed.is_empty() {
        out.push(format!("`{}` changed", when.changed.join("` or `")));
    }
    out.extend(
        when.equals
            .iter()
            .map(|(path, value)| format!("`{path}` = {value}")),
    );
    out.extend(
        when.prefix
            .iter()
            .map(|(path, prefix)| format!("`{path}` starts with `{prefix}`")),
    );
    out.extend(when.exists.iter().map(|path| format!("`{path}` exists")));
    out.extend(when.absent.iter().map(|path| format!("`{path}` is absent")));
    out
}
