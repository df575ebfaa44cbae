//! Stage 2, `check`: every problem of a config at once, each at its field path. Names AWS
//! would reject ([`names`]), references to things that do not exist, mappings that read
//! attributes the entity does not have, and conditions that can never hold; after planning,
//! patterns no event can match ([`patterns`]) and paths no event has ([`event_paths`]).
//! (Checking *events* against their schemas is [`crate::validate`].)

mod consumers;
mod deployment;
pub mod event_paths;
mod events;
mod fields;
pub mod names;
pub mod patterns;
mod tables;
mod targets;

use std::collections::{BTreeMap, BTreeSet};

use crate::attrs::{Attributes, ImagePath, LookupError, Shape};
use crate::config::{
    BusKind, Config, DynamoType, Event, Image, JsonType, Operation, Table, Target,
};
use crate::diag::{Diagnostic, suggestion};
use crate::path;
use crate::yaml_index::Path;

/// Checks a parsed config; returns every error and warning.
pub fn config(config: &Config) -> Vec<Diagnostic> {
    let mut checker = Checker::default();
    checker.config(config);
    checker.out
}

#[derive(Default)]
struct Checker {
    out: Vec<Diagnostic>,
    /// Every entity name, with the tables that declare it (for "declared in table ..." hints).
    entity_tables: BTreeMap<String, Vec<String>>,
}

/// Everything the consumer checks need to know about one event.
struct EventFacts {
    path: Path,
    fields: BTreeSet<String>,
}

impl Checker {
    fn error(&mut self, path: Path, message: impl Into<String>) -> &mut Diagnostic {
        self.out.push(Diagnostic::error(path, message));
        self.out.last_mut().expect("just pushed")
    }

    fn name(&mut self, path: Path, what: &str, name: &str, rule: fn(&str) -> Result<(), String>) {
        if let Err(why) = rule(name) {
            self.error(path, format!("{what} `{name}` {why}"));
        }
    }

    fn config(&mut self, config: &Config) {
        self.name(
            path!["service"],
            "service name",
            &config.service,
            names::service,
        );
        match (&config.bus.name, &config.bus.existing) {
            (Some(name), None) => self.name(path!["bus", "name"], "bus name", name, names::bus),
            // A Custom Event Bus's ARN, or one given as Classic: `bus_kind` says what is wrong.
            (None, Some(existing))
                if config.bus.kind == BusKind::Custom || existing.contains(":event-busv2/") => {}
            (None, Some(existing)) => self.name(
                path!["bus", "existing"],
                "bus",
                existing,
                names::existing_bus,
            ),
            _ => {
                self.error(path!["bus"], "give exactly one of `name` or `existing`")
                    .hint = Some(
                    "`name` for a bus the stack creates, `existing` for one that exists".into(),
                );
            }
        }
        self.bus_kind(config);
        if config.tables.is_empty() {
            self.error(path!["tables"], "declare at least one table");
        }
        let mut events: BTreeMap<&str, EventFacts> = BTreeMap::new();
        let mut routes: BTreeMap<(&str, String), Path> = BTreeMap::new();
        for (table_name, table) in &config.tables {
            for entity in table.entities.keys() {
                self.entity_tables
                    .entry(entity.clone())
                    .or_default()
                    .push(table_name.clone());
            }
        }
        for (table_name, table) in &config.tables {
            let table_path = path!["tables", table_name];
            self.name(table_path.clone(), "table name", table_name, names::table);
            self.table(&table_path, table);
            for (event_name, event) in &table.events {
                let event_path = table_path.key("events").key(event_name);
                let fields = self.event(&event_path, event_name, table, event);
                let detail_type = event
                    .detail_type
                    .clone()
                    .unwrap_or_else(|| event_name.clone());
                if let Some(first) = routes.get(&(event.source.as_str(), detail_type.clone())) {
                    let message = format!(
                        "source `{}` and detail-type `{detail_type}` are already used by {first}",
                        event.source
                    );
                    self.error(event_path.clone(), message).hint =
                        Some("give each event its own detail-type, so consumers and schemas can tell them apart".into());
                } else {
                    routes.insert((event.source.as_str(), detail_type), event_path.clone());
                }
                if let Some(first) = events.get(event_name.as_str()) {
                    let message =
                        format!("event `{event_name}` is already declared at {}", first.path);
                    self.error(event_path.clone(), message).hint =
                        Some("event names are global: rename one of them".into());
                } else {
                    events.insert(
                        event_name,
                        EventFacts {
                            path: event_path,
                            fields,
                        },
                    );
                }
            }
        }
        self.consumers(config, &events);
        self.relay_settings(&config.relay);
        self.alarms(&config.alarms, &config.relay);
    }

