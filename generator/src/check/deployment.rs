//! The checks of what a config deploys beyond its tables and events: the bus's kind (a Custom
//! Event Bus: its name or ARN, retention, regions, ordered consumers, patterns without
//! wildcards, groups, points in time), snapshot forms, global tables and the alarms.

use super::*;
use crate::plan::naming;

/// Where a pattern uses a wildcard (`{ wildcard: ... }` or `{ anything-but: { wildcard: ... } }`).
fn wildcard(pattern: &serde_json::Value, path: &Path) -> Option<Path> {
    match pattern {
        serde_json::Value::Object(map) => map.iter().find_map(|(key, value)| {
            let here = path.key(key);
            if key == "wildcard" {
                Some(here)
            } else {
                wildcard(value, &here)
            }
        }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| wildcard(item, &path.index(i))),
        _ => None,
    }
}

impl Checker {
    /// A Custom Event Bus: a name it takes, retention, an existing one by its ARN; and the
    /// other way round.
    pub(super) fn bus_kind(&mut self, config: &Config) {
        let bus = &config.bus;
        let custom = bus.kind == BusKind::Custom;
        if let Some(existing) = &bus.existing {
            let v2 = existing.contains(":event-busv2/");
            if v2 && !custom {
                self.error(
                    path!["bus", "existing"],
                    "this is the ARN of a Custom Event Bus (the new kind), not a Classic one",
                )
                .hint = Some("add `kind: custom` to `bus`".into());
            } else if custom && let Err(why) = names::custom_bus_arn(existing) {
                self.error(path!["bus", "existing"], format!("`{existing}` {why}"))
                    .hint = Some(
                    "an existing Custom Event Bus is given by its ARN, whose last part AWS generates: copy it from `aws eventsv2 list-event-buses`".into(),
                );
            }
        }
        if custom && let Some(name) = &bus.name {
            self.name(path!["bus", "name"], "bus name", name, names::custom_bus);
        }
        // Regions the configuration names: the existing bus's, a global table's home.
        if custom {
            let mut regions = Vec::new();
            if let Some(region) = bus
                .existing
                .as_deref()
                .and_then(|arn| arn.split(':').nth(3))
            {
                regions.push((path!["bus", "existing"], region.to_owned()));
            }
            for (table_name, table) in &config.tables {
                if let Some(global) = &table.global {
                    regions.push((
                        path!["tables", table_name, "global", "publish-in"],
                        global.publish_in.clone(),
                    ));
                }
            }
            for (at, region) in regions {
                if names::region(&region).is_ok()
                    && !names::CUSTOM_BUS_REGIONS.contains(&region.as_str())
                {
                    self.error(
                        at,
                        format!("the Custom Event Bus is not available in {region}"),
                    )
                    .hint = Some(format!("it is in {}", names::CUSTOM_BUS_REGIONS.join(", ")));
                }
            }
        }
        if let Some(days) = bus.retention_days {
            if !custom || bus.name.is_none() {
                self.error(
                    path!["bus", "retention-days"],
                    "only a Custom Event Bus the stack creates has a retention to set",
                )
                .hint = Some(if custom {
                    "the existing bus keeps its own retention; leave `retention-days` out".into()
                } else {
                    "add `kind: custom`, or leave `retention-days` out".into()
                });
            } else if !(1..=365).contains(&days) {
                self.error(
                    path!["bus", "retention-days"],
                    format!("{days} days is outside what the bus allows (1 to 365)"),
                );
            }
        }
        for (table_name, table) in &config.tables {
            for (event_name, event) in &table.events {
                if event.snapshot {
                    self.snapshot(
                        &path!["tables", table_name, "events", event_name, "snapshot"],
                        table,
                        event,
                    );
                }
                let Some(group) = &event.group else {
                    continue;
                };
                let at = path!["tables", table_name, "events", event_name, "group"];
                if !custom {
                    self.out.push(
                        Diagnostic::warning(
                            at.clone(),
                            "a Classic bus has no event groups: `group` changes nothing",
                        )
                        .hint("set `kind: custom` on `bus`, or leave `group` out"),
                    );
                }
                if let crate::config::GroupSpec::Path(text) = group {
                    self.group_path(&at, table, event, text);
                }
            }
        }
        if custom && bus.archive_days.is_some() {
            self.error(
                path!["bus", "archive-days"],
                "a Custom Event Bus keeps events itself, without an archive",
            )
            .hint = Some("use `retention-days`, and `start-at` on a consumer to replay".into());
        }
        for (name, consumer) in &config.consumers {
            let path = path!["consumers", name];
            if custom {
                self.custom_bus_consumer(&path, consumer);
            } else {
                self.classic_bus_consumer(&path, consumer);
            }
            if let Some(start) = &consumer.start_at {
                if !custom {
                    self.error(
                        path.key("start-at"),
                        "only a Custom Event Bus's subscribers start at a point in time",
                    )
                    .hint = Some("on a Classic bus, `relay replay` sends a time range from the archive to one consumer".into());
                } else if crate::plan::StartAt::parse(start).is_none() {
                    self.error(
                        path.key("start-at"),
                        format!(
                            "`{start}` is neither `horizon` nor a time like `2026-12-01T00:00:00Z`"
                        ),
                    );
                }
            }
            if consumer.ordered && !custom {
                self.error(
                    path.key("ordered"),
                    "a Classic bus delivers in no order: only a Custom Event Bus has ordered consumers",
                )
                .hint = Some("set `kind: custom` on `bus` (EventBridge's new Custom Event Bus)".into());
            }
            if consumer.ordered
                && let Target::Sqs(sqs) = &consumer.target
                && !naming::is_fifo(&sqs.queue)
            {
                self.error(
                    path.key("target").key("sqs").key("queue"),
                    format!(
                        "an ordered consumer's queue must be FIFO, and `{}` is not",
                        sqs.queue
                    ),
                )
                .hint = Some(format!("name it `{}.fifo`", sqs.queue));
            }
            if custom
                && let Some(pattern) = &consumer.pattern
                && let Some(at) = wildcard(pattern, &path.key("pattern"))
            {
                self.error(
                    at,
                    "a Custom Event Bus's subscribers take no wildcards (`wildcard`, or `anything-but` with one)",
                )
                .hint = Some("use `prefix`, `suffix` or `equals-ignore-case`, or list the values".into());
            }
        }
    }

