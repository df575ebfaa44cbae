//! An event's page: its fields, an example, its producer and consumers, schema and history
//! (`templates/catalog/event.html.j2`).

use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use crate::plan::schema::Schema;

use super::{EventPlan, RenderError, Site, consumer_page, esc, esc_code, pretty, sample_event};

/// A row of the consumers table.
#[derive(Serialize)]
struct ConsumerRow {
    page: String,
    name: String,
    target: String,
    pattern: String,
    receives: String,
}

/// A row of the version history.
#[derive(Serialize)]
struct VersionRow {
    version: u64,
    current: bool,
    changes: String,
}

impl Site<'_> {
    pub(super) fn event_body(&self, event: &EventPlan) -> Result<String, RenderError> {
        let when = if event.described.is_empty() {
            String::new()
        } else {
            format!(" when {}", esc_code(&event.described.join(" and ")))
        };
        let mut facts: Vec<(&str, String)> = vec![
            ("Source", format!("<code>{}</code>", esc(&event.source))),
            (
                "Detail-type",
                format!("<code>{}</code>", esc(&event.detail_type)),
            ),
            ("Schema version", event.schema_version.to_string()),
            (
                "Published",
                format!(
                    "by the relay for every {} in table <code>{}</code>{when}",
                    esc_code(&event.trigger),
                    esc(&event.table)
                ),
            ),
            (
                "Bus",
                format!(
                    "<code>{}</code> ({})",
                    esc(&self.plan.bus.name),
                    if self.plan.bus.custom {
                        "Custom Event Bus"
                    } else {
                        "Classic"
                    }
                ),
            ),
            (
                "Event id",
                "the first of <code>resources</code> (<code>urn:outbox:event:&lt;record&gt;:&lt;event&gt;</code>): the same for every delivery, replay and redrive; deduplicate on it".into(),
            ),
        ];
        if event.snapshot {
            facts.push((
                "Snapshot",
                "<code>relay backfill</code> publishes it for every item the table holds".into(),
            ));
        }
        if !event.redacted.is_empty() {
            facts.push(("Never carries", esc(&event.redacted.join(", "))));
        }
        facts.push((
            "Schema files",
            format!(
                "<a href=\"../../schemas/{slug}.json\">schemas/{slug}.json</a> (JSON Schema), <a href=\"../../schemas/registry/{slug}.openapi.json\">registry/{slug}.openapi.json</a> (Schema Registry)",
                slug = esc(&event.slug)
            ),
        ));
        let schema = Schema::of(&event.detail.schema);
        let mut fields = Vec::new();
        field_rows(schema, "", &mut fields);
        for row in &mut fields {
            row.origin = event
                .detail
                .fields
                .iter()
                .chain(event.detail.rest.iter().flat_map(|rest| &rest.fields))
                .find(|f| f.name == row.path)
                .map(|f| esc_code(&f.origin))
                .unwrap_or_default();
            row.path = esc(&row.path);
            row.kind = esc(&row.kind);
        }
        let consumers: Vec<ConsumerRow> = self
            .consumers_of(event)
            .into_iter()
            .map(|consumer| ConsumerRow {
                page: consumer_page(consumer),
                name: esc(&consumer.name),
                target: Self::target(consumer),
                pattern: consumer
                    .pattern_text
                    .as_deref()
                    .map(|p| format!("<code>{}</code>", esc(p)))
                    .unwrap_or_else(|| "every event".into()),
                receives: esc_code(&consumer.input_text),
            })
            .collect();
        let history: Option<Vec<VersionRow>> =
            self.history.get(&event.name).map(|versions| {
                versions
                    .iter()
                    .rev()
                    .map(|version| {
                        let mut changes: Vec<String> = version
                            .breaking
                            .iter()
                            .map(|c| format!("<li class=\"breaking\">breaking: {}</li>", esc(c)))
                            .collect();
                        changes.extend(version.compatible.iter().map(|c| {
                            format!("<li class=\"compatible\">compatible: {}</li>", esc(c))
                        }));
                        VersionRow {
                            version: version.version,
                            current: version.current,
                            changes: if changes.is_empty() {
                                "the first version in the history".to_owned()
                            } else {
                                format!("<ul>{}</ul>", changes.join(""))
                            },
                        }
                    })
                    .collect()
            });
        self.render(
            "event",
            context! {
                name => esc(&event.name),
                version => event.schema_version,
                lead => esc(event.description.as_deref().unwrap_or("No description in outbox.yaml.")),
                facts => Value::from(Serde(&facts)),
                fields => Value::from(Serde(&fields)),
                open => !schema.closed(),
                example => esc(&pretty(&sample_event(event))),
                table => esc(&event.table),
                change => format!("{}{when}", esc_code(&event.trigger)),
                relay => esc(&self.plan.relay.name),
                consumers => Value::from(Serde(&consumers)),
                history => Value::from(Serde(&history)),
                schema => esc(&pretty(&crate::render::schemas::envelope(event, &self.plan.service))),
            },
        )
    }
}

/// A row of an event's field table (`path` and `kind` as the schema has them until the page
/// escapes them).
#[derive(Serialize)]
pub(super) struct Row {
    path: String,
    kind: String,
    required: bool,
    origin: String,
    notes: String,
}

/// Every field of a detail schema, nested ones as `parent.child` and list items as `list[]`.
pub(super) fn field_rows(schema: Schema, prefix: &str, rows: &mut Vec<Row>) {
    for (name, child) in schema.properties() {
        let path = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        };
        rows.push(Row {
            path: path.clone(),
            kind: kind(child),
            required: schema.requires(name),
            origin: String::new(),
            notes: notes(child),
        });
        field_rows(child, &path, rows);
        if let Some(items) = child.items() {
            field_rows(items, &format!("{path}[]"), rows);
        }
    }
}

pub(super) fn kind(schema: Schema) -> String {
    if schema.constant().is_some() {
        return "constant".into();
    }
    match schema.single_type() {
        Some("array") => match schema.items().map(kind) {
            Some(item) => format!("list of {item}"),
            None => "list".into(),
        },
        Some(t) if schema.encoded() => format!("{t} (base64)"),
        Some(t) => t.to_owned(),
        None => "any".into(),
    }
}

pub(super) fn notes(schema: Schema) -> String {
    let mut notes = Vec::new();
    if let Some(value) = schema.constant() {
        notes.push(format!("always <code>{}</code>", esc(&value.to_string())));
    }
    if let Some(values) = schema.enum_values() {
        let values: Vec<String> = values
            .iter()
            .map(|v| {
                format!(
                    "<code>{}</code>",
                    esc(v
                        .as_str()
                        .map_or_else(|| v.to_string(), str::to_owned)
                        .as_str())
                )
            })
            .collect();
        notes.push(format!("one of {}", values.join(", ")));
    }
    if let Some(format) = schema.format() {
        notes.push(format!("format {}", esc(format)));
    }
    if schema.unique_items() {
        notes.push("a set (no duplicates)".into());
    }
    if let Some(description) = schema.description() {
        notes.push(esc(description));
    }
    notes.join("; ")
}