    fn relay_settings(&mut self, relay: &crate::config::RelaySettings) {
        let ranges = [
            ("batch-size", relay.batch_size, 1, 10_000),
            ("batching-window", relay.batching_window, 0, 300),
            (
                "parallelization-factor",
                relay.parallelization_factor,
                1,
                10,
            ),
            (
                "maximum-retry-attempts",
                relay.maximum_retry_attempts,
                0,
                10_000,
            ),
            ("maximum-record-age", relay.maximum_record_age, 60, 604_800),
            ("memory", relay.memory, 128, 10_240),
            ("timeout", relay.timeout, 1, 900),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                self.error(
                    path!["relay", field],
                    format!("{value} is outside what AWS Lambda allows ({min} to {max})"),
                );
            }
        }
        let publishing = [
            ("max-in-flight", relay.max_in_flight, 1_000),
            (
                "max-entries-per-second",
                relay.max_entries_per_second,
                1_000_000,
            ),
        ];
        for (field, value, max) in publishing {
            if let Some(value) = value.filter(|v| !(1..=max).contains(v)) {
                self.error(
                    path!["relay", field],
                    format!("{value} is outside what the relay takes (1 to {max})"),
                )
                .hint = Some("leave it out for the default, or give a value in range".into());
            }
        }
        self.log_retention(path!["relay", "log-retention"], relay.log_retention);
        self.package_name(&relay.package);
    }

    /// The relay crate's package name: one Cargo accepts, and not one of its dependencies'.
    fn package_name(&mut self, name: &str) {
        let valid = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            self.error(
                path!["relay", "package"],
                format!("`{name}` is not a Cargo package name"),
            )
            .hint = Some(
                "use ASCII letters, digits, `-` and `_`, starting with a letter, e.g. `orders-relay`"
                    .into(),
            );
        } else if ["outbox-runtime", "outbox-ops", "serde"].contains(&name) {
            self.error(
                path!["relay", "package"],
                format!("`{name}` is a dependency of the relay crate"),
            )
            .hint = Some("name it after the service, e.g. `orders-relay`".into());
        }
    }

    /// A number of days CloudWatch Logs can keep logs.
    fn log_retention(&mut self, path: Path, days: u32) {
        if !names::LOG_RETENTION_DAYS.contains(&days) {
            let nearest = names::LOG_RETENTION_DAYS
                .iter()
                .min_by_key(|d| d.abs_diff(days))
                .copied()
                .unwrap_or(30);
            self.error(
                path,
                format!("CloudWatch Logs cannot keep logs {days} days"),
            )
            .hint = Some(format!("the nearest allowed value is {nearest}"));
        }
    }
}

/// What checks inside one event need to know.
struct EventContext<'a> {
    table: &'a Table,
    entity: &'a crate::config::Entity,
    attributes: Attributes<'a>,
    ops: &'a [Operation],
}

fn enum_note(shape: Shape) -> String {
    match shape {
        Shape::Attribute(spec) => spec
            .allowed
            .as_ref()
            .map(|allowed| format!(" with values {}", allowed.join(", ")))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn match_allows(test: &crate::config::Match, value: &str) -> bool {
    test.prefix
        .as_ref()
        .is_none_or(|p| value.starts_with(p.as_str()))
        && test.equals.as_ref().is_none_or(|e| e == value)
}

fn describe_match(test: &crate::config::Match) -> String {
    match (&test.prefix, &test.equals) {
        (Some(prefix), _) => format!("starts with `{prefix}`"),
        (_, Some(equals)) => format!("is `{equals}`"),
        _ => String::new(),
    }
}

fn constant_fits(value: &serde_json::Value, json_type: JsonType) -> bool {
    match json_type {
        JsonType::String => value.is_string(),
        JsonType::Number => value.is_number(),
        JsonType::Integer => value.is_i64() || value.is_u64(),
        JsonType::Boolean => value.is_boolean(),
    }
}