    /// A snapshot form: the event of an item as if just inserted, so the event must react to
    /// INSERT and read nothing but the new image.
    fn snapshot(&mut self, at: &Path, table: &Table, event: &Event) {
        let fix = "declare an event of its own for the snapshot (for example `OrderSnapshot`, on `[INSERT]`, reading `new.*`)";
        if table.outbox.is_some() {
            self.error(
                at.clone(),
                "an outbox table's rows are events already: they have no snapshot form",
            )
            .hint = Some("leave `snapshot` out".into());
            return;
        }
        if !event.on.contains(&Operation::Insert) {
            self.error(at.clone(), "a snapshot is the event of an item as if it had just been inserted, and this event does not react to INSERT")
                .hint = Some(fix.into());
        }
        let mut reads_old: Vec<String> = event
            .detail
            .iter()
            .filter(|(_, f)| {
                f.0.from
                    .as_deref()
                    .is_some_and(|p| p == "old" || p.starts_with("old."))
            })
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        if event.rest.as_ref().is_some_and(|r| r.from == Image::Old) {
            reads_old.push("`rest`".into());
        }
        if let Some(when) = &event.when {
            if !when.changed.is_empty() {
                reads_old.push("`when.changed`".into());
            }
            let paths = when
                .equals
                .keys()
                .chain(when.prefix.keys())
                .chain(&when.exists)
                .chain(&when.absent);
            reads_old.extend(
                paths
                    .filter(|p| p.starts_with("old"))
                    .map(|p| format!("`when` on `{p}`")),
            );
        }
        if !reads_old.is_empty() {
            self.error(
                at.clone(),
                format!(
                    "a snapshot has no old image, and this event reads it: {}",
                    reads_old.join(", ")
                ),
            )
            .hint = Some(fix.into());
        }
    }

