//! Stage 2, `validate`: every problem of a parsed config at once, each at its field path.
//! Names AWS would reject, references to things that do not exist, mappings that read
//! attributes the entity does not have, and conditions that can never hold.

mod deployment;
mod targets;

use std::collections::{BTreeMap, BTreeSet};

use crate::attrs::{Attributes, ImagePath, LookupError, Shape};
use crate::config::{
    AttributeType, BusKind, Config, DynamoType, Event, FieldSpec, Image, JsonType, Operation,
    StreamView, Table, Target, When,
};
use crate::diag::{Diagnostic, suggestion};
use crate::names;
use crate::path;
use crate::yaml_index::Path;

/// Checks a parsed config; returns every error and warning.
pub fn validate(config: &Config) -> Vec<Diagnostic> {
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

    fn table(&mut self, path: &Path, table: &Table) {
        if let Some(arn) = &table.existing_stream {
            let name = match path.0.last() {
                Some(crate::yaml_index::Segment::Key(name)) => name.clone(),
                _ => String::new(),
            };
            if let Err(why) = names::stream_arn(arn, &name) {
                self.error(path.key("existing-stream"), format!("`{arn}` {why}"));
            }
        }
        if let Some(global) = &table.global {
            self.global_table(&path.key("global"), table, global);
        }
        if let Some(sort) = &table.keys.sort
            && sort.name == table.keys.partition.name
        {
            self.error(
                path.key("keys").key("sort"),
                "the sort key must differ from the partition key",
            );
        }
        for (entity_name, entity) in &table.entities {
            let entity_path = path.key("entities").key(entity_name);
            let attributes = Attributes::new(table, entity);
            for (attribute, test) in &entity.matches {
                let match_path = entity_path.key("match").key(attribute);
                if test.prefix.is_some() == test.equals.is_some() {
                    self.error(
                        match_path.clone(),
                        "give exactly one of `prefix` or `equals`",
                    );
                }
                match attributes.lookup(std::slice::from_ref(attribute)) {
                    Ok(shape) if shape.dynamo_type() != DynamoType::S => {
                        self.error(
                            match_path,
                            format!(
                                "`{attribute}` is of type {}; items can only be matched on strings",
                                shape.dynamo_type().as_str()
                            ),
                        );
                    }
                    Ok(_) => {}
                    Err(e) => self.lookup_error(match_path, &e),
                }
            }
            for (name, attribute) in &entity.attributes {
                let attribute_path = entity_path.key("attributes").key(name);
                if attributes.is_key(name) {
                    self.error(
                        attribute_path.clone(),
                        format!("`{name}` is a key attribute; keys are declared under `keys`"),
                    );
                }
                self.attribute_type(attribute_path, attribute);
            }
        }
        if let Some(outbox) = &table.outbox {
            let outbox_path = path.key("outbox");
            if !table.entities.is_empty() {
                self.error(
                    path.key("entities"),
                    "an outbox table has no entities: its rows are events",
                )
                .hint = Some("put entities in their own table, or drop `outbox`".into());
            }
            if outbox.type_attribute == outbox.payload_attribute {
                self.error(
                    outbox_path.key("payload-attribute"),
                    "the payload attribute must differ from the type attribute",
                );
            }
            if table.stream == StreamView::KeysOnly || table.stream == StreamView::OldImage {
                self.error(
                    path.key("stream"),
                    format!(
                        "an outbox table's stream must carry the new image, not {}",
                        table.stream.as_str()
                    ),
                )
                .hint = Some("use `stream: NEW_IMAGE` or `NEW_AND_OLD_IMAGES`".into());
            }
        }
    }

    fn attribute_type(&mut self, path: Path, attribute: &AttributeType) {
        let spec = &attribute.0;
        let t = spec.dynamo_type;
        let misplaced = [
            ("attributes", spec.attributes.is_some(), DynamoType::M),
            ("items", spec.items.is_some(), DynamoType::L),
            ("enum", spec.allowed.is_some(), DynamoType::S),
            ("format", spec.format.is_some(), DynamoType::S),
        ];
        for (field, present, only) in misplaced {
            if present && t != only {
                self.error(
                    path.key(field),
                    format!(
                        "`{field}` applies to type {}, not {}",
                        only.as_str(),
                        t.as_str()
                    ),
                );
            }
        }
        if spec.allowed.as_ref().is_some_and(Vec::is_empty) {
            self.error(path.key("enum"), "an empty `enum` allows no value at all");
        }
        for (name, nested) in spec.attributes.iter().flatten() {
            self.attribute_type(path.key("attributes").key(name), nested);
        }
        if let Some(items) = &spec.items {
            self.attribute_type(path.key("items"), items);
        }
    }

    /// Checks one event; returns the names of its detail fields.
    fn event(&mut self, path: &Path, name: &str, table: &Table, event: &Event) -> BTreeSet<String> {
        self.name(path.clone(), "event name", name, names::config_name);
        self.name(path.key("source"), "source", &event.source, names::source);
        match &event.detail_type {
            Some(detail_type) => self.name(
                path.key("detail-type"),
                "detail-type",
                detail_type,
                names::detail_type,
            ),
            None => self.name(
                path.clone(),
                "event name (the default detail-type)",
                name,
                names::detail_type,
            ),
        }
        if event.schema_version == 0 {
            self.error(path.key("schema-version"), "schema versions start at 1");
        }
        let mut seen = BTreeSet::new();
        for (i, op) in event.on.iter().enumerate() {
            if !seen.insert(op) {
                self.error(
                    path.key("on").index(i),
                    format!("{} is listed twice", op.as_str()),
                );
            }
        }
        if table.outbox.is_some() {
            self.outbox_event(path, event)
        } else {
            self.entity_event(path, table, event)
        }
    }

    fn outbox_event(&mut self, path: &Path, event: &Event) -> BTreeSet<String> {
        let not_here = [
            ("entity", event.entity.is_some()),
            ("when", event.when.is_some()),
            ("detail", !event.detail.is_empty()),
            ("rest", event.rest.is_some()),
            ("redact", !event.redact.is_empty()),
        ];
        for (field, present) in not_here {
            if present {
                self.error(
                    path.key(field),
                    format!("`{field}` does not apply to events of an outbox table"),
                )
                .hint = Some(
                    "an outbox row's payload is the event's detail; describe it under `payload`"
                        .into(),
                );
            }
        }
        if event.on.iter().any(|op| *op != Operation::Insert) {
            self.error(
                path.key("on"),
                "outbox rows are published when they are inserted: `on` can only be [INSERT]",
            )
            .hint = Some("leave `on` out".into());
        }
        for (name, attribute) in &event.payload {
            self.attribute_type(path.key("payload").key(name), attribute);
        }
        event.payload.keys().cloned().collect()
    }

    fn entity_event(&mut self, path: &Path, table: &Table, event: &Event) -> BTreeSet<String> {
        for (field, present) in [
            ("outbox-type", event.outbox_type.is_some()),
            ("payload", !event.payload.is_empty()),
        ] {
            if present {
                self.error(
                    path.key(field),
                    format!("`{field}` applies only to events of an outbox table"),
                );
            }
        }
        let Some(entity_name) = &event.entity else {
            let known: Vec<&str> = table.entities.keys().map(String::as_str).collect();
            let message = if known.is_empty() {
                "the table declares no entities, so the event cannot say which items it reads"
            } else {
                "missing `entity`: which items of the table produce this event?"
            };
            self.error(path.clone(), message).hint = Some(if known.is_empty() {
                "declare the table's items under `entities` (or make it an outbox table with `outbox`)".into()
            } else {
                format!("add `entity: {}`", known.join("` or `entity: "))
            });
            return BTreeSet::new();
        };
        let Some(entity) = table.entities.get(entity_name) else {
            let known = table.entities.keys().map(String::as_str);
            let elsewhere = self.entity_tables.get(entity_name).cloned();
            let message = match &elsewhere {
                Some(tables) => format!(
                    "unknown entity `{entity_name}`: this table does not declare it, table `{}` does",
                    tables.join("` and table `")
                ),
                None => format!(
                    "unknown entity `{entity_name}`{}",
                    suggestion(entity_name, known)
                ),
            };
            let diagnostic = self.error(path.key("entity"), message);
            if let Some(tables) = elsewhere {
                diagnostic.hint = Some(format!(
                    "an event reads the stream of the table it is declared under: move the event under `tables.{}.events`, or declare the entity in this table",
                    tables[0]
                ));
            }
            return BTreeSet::new();
        };
        let attributes = Attributes::new(table, entity);
        if event.on.is_empty() {
            self.error(
                path.key("on"),
                "say which stream operations produce this event",
            )
            .hint = Some(
                "for example `on: [INSERT]`, `on: [MODIFY]` or `on: [INSERT, MODIFY, REMOVE]`"
                    .into(),
            );
        }
        let context = EventContext {
            table,
            entity,
            attributes,
            ops: &event.on,
        };
        if let Some(when) = &event.when {
            self.when(&path.key("when"), &context, when, entity);
        }
        let redacted: BTreeSet<&str> = event.redact.iter().map(String::as_str).collect();
        for (i, name) in event.redact.iter().enumerate() {
            if let Err(e) = attributes.lookup(std::slice::from_ref(name)) {
                self.lookup_error(path.key("redact").index(i), &e);
            }
        }
        let mut fields: BTreeSet<String> = BTreeSet::new();
        for (field_name, field) in &event.detail {
            let field_path = path.key("detail").key(field_name);
            self.name(
                field_path.clone(),
                "field name",
                field_name,
                names::config_name,
            );
            fields.insert(field_name.clone());
            self.field(&field_path, &context, &field.0, &redacted);
        }
        if let Some(rest) = &event.rest {
            let rest_path = path.key("rest");
            self.image(&rest_path.key("from"), &context, rest.from);
            for (i, name) in rest.except.iter().enumerate() {
                if let Err(e) = attributes.lookup(std::slice::from_ref(name)) {
                    self.lookup_error(rest_path.key("except").index(i), &e);
                }
            }
            let redacted: BTreeSet<String> = event.redact.iter().cloned().collect();
            let left_out = crate::plan::detail::rest_except(event, rest.from, &redacted);
            for name in attributes.names() {
                if !left_out.contains(name) {
                    fields.insert(name.to_owned());
                }
            }
        }
        if event.detail.is_empty() && event.rest.is_none() {
            self.error(
                path.clone(),
                "the event has an empty detail: declare `detail` fields or `rest`",
            );
        }
        fields
    }

    /// Checks that the event's operations and the table's stream carry `image`.
    fn image(&mut self, path: &Path, context: &EventContext, image: Image) {
        if !context.table.stream.carries(image) {
            self.error(
                path.clone(),
                format!(
                    "reads `{}`, but the table's stream is {}",
                    image.as_str(),
                    context.table.stream.as_str()
                ),
            )
            .hint = Some("set the table's `stream: NEW_AND_OLD_IMAGES`".into());
        } else if !context.ops.is_empty() && context.ops.iter().all(|op| !op.has_image(image)) {
            let ops: Vec<&str> = context.ops.iter().map(|op| op.as_str()).collect();
            self.error(
                path.clone(),
                format!(
                    "reads `{}`, but {} records have no {} image, so this can never hold",
                    image.as_str(),
                    ops.join("/"),
                    image.as_str()
                ),
            )
            .hint = Some(match image {
                Image::Old => {
                    "INSERT records only have `new`; use `new.` or add MODIFY/REMOVE to `on`".into()
                }
                Image::New => {
                    "REMOVE and EXPIRE records only have `old`; use `old.` or add INSERT/MODIFY to `on`".into()
                }
            });
        }
    }

    /// Parses and resolves an image path; reports problems at `path`.
    fn image_path<'a>(
        &mut self,
        path: &Path,
        context: &EventContext<'a>,
        text: &str,
    ) -> Option<(ImagePath, Shape<'a>)> {
        let image_path = match ImagePath::parse(text) {
            Ok(p) => p,
            Err(why) => {
                self.error(path.clone(), why);
                return None;
            }
        };
        self.image(path, context, image_path.image);
        match context.attributes.lookup(&image_path.segments) {
            Ok(shape) => Some((image_path, shape)),
            Err(e) => {
                self.lookup_error(path.clone(), &e);
                if let (LookupError::Unknown { name, .. }, [attribute]) =
                    (&e, image_path.segments.as_slice())
                    && name == attribute
                {
                    let owners: Vec<&str> = context
                        .table
                        .entities
                        .iter()
                        .filter(|(_, other)| other.attributes.contains_key(name))
                        .map(|(owner, _)| owner.as_str())
                        .collect();
                    if let (Some(diagnostic), false) = (self.out.last_mut(), owners.is_empty()) {
                        diagnostic.hint = Some(format!(
                            "`{name}` is an attribute of entity `{}` in this table, not of the event's entity: read it from an event of that entity, or declare it under this entity's `attributes`",
                            owners.join("` and `")
                        ));
                    }
                }
                None
            }
        }
    }

    fn lookup_error(&mut self, path: Path, error: &LookupError) {
        match error {
            LookupError::Unknown { name, known } => {
                let message = format!(
                    "unknown attribute `{name}`{}",
                    suggestion(name, known.iter().map(String::as_str))
                );
                let hint = if known.is_empty() {
                    "declare the map's keys under `attributes` to read into it".to_owned()
                } else {
                    format!(
                        "declared here: {}; declare new attributes under the entity's `attributes`",
                        known.join(", ")
                    )
                };
                self.error(path, message).hint = Some(hint);
            }
            LookupError::NotAMap { name, dynamo_type } => {
                self.error(
                    path,
                    format!(
                        "`{name}` is of type {}, not a map: the path cannot go into it",
                        dynamo_type.as_str()
                    ),
                );
            }
        }
    }

    fn when(
        &mut self,
        path: &Path,
        context: &EventContext,
        when: &When,
        entity: &crate::config::Entity,
    ) {
        for (i, name) in when.changed.iter().enumerate() {
            let item = path.key("changed").index(i);
            if context.attributes.is_key(name) {
                self.error(item.clone(), format!("`{name}` is a key attribute; keys never change in a MODIFY, so this can never hold"));
                continue;
            }
            if let Err(e) = context.attributes.lookup(std::slice::from_ref(name)) {
                self.lookup_error(item.clone(), &e);
            }
            if !context.ops.is_empty() && !context.ops.contains(&Operation::Modify) {
                self.error(item.clone(), "only MODIFY records have both images; with these operations `changed` can never hold")
                    .hint = Some("add MODIFY to `on`".into());
            }
            if context.table.stream != StreamView::NewAndOldImages {
                self.error(
                    item,
                    format!(
                        "`changed` compares both images, but the table's stream is {}",
                        context.table.stream.as_str()
                    ),
                )
                .hint = Some("set the table's `stream: NEW_AND_OLD_IMAGES`".into());
            }
        }
        for (text, value) in &when.equals {
            let item = path.key("equals").key(text);
            let Some((image_path, shape)) = self.image_path(&item, context, text) else {
                continue;
            };
            let expected = shape.dynamo_type();
            let fits = match value {
                serde_json::Value::String(s) => {
                    expected == DynamoType::S
                        && match shape {
                            Shape::Attribute(spec) => spec
                                .allowed
                                .as_ref()
                                .is_none_or(|allowed| allowed.contains(s)),
                            _ => true,
                        }
                }
                serde_json::Value::Number(_) => expected == DynamoType::N,
                serde_json::Value::Bool(_) => expected == DynamoType::Bool,
                serde_json::Value::Null => expected == DynamoType::Null,
                _ => false,
            };
            if !fits {
                self.error(
                    item.clone(),
                    format!(
                        "`{text}` is of type {}{}; it can never equal {value}",
                        expected.as_str(),
                        enum_note(shape)
                    ),
                );
            }
            if let (Some(attribute), serde_json::Value::String(s)) = (image_path.attribute(), value)
                && image_path.segments.len() == 1
                && let Some(test) = entity.matches.get(attribute)
                && !match_allows(test, s)
            {
                self.error(item.clone(), format!("the entity only has items whose `{attribute}` {}, so it can never equal {value}", describe_match(test)));
            }
            if when.absent.iter().any(|a| a == text) {
                self.error(
                    item,
                    format!("`{text}` is also required to be absent, so this can never hold"),
                );
            }
        }
        for (text, prefix) in &when.prefix {
            let item = path.key("prefix").key(text);
            let Some((image_path, shape)) = self.image_path(&item, context, text) else {
                continue;
            };
            if shape.dynamo_type() != DynamoType::S {
                self.error(
                    item.clone(),
                    format!(
                        "`{text}` is of type {}; only strings have a prefix",
                        shape.dynamo_type().as_str()
                    ),
                );
            }
            if let Some(attribute) = image_path.attribute()
                && image_path.segments.len() == 1
                && let Some(entity_prefix) = entity
                    .matches
                    .get(attribute)
                    .and_then(|m| m.prefix.as_ref())
                && !prefix.starts_with(entity_prefix.as_str())
                && !entity_prefix.starts_with(prefix.as_str())
            {
                self.error(item, format!("the entity only has items whose `{attribute}` starts with `{entity_prefix}`, so it can never start with `{prefix}`"));
            }
        }
        for (list, name) in [(&when.exists, "exists"), (&when.absent, "absent")] {
            for (i, text) in list.iter().enumerate() {
                let item = path.key(name).index(i);
                let Some((image_path, _)) = self.image_path(&item, context, text) else {
                    continue;
                };
                if image_path.segments.is_empty() {
                    self.error(item.clone(), "name an attribute, not the whole item");
                }
                if name == "absent"
                    && image_path
                        .attribute()
                        .is_some_and(|a| context.attributes.is_key(a))
                    && image_path.segments.len() == 1
                {
                    self.error(
                        item.clone(),
                        format!(
                            "key attributes are always present, so `{text}` can never be absent"
                        ),
                    );
                }
                if name == "exists" && when.absent.contains(text) {
                    self.error(
                        item,
                        format!(
                            "`{text}` is required to exist and to be absent, so this can never hold"
                        ),
                    );
                }
            }
        }
    }

    /// Checks one detail field; returns the top-level attribute it takes, if any.
    fn field(
        &mut self,
        path: &Path,
        context: &EventContext,
        field: &FieldSpec,
        redacted: &BTreeSet<&str>,
    ) {
        if field.from.is_some() == field.constant.is_some() {
            self.error(path.clone(), "give exactly one of `from` or `const`")
                .hint = Some(
                "`from: new.<attribute>` copies an attribute, `const: <value>` sets a fixed value"
                    .into(),
            );
            return;
        }
        if let Some(constant) = &field.constant {
            for (name, present) in [
                ("strip-prefix", field.strip_prefix.is_some()),
                ("except", !field.except.is_empty()),
            ] {
                if present {
                    self.error(
                        path.key(name),
                        format!("`{name}` does not apply to a constant"),
                    );
                }
            }
            if let Some(json_type) = field.json_type
                && !constant_fits(constant, json_type)
            {
                self.error(
                    path.key("const"),
                    format!("{constant} is not of type {}", json_type.as_str()),
                );
            }
            return;
        }
        let from = field.from.as_deref().unwrap_or_default();
        let Some((image_path, shape)) = self.image_path(&path.key("from"), context, from) else {
            return;
        };
        let dynamo_type = shape.dynamo_type();
        if let Some(attribute) = image_path.attribute()
            && redacted.contains(attribute)
        {
            self.error(
                path.key("from"),
                format!("`{attribute}` is redacted for this event and must not leave the table"),
            )
            .hint = Some(format!(
                "remove this field, or remove `{attribute}` from `redact`"
            ));
        }
        if let (Some(strip), [attribute]) = (&field.strip_prefix, image_path.segments.as_slice())
            && let Some(test) = context.entity.matches.get(attribute)
        {
            let never = match (&test.prefix, &test.equals) {
                (Some(prefix), _) => {
                    !prefix.starts_with(strip.as_str()) && !strip.starts_with(prefix.as_str())
                }
                (_, Some(value)) => !value.starts_with(strip.as_str()),
                _ => false,
            };
            if never {
                self.error(
                    path.key("strip-prefix"),
                    format!(
                        "the entity only has items whose `{attribute}` {}, so `{strip}` can never be stripped from it: every record of this event would fail",
                        describe_match(test)
                    ),
                )
                .hint = Some(match (&test.prefix, &test.equals) {
                    (Some(prefix), _) => format!("strip the prefix the entity matches on: `strip-prefix: \"{prefix}\"`"),
                    _ => "the value is always the same: leave `strip-prefix` out, or use `const`".into(),
                });
            }
        }
        let missing: Vec<&str> = context
            .ops
            .iter()
            .filter(|op| !op.has_image(image_path.image))
            .map(|op| op.as_str())
            .collect();
        if field.required == Some(true)
            && !image_path.segments.is_empty()
            && !missing.is_empty()
            && missing.len() < context.ops.len()
        {
            self.error(
                path.key("required"),
                format!(
                    "{} records have no {} image, so `{from}` is never on them and a required field would fail every one of them",
                    missing.join("/"),
                    image_path.image.as_str()
                ),
            )
            .hint = Some(format!(
                "leave `required` out: the field is then optional, and absent from the events of {} records",
                missing.join("/")
            ));
        }
        if field.strip_prefix.is_some() && dynamo_type != DynamoType::S {
            self.error(
                path.key("strip-prefix"),
                format!(
                    "`{from}` is of type {}; only strings have a prefix to strip",
                    dynamo_type.as_str()
                ),
            );
        }
        if !field.except.is_empty() {
            if dynamo_type != DynamoType::M {
                self.error(
                    path.key("except"),
                    format!(
                        "`except` leaves attributes out of a map, but `{from}` is of type {}",
                        dynamo_type.as_str()
                    ),
                );
            } else {
                for (i, name) in field.except.iter().enumerate() {
                    let mut segments = image_path.segments.clone();
                    segments.push(name.clone());
                    if let Err(e) = context.attributes.lookup(&segments)
                        && !matches!(&e, LookupError::Unknown { known, .. } if known.is_empty())
                    {
                        self.lookup_error(path.key("except").index(i), &e);
                    }
                }
            }
        }
        if let Some(json_type) = field.json_type
            && !convertible(dynamo_type, json_type)
        {
            self.error(path.key("type"), format!("`{from}` is of type {}, which cannot be converted to {}", dynamo_type.as_str(), json_type.as_str()))
                .hint = Some("S converts to string/number/integer/boolean, N to number/integer/string, BOOL to boolean/string".into());
        }
    }

    fn consumers(&mut self, config: &Config, events: &BTreeMap<&str, EventFacts>) {
        let mut queues: BTreeMap<&str, Path> = BTreeMap::new();
        for (name, consumer) in &config.consumers {
            let path = path!["consumers", name];
            self.name(path.clone(), "consumer name", name, names::config_name);
            if name == outbox_stack::DEAD_LETTERS {
                self.error(
                    path.clone(),
                    format!("`{name}` is the route the stacks give dead-lettered events (rule `{}-{name}`)", config.service),
                )
                .hint = Some("choose another consumer name".into());
            }
            let rule = format!("{}-{}", config.service, name);
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
    fn pattern(
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

    fn pattern_value(&mut self, path: &Path, key: &str, value: &serde_json::Value) {
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

/// Whether a DynamoDB value of type `from` can be converted to `to`.
fn convertible(from: DynamoType, to: JsonType) -> bool {
    matches!(
        (from, to),
        (DynamoType::S, _)
            | (
                DynamoType::N,
                JsonType::Number | JsonType::Integer | JsonType::String
            )
            | (DynamoType::Bool, JsonType::Boolean | JsonType::String)
            | (DynamoType::B, JsonType::String)
    )
}

fn constant_fits(value: &serde_json::Value, json_type: JsonType) -> bool {
    match json_type {
        JsonType::String => value.is_string(),
        JsonType::Number => value.is_number(),
        JsonType::Integer => value.is_i64() || value.is_u64(),
        JsonType::Boolean => value.is_boolean(),
    }
}
