//! An event's page: its fields, an example, its producer and consumers, schema and history.

use std::fmt::Write;

use crate::plan::schema::Schema;

use super::{EventPlan, Site, consumer_page, esc, esc_code, pretty, sample_event};

impl Site<'_> {
    pub(super) fn event_body(&self, event: &EventPlan) -> String {
        let mut body = String::new();
        writeln!(
            body,
            "<p><a href=\"../index.html#events\">Events</a> /</p>\n<h1>{}<span class=\"badge\">v{}</span></h1>\n<p class=\"lead\">{}</p>",
            esc(&event.name),
            event.schema_version,
            esc(event.description.as_deref().unwrap_or("No description in outbox.yaml."))
        )
        .unwrap();
        let when = if event.described.is_empty() {
            String::new()
        } else {
            format!(" when {}", esc_code(&event.described.join(" and ")))
        };
        writeln!(body, "<dl class=\"facts\">").unwrap();
        let mut fact = |name: &str, value: String| {
            writeln!(body, "<dt>{name}</dt><dd>{value}</dd>").unwrap();
        };
        fact("Source", format!("<code>{}</code>", esc(&event.source)));
        fact(
            "Detail-type",
            format!("<code>{}</code>", esc(&event.detail_type)),
        );
        fact("Schema version", event.schema_version.to_string());
        fact(
            "Published",
            format!(
                "by the relay for every {} in table <code>{}</code>{when}",
                esc_code(&event.trigger),
                esc(&event.table)
            ),
        );
        fact(
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
        );
        fact(
            "Event id",
            "the first of <code>resources</code> (<code>urn:outbox:event:&lt;record&gt;:&lt;event&gt;</code>): the same for every delivery, replay and redrive; deduplicate on it".into(),
        );
        if event.snapshot {
            fact(
                "Snapshot",
                "<code>relay backfill</code> publishes it for every item the table holds".into(),
            );
        }
        if !event.redacted.is_empty() {
            fact("Never carries", esc(&event.redacted.join(", ")));
        }
        fact(
            "Schema files",
            format!(
                "<a href=\"../../schemas/{slug}.json\">schemas/{slug}.json</a> (JSON Schema), <a href=\"../../schemas/registry/{slug}.openapi.json\">registry/{slug}.openapi.json</a> (Schema Registry)",
                slug = esc(&event.slug)
            ),
        );
        writeln!(body, "</dl>").unwrap();

        writeln!(body, "<h2 id=\"fields\">Fields</h2>\n<table>\n<thead><tr><th>Field</th><th>Type</th><th>Required</th><th>From</th><th>Notes</th></tr></thead>\n<tbody>").unwrap();
        let mut rows = Vec::new();
        fields(Schema::of(&event.detail.schema), "", &mut rows);
        for row in rows {
            let origin = event
                .detail
                .fields
                .iter()
                .chain(event.detail.rest.iter().flat_map(|rest| &rest.fields))
                .find(|f| f.name == row.path)
                .map(|f| esc_code(&f.origin))
                .unwrap_or_default();
            writeln!(
                body,
                "<tr><td><code>{}</code></td><td>{}</td><td{}>{}</td><td>{origin}</td><td>{}</td></tr>",
                esc(&row.path),
                esc(&row.kind),
                if row.required { " class=\"required\"" } else { "" },
                if row.required { "yes" } else { "no" },
                row.notes
            )
            .unwrap();
        }
        writeln!(body, "</tbody>\n</table>").unwrap();
        if !Schema::of(&event.detail.schema).closed() {
            writeln!(
                body,
                "<p>The detail is open: it may carry attributes beyond these.</p>"
            )
            .unwrap();
        }

        writeln!(body, "<h2 id=\"example\">Example</h2>\n<p>As a consumer receives it (a sample, every field filled in):</p>\n<pre>{}</pre>", esc(&pretty(&sample_event(event)))).unwrap();

        writeln!(body, "<h2 id=\"producers\">Producers</h2>\n<table>\n<thead><tr><th>Table</th><th>Change</th><th>Publisher</th></tr></thead>\n<tbody><tr><td><code>{}</code></td><td>{}{when}</td><td>the relay Lambda <code>{}</code> (DynamoDB Streams &rarr; EventBridge)</td></tr></tbody>\n</table>", esc(&event.table), esc_code(&event.trigger), esc(&self.plan.relay.name)).unwrap();

        writeln!(body, "<h2 id=\"consumers\">Consumers</h2>").unwrap();
        let consumers = self.consumers_of(event);
        if consumers.is_empty() {
            writeln!(body, "<p>No consumer receives it yet.</p>").unwrap();
        } else {
            writeln!(body, "<table>\n<thead><tr><th>Consumer</th><th>Target</th><th>Pattern on <code>detail</code></th><th>Receives</th></tr></thead>\n<tbody>").unwrap();
            for consumer in consumers {
                writeln!(
                    body,
                    "<tr><td><a href=\"../{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    consumer_page(consumer),
                    esc(&consumer.name),
                    Self::target(consumer),
                    consumer
                        .pattern_text
                        .as_deref()
                        .map(|p| format!("<code>{}</code>", esc(p)))
                        .unwrap_or_else(|| "every event".into()),
                    esc_code(&consumer.input_text)
                )
                .unwrap();
            }
            writeln!(body, "</tbody>\n</table>").unwrap();
        }

        writeln!(body, "<h2 id=\"history\">Version history</h2>").unwrap();
        match self.history.get(&event.name) {
            None => writeln!(body, "<p>Version {} is the first version (no earlier schema in the repository's history).</p>", event.schema_version).unwrap(),
            Some(versions) => {
                writeln!(body, "<table>\n<thead><tr><th>Version</th><th>Changes from the version before</th></tr></thead>\n<tbody>").unwrap();
                for version in versions.iter().rev() {
                    let mut changes: Vec<String> = version
                        .breaking
                        .iter()
                        .map(|c| format!("<li class=\"breaking\">breaking: {}</li>", esc(c)))
                        .collect();
                    changes.extend(version.compatible.iter().map(|c| format!("<li class=\"compatible\">compatible: {}</li>", esc(c))));
                    let changes = if changes.is_empty() {
                        "the first version in the history".to_owned()
                    } else {
                        format!("<ul>{}</ul>", changes.join(""))
                    };
                    writeln!(
                        body,
                        "<tr><td>v{}{}</td><td>{changes}</td></tr>",
                        version.version,
                        if version.current { " (current)" } else { "" }
                    )
                    .unwrap();
                }
                writeln!(body, "</tbody>\n</table>").unwrap();
            }
        }
        writeln!(
            body,
            "<h2 id=\"schema\">Schema</h2>\n<details><summary>The JSON Schema (draft 2020-12) of the envelope and detail</summary>\n<pre>{}</pre>\n</details>",
            esc(&pretty(&crate::render::schemas::envelope(event, &self.plan.service)))
        )
        .unwrap();
        body
    }
}

/// A row of an event's field table.
pub(super) struct Row {
    path: String,
    kind: String,
    required: bool,
    notes: String,
}

/// Every field of a detail schema, nested ones as `parent.child` and list items as `list[]`.
pub(super) fn fields(schema: Schema, prefix: &str, rows: &mut Vec<Row>) {
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
            notes: notes(child),
        });
        fields(child, &path, rows);
        if let Some(items) = child.items() {
            fields(items, &format!("{path}[]"), rows);
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