    /// An event's group path: an image the event's records have, and a value that can name a
    /// group (a string, number or binary attribute the entity declares).
    fn group_path(&mut self, at: &Path, table: &Table, event: &Event, text: &str) {
        let path = match ImagePath::parse(text) {
            Ok(path) => path,
            Err(why) => {
                self.error(at.clone(), why);
                return;
            }
        };
        if path.segments.is_empty() {
            self.error(at.clone(), "a group is one value, not a whole image")
                .hint = Some("name an attribute, for example `new.customerId`".into());
            return;
        }
        let lacking = event.on.iter().find(|op| !op.has_image(path.image));
        if let Some(op) = lacking {
            self.error(
                at.clone(),
                format!("{} records have no {} image, so their events would have no group", op.as_str(), path.image.as_str()),
            )
            .hint = Some("read the group from an image every operation of `on` has (or the partition key, the default)".into());
        }
        let Some(entity) = event.entity.as_ref().and_then(|e| table.entities.get(e)) else {
            return;
        };
        match Attributes::new(table, entity).lookup(&path.segments) {
            Ok(shape)
                if matches!(
                    shape.dynamo_type(),
                    DynamoType::S | DynamoType::N | DynamoType::B
                ) => {}
            Ok(shape) => {
                self.error(
                    at.clone(),
                    format!(
                        "`{text}` is {}, which cannot name a group",
                        shape.dynamo_type().as_str()
                    ),
                )
                .hint = Some("group by a string, number or binary attribute".into());
            }
            Err(LookupError::Unknown { name, known }) => {
                self.error(
                    at.clone(),
                    format!(
                        "the entity has no attribute `{name}`{}",
                        suggestion(&name, known.iter().map(String::as_str))
                    ),
                );
            }
            Err(LookupError::NotAMap { name, .. }) => {
                self.error(at.clone(), format!("`{name}` is not a map"));
            }
        }
    }

    pub(super) fn alarms(
        &mut self,
        alarms: &crate::config::Alarms,
        relay: &crate::config::RelaySettings,
    ) {
        match (&alarms.topic, &alarms.existing_topic) {
            (Some(_), Some(_)) => {
                self.error(
                    path!["alarms"],
                    "give at most one of `topic` or `existing-topic`",
                )
                .hint = Some(
                    "`topic` names a topic the stack creates, `existing-topic` is the ARN of one that exists".into(),
                );
            }
            (Some(name), None) => {
                self.name(path!["alarms", "topic"], "topic name", name, names::topic);
            }
            (None, Some(arn)) => {
                self.name(
                    path!["alarms", "existing-topic"],
                    "topic",
                    arn,
                    names::existing_topic,
                );
            }
            (None, None) => {}
        }
        let (warn, page) = alarms.iterator_age.resolve(relay.maximum_record_age);
        let lost_at = crate::config::IteratorAge::lost_at(relay.maximum_record_age);
        if page >= lost_at {
            self.error(
                path!["alarms", "iterator-age", "page"],
                format!(
                    "{page} seconds is too late: records are lost at {lost_at} (the stream keeps them 24 hours, `relay.maximum-record-age` is {})",
                    relay.maximum_record_age
                ),
            )
            .hint = Some(format!(
                "page well before that, for example at {}",
                lost_at / 4
            ));
        }
        if warn == 0 || warn >= page {
            self.error(
                path!["alarms", "iterator-age", "warn"],
                format!(
                    "the warning ({warn} seconds) must come before the page ({page} seconds) and after 0"
                ),
            );
        }
        if alarms.put_events_throttles == 0 {
            self.error(
                path!["alarms", "put-events-throttles"],
                "0 would fire on every period",
            )
            .hint = Some("use 1 to hear of any throttling".into());
        }
    }

    pub(super) fn global_table(
        &mut self,
        path: &Path,
        table: &Table,
        global: &crate::config::GlobalTable,
    ) {
        self.name(
            path.key("publish-in"),
            "region",
            &global.publish_in,
            names::region,
        );
        let Some(attribute) = &global.origin_attribute else {
            return;
        };
        for (entity_name, entity) in &table.entities {
            let shape = Attributes::new(table, entity).lookup(std::slice::from_ref(attribute));
            let fix = format!(
                "declare `{attribute}: S` in entity `{entity_name}` (the application writes its region there on every write)"
            );
            match shape {
                Ok(shape) if shape.dynamo_type() == DynamoType::S => {}
                Ok(shape) => {
                    self.error(
                        path.key("origin-attribute"),
                        format!(
                            "`{attribute}` is {} in entity `{entity_name}`, not a string: it cannot hold a region",
                            shape.dynamo_type().as_str()
                        ),
                    )
                    .hint = Some(fix);
                }
                Err(_) => {
                    self.error(
                        path.key("origin-attribute"),
                        format!("entity `{entity_name}` does not declare `{attribute}`"),
                    )
                    .hint = Some(fix);
                }
            }
        }
    }
}
