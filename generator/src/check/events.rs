//! Each table's `events`: the operations and entity that select an event's records, the
//! images it reads, and what its mapping may look up.

use std::collections::BTreeSet;

use super::names;
use super::{Checker, EventContext};
use crate::attrs::{Attributes, ImagePath, LookupError, Shape};
use crate::config::{Event, Image, Operation, Table};
use crate::diag::suggestion;
use crate::yaml_index::Path;

impl Checker {
    /// Checks one event; returns the names of its detail fields.
    pub(super) fn event(
        &mut self,
        path: &Path,
        name: &str,
        table: &Table,
        event: &Event,
    ) -> BTreeSet<String> {
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

    pub(super) fn outbox_event(&mut self, path: &Path, event: &Event) -> BTreeSet<String> {
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

    pub(super) fn entity_event(
        &mut self,
        path: &Path,
        table: &Table,
        event: &Event,
    ) -> BTreeSet<String> {
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
    pub(super) fn image(&mut self, path: &Path, context: &EventContext, image: Image) {
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
    pub(super) fn image_path<'a>(
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

    pub(super) fn lookup_error(&mut self, path: Path, error: &LookupError) {
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
}
