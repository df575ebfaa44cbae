//! `catalog/`: the event catalog, a static site (no scripts, no server: it opens from the file
//! system and serves from any static server). `index.html` draws the flow (an inline SVG:
//! tables -> events -> consumers) and lists every event, consumer and table; a page per event
//! (its fields with types and requiredness, an example, its producer and consumers, its schema
//! and its version history) and a page per consumer (its target, pattern, and what it receives
//! of each event).

use std::fmt::Write;

use serde_json::Value;

use super::bindings::sample_event;
use super::{Files, RenderError};
use crate::breaking::History;
use crate::ident::id_slug;
use crate::plan::{ConsumerPlan, EventPlan, Plan};

/// Where the catalog is written.
pub const DIR: &str = "catalog";

const STYLE: &str = r#"
:root { --ink: #1d2430; --muted: #5b6576; --line: #d9dee7; --accent: #0b63c5; --soft: #f3f6fa; --bad: #b42318; --good: #067647; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--ink); background: #fff; }
header { display: flex; gap: 24px; align-items: baseline; padding: 14px 32px; border-bottom: 1px solid var(--line); background: var(--soft); }
header .brand { font-weight: 700; font-size: 17px; color: var(--ink); text-decoration: none; }
header nav a { margin-right: 16px; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 32px 48px; }
footer { max-width: 1180px; margin: 0 auto; padding: 16px 32px 32px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--line); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { font-size: 28px; margin: 24px 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 6px; }
.lead { color: var(--muted); margin: 0 0 12px; font-size: 16px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e6effa; color: var(--accent); vertical-align: middle; margin-left: 6px; }
.badge.kind { background: #eef1f5; color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 7px 10px; border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
code { background: var(--soft); padding: 1px 5px; border-radius: 4px; }
pre { background: #0f1720; color: #e6edf3; padding: 14px 16px; border-radius: 8px; overflow-x: auto; }
dl.facts { display: grid; grid-template-columns: 190px 1fr; gap: 6px 18px; margin: 12px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.breaking { color: var(--bad); }
.compatible { color: var(--good); }
.required { font-weight: 600; }
.figure { border: 1px solid var(--line); border-radius: 10px; padding: 12px; overflow-x: auto; background: #fff; }
svg .node rect { stroke-width: 1.5; rx: 8; }
svg .node.table rect { fill: #fff7e6; stroke: #d08700; }
svg .node.event rect { fill: #e8f1fd; stroke: #0b63c5; }
svg .node.consumer rect { fill: #eaf7ef; stroke: #067647; }
svg .node text { font: 13px system-ui, sans-serif; fill: #1d2430; }
svg .node text.sub { font-size: 11px; fill: #5b6576; }
svg .edge { fill: none; stroke: #9aa4b2; stroke-width: 1.4; }
svg .column { font: 600 12px system-ui, sans-serif; fill: #5b6576; letter-spacing: .04em; }
svg a:hover rect { stroke-width: 2.5; }
"#;

/// Escapes text for HTML and SVG.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Escapes text whose `backquoted` parts are code (the plan's descriptions are Markdown-ish).
fn esc_code(text: &str) -> String {
    esc(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_owned()
            }
        })
        .collect()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialize")
}

/// The file of an event's page, relative to the catalog.
fn event_page(event: &EventPlan) -> String {
    format!("events/{}.html", event.slug)
}

/// The file of a consumer's page, relative to the catalog.
fn consumer_page(consumer: &ConsumerPlan) -> String {
    format!("consumers/{}.html", id_slug(&consumer.name))
}

struct Site<'a> {
    plan: &'a Plan,
    history: &'a History,
}

impl Site<'_> {
    /// A whole page; `prefix` leads from it to the catalog's root (`""` or `"../"`).
    fn page(&self, title: &str, prefix: &str, body: &str) -> String {
        let service = esc(&self.plan.service);
        format!(
            "<!doctype html>\n<!-- {generated} -->\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title} · {service} events</title>\n<link rel=\"stylesheet\" href=\"{prefix}style.css\">\n</head>\n<body>\n<header><a class=\"brand\" href=\"{prefix}index.html\">{service} events</a><nav><a href=\"{prefix}index.html#flow\">Flow</a><a href=\"{prefix}index.html#events\">Events</a><a href=\"{prefix}index.html#consumers\">Consumers</a><a href=\"{prefix}index.html#tables\">Tables</a></nav></header>\n<main>\n{body}</main>\n<footer>Generated by outbox from <code>{config}</code>: change it and run <code>outbox</code>, do not edit these pages.</footer>\n</body>\n</html>\n",
            generated = esc(&crate::generated_by(Some(&self.plan.config_file))),
            config = esc(&self.plan.config_file),
            title = esc(title),
        )
    }

    fn event(&self, name: &str) -> Option<&EventPlan> {
        self.plan.events.iter().find(|e| e.name == name)
    }

    /// A link to an event's page (plain text for an event without one, like dead letters).
    fn event_link(&self, name: &str, prefix: &str) -> String {
        match self.event(name) {
            Some(event) => format!(
                "<a href=\"{prefix}{}\">{}</a>",
                event_page(event),
                esc(name)
            ),
            None => esc(name),
        }
    }

    fn consumers_of(&self, event: &EventPlan) -> Vec<&ConsumerPlan> {
        self.plan
            .consumers
            .iter()
            .filter(|c| c.events.contains(&event.name))
            .collect()
    }

    fn target(consumer: &ConsumerPlan) -> String {
        format!(
            "{} <code>{}</code>",
            esc(consumer.target_noun),
            esc(&consumer.target_name)
        )
    }

    fn index(&self) -> String {
        let plan = self.plan;
        let mut body = String::new();
        let bus_kind = if plan.bus.custom {
            "Custom Event Bus"
        } else {
            "Classic bus"
        };
        let tables: Vec<String> = plan
            .tables
            .iter()
            .map(|t| format!("<code>{}</code>", esc(&t.name)))
            .collect();
        writeln!(
            body,
            "<h1>{} event catalog</h1>\n<p class=\"lead\">{} event{} the relay publishes from {} to the {bus_kind} <code>{}</code>, and the {} consumer{} that receive them.</p>",
            esc(&plan.service),
            plan.events.len(),
            if plan.events.len() == 1 { "" } else { "s" },
            tables.join(", "),
            esc(&plan.bus.name),
            plan.consumers.len(),
            if plan.consumers.len() == 1 { "" } else { "s" },
        )
        .unwrap();
        writeln!(
            body,
            "<h2 id=\"flow\">Flow</h2>\n<div class=\"figure\">{}</div>",
            self.diagram()
        )
        .unwrap();
        writeln!(body, "<h2 id=\"events\">Events</h2>\n<table>\n<thead><tr><th>Event</th><th>Source</th><th>Detail-type</th><th>Version</th><th>Published on</th><th>Consumers</th></tr></thead>\n<tbody>").unwrap();
        for event in &plan.events {
            let consumers: Vec<String> = self
                .consumers_of(event)
                .iter()
                .map(|c| format!("<a href=\"{}\">{}</a>", consumer_page(c), esc(&c.name)))
                .collect();
            writeln!(
                body,
                "<tr><td><a href=\"{}\">{}</a></td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{} in <code>{}</code></td><td>{}</td></tr>",
                event_page(event),
                esc(&event.name),
                esc(&event.source),
                esc(&event.detail_type),
                event.schema_version,
                esc_code(&event.trigger),
                esc(&event.table),
                if consumers.is_empty() { "none".to_owned() } else { consumers.join(", ") }
            )
            .unwrap();
        }
        writeln!(body, "</tbody>\n</table>").unwrap();
        writeln!(body, "<h2 id=\"consumers\">Consumers</h2>\n<table>\n<thead><tr><th>Consumer</th><th>Target</th><th>Events</th><th>Receives</th></tr></thead>\n<tbody>").unwrap();
        for consumer in &plan.consumers {
            let events: Vec<String> = consumer
                .events
                .iter()
                .map(|e| self.event_link(e, ""))
                .collect();
            writeln!(
                body,
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                consumer_page(consumer),
                esc(&consumer.name),
                Self::target(consumer),
                events.join(", "),
                esc_code(&consumer.input_text)
            )
            .unwrap();
        }
        writeln!(body, "</tbody>\n</table>").unwrap();
        writeln!(body, "<h2 id=\"tables\">Tables</h2>\n<table>\n<thead><tr><th>Table</th><th>Keys</th><th>Stream</th><th>Events</th></tr></thead>\n<tbody>").unwrap();
        for table in &plan.tables {
            let events: Vec<String> = plan
                .events
                .iter()
                .filter(|e| e.table == table.name)
                .map(|e| self.event_link(&e.name, ""))
                .collect();
            writeln!(
                body,
                "<tr><td><code>{}</code></td><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&table.name),
                esc(&table.partition_key),
                table
                    .sort_key
                    .as_deref()
                    .map(|k| format!(", <code>{}</code>", esc(k)))
                    .unwrap_or_default(),
                esc(table.stream),
                events.join(", ")
            )
            .unwrap();
        }
        writeln!(body, "</tbody>\n</table>").unwrap();
        self.page("Event catalog", "", &body)
    }

    fn event_body(&self, event: &EventPlan) -> String {
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
        fields(&event.detail.schema, "", &mut rows);
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
        if event.detail.schema.get("additionalProperties") != Some(&Value::Bool(false)) {
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
            esc(&pretty(&super::schemas::envelope(event, &self.plan.service)))
        )
        .unwrap();
        body
    }

    fn consumer_body(&self, consumer: &ConsumerPlan) -> String {
        let mut body = String::new();
        writeln!(
            body,
            "<p><a href=\"../index.html#consumers\">Consumers</a> /</p>\n<h1>{}<span class=\"badge kind\">{}</span></h1>\n<p class=\"lead\">{}</p>\n<dl class=\"facts\">",
            esc(&consumer.name),
            esc(consumer.target.kind()),
            esc(consumer.description.as_deref().unwrap_or(&consumer.rule_description))
        )
        .unwrap();
        let events: Vec<String> = consumer
            .events
            .iter()
            .map(|e| self.event_link(e, "../"))
            .collect();
        let rows = [
            ("Target", Self::target(consumer)),
            (
                if self.plan.bus.custom {
                    "Subscriber"
                } else {
                    "Rule"
                },
                format!(
                    "<code>{}</code> on <code>{}</code>",
                    esc(&consumer.rule),
                    esc(&self.plan.bus.name)
                ),
            ),
            ("Events", events.join(", ")),
            (
                "Pattern on detail",
                consumer
                    .pattern_text
                    .as_deref()
                    .map(|p| format!("<code>{}</code>", esc(p)))
                    .unwrap_or_else(|| "none: every event of these types".into()),
            ),
            ("Receives", esc_code(&consumer.input_text)),
            (
                "Retries",
                format!(
                    "{} attempts within {} s",
                    consumer.maximum_attempts, consumer.maximum_event_age
                ),
            ),
            (
                "Dead-letter queue",
                consumer
                    .dead_letter_queue
                    .as_deref()
                    .map(|q| format!("<code>{}</code>", esc(q)))
                    .unwrap_or_else(|| "none".into()),
            ),
            (
                "Order",
                if consumer.ordered {
                    "each group's events in order (FIFO)".into()
                } else {
                    "no order".into()
                },
            ),
        ];
        for (name, value) in rows {
            writeln!(body, "<dt>{name}</dt><dd>{value}</dd>").unwrap();
        }
        writeln!(body, "</dl>\n<h2 id=\"receives\">What it receives</h2>").unwrap();
        for name in &consumer.events {
            let Some(event) = self.event(name) else {
                writeln!(body, "<h3>{}</h3>\n<p>Dead-lettered records and events, with the reason and the item's keys (never its contents).</p>", esc(name)).unwrap();
                continue;
            };
            let sample = sample_event(event);
            let received = consumer
                .input
                .as_ref()
                .map_or_else(|| sample.clone(), |input| input.apply(&sample));
            writeln!(
                body,
                "<h3>{}</h3>\n<pre>{}</pre>",
                self.event_link(name, "../"),
                esc(&pretty(&received))
            )
            .unwrap();
        }
        body
    }

    /// The flow as an inline SVG: tables, events, consumers in three columns, an edge from
    /// each table to its events and from each event to its consumers; every node links to its
    /// page.
    fn diagram(&self) -> String {
        struct Node {
            id: String,
            kind: &'static str,
            title: String,
            sub: String,
            href: Option<String>,
        }
        let plan = self.plan;
        let columns: [Vec<Node>; 3] = [
            plan.tables
                .iter()
                .map(|t| Node {
                    id: format!("table:{}", t.name),
                    kind: "table",
                    title: t.name.clone(),
                    sub: "DynamoDB table".into(),
                    href: None,
                })
                .collect(),
            plan.events
                .iter()
                .map(|e| Node {
                    id: format!("event:{}", e.name),
                    kind: "event",
                    title: e.name.clone(),
                    sub: e.source.clone(),
                    href: Some(event_page(e)),
                })
                .collect(),
            plan.consumers
                .iter()
                .map(|c| Node {
                    id: format!("consumer:{}", c.name),
                    kind: "consumer",
                    title: c.name.clone(),
                    sub: c.target_noun.into(),
                    href: Some(consumer_page(c)),
                })
                .collect(),
        ];
        let (node_h, gap_y, gap_x, top) = (46.0, 14.0, 90.0, 34.0);
        let width_of = |n: &Node| {
            (n.title.chars().count().max(n.sub.chars().count()) as f64 * 7.4 + 28.0)
                .clamp(130.0, 300.0)
        };
        let widths: Vec<f64> = columns
            .iter()
            .map(|c| c.iter().map(width_of).fold(130.0, f64::max))
            .collect();
        let heights: Vec<f64> = columns
            .iter()
            .map(|c| c.len() as f64 * (node_h + gap_y))
            .collect();
        let total_h = heights.iter().copied().fold(node_h, f64::max) + top + 10.0;
        let mut x = 10.0;
        let mut placed: Vec<(String, f64, f64, f64)> = Vec::new(); // id, x, y, width
        let mut nodes = String::new();
        let labels = ["TABLES", "EVENTS", "CONSUMERS"];
        let mut heads = String::new();
        for (c, column) in columns.iter().enumerate() {
            writeln!(
                heads,
                "<text class=\"column\" x=\"{x}\" y=\"18\">{}</text>",
                labels[c]
            )
            .unwrap();
            let mut y = top + (total_h - top - 10.0 - heights[c]) / 2.0;
            for node in column {
                let w = widths[c];
                let inner = format!(
                    "<g class=\"node {kind}\" data-id=\"{id}\"><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{node_h}\" rx=\"8\"/><text x=\"{tx}\" y=\"{ty}\">{title}</text><text class=\"sub\" x=\"{tx}\" y=\"{sy}\">{sub}</text></g>",
                    kind = node.kind,
                    id = esc(&node.id),
                    tx = x + 12.0,
                    ty = y + 19.0,
                    sy = y + 36.0,
                    title = esc(&truncate(&node.title, 38)),
                    sub = esc(&truncate(&node.sub, 40)),
                );
                match &node.href {
                    Some(href) => writeln!(nodes, "<a href=\"{}\">{inner}</a>", esc(href)).unwrap(),
                    None => writeln!(nodes, "{inner}").unwrap(),
                }
                placed.push((node.id.clone(), x, y, w));
                y += node_h + gap_y;
            }
            x += widths[c] + gap_x;
        }
        let at = |id: &str| {
            placed
                .iter()
                .find(|(n, ..)| n == id)
                .map(|&(_, x, y, w)| (x, y, w))
        };
        let mut edges = String::new();
        let mut edge = |from: &str, to: &str| {
            if let (Some((x1, y1, w1)), Some((x2, y2, _))) = (at(from), at(to)) {
                let (sx, sy, ex, ey) = (x1 + w1, y1 + node_h / 2.0, x2, y2 + node_h / 2.0);
                let mid = (sx + ex) / 2.0;
                writeln!(edges, "<path class=\"edge\" d=\"M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}\" marker-end=\"url(#arrow)\"/>").unwrap();
            }
        };
        for event in &plan.events {
            edge(
                &format!("table:{}", event.table),
                &format!("event:{}", event.name),
            );
        }
        for consumer in &plan.consumers {
            for name in &consumer.events {
                edge(
                    &format!("event:{name}"),
                    &format!("consumer:{}", consumer.name),
                );
            }
        }
        let width = x - gap_x + 10.0;
        format!(
            "<svg id=\"flow\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{total_h}\" viewBox=\"0 0 {width} {total_h}\" role=\"img\" aria-label=\"The flow: tables, events, consumers\">\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#9aa4b2\"/></marker></defs>\n{heads}{edges}{nodes}</svg>"
        )
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// A row of an event's field table.
struct Row {
    path: String,
    kind: String,
    required: bool,
    notes: String,
}

/// Every field of a detail schema, nested ones as `parent.child` and list items as `list[]`.
fn fields(schema: &Value, prefix: &str, rows: &mut Vec<Row>) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, child) in properties {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        rows.push(Row {
            path: path.clone(),
            kind: kind(child),
            required: required.contains(&name.as_str()),
            notes: notes(child),
        });
        fields(child, &path, rows);
        if let Some(items) = child.get("items") {
            fields(items, &format!("{path}[]"), rows);
        }
    }
}

fn kind(schema: &Value) -> String {
    if schema.get("const").is_some() {
        return "constant".into();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => match schema.get("items").map(kind) {
            Some(item) => format!("list of {item}"),
            None => "list".into(),
        },
        Some(t) if schema.get("contentEncoding").is_some() => format!("{t} (base64)"),
        Some(t) => t.to_owned(),
        None => "any".into(),
    }
}

fn notes(schema: &Value) -> String {
    let mut notes = Vec::new();
    if let Some(value) = schema.get("const") {
        notes.push(format!("always <code>{}</code>", esc(&value.to_string())));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
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
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        notes.push(format!("format {}", esc(format)));
    }
    if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
        notes.push("a set (no duplicates)".into());
    }
    if let Some(description) = schema.get("description").and_then(Value::as_str) {
        notes.push(esc(description));
    }
    notes.join("; ")
}

/// Renders the catalog into `files`.
pub fn render(plan: &Plan, history: &History, files: &mut Files) -> Result<(), RenderError> {
    let site = Site { plan, history };
    files.insert(format!("{DIR}/index.html").into(), site.index());
    files.insert(
        format!("{DIR}/style.css").into(),
        format!("/* {} */{STYLE}", crate::generated_by(None)),
    );
    for event in &plan.events {
        let page = site.page(&event.name, "../", &site.event_body(event));
        files.insert(format!("{DIR}/{}", event_page(event)).into(), page);
    }
    for consumer in &plan.consumers {
        let page = site.page(&consumer.name, "../", &site.consumer_body(consumer));
        files.insert(format!("{DIR}/{}", consumer_page(consumer)).into(), page);
    }
    Ok(())
}

/// What a generated file of the catalog is, for the generated README.
pub fn describe(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("catalog/")?;
    Some(match rest {
        "index.html" => {
            "the event catalog: the flow, every event, consumer and table (open it in a browser)"
        }
        "style.css" => "the catalog's style sheet",
        _ if rest.starts_with("events/") => {
            "the catalog's page of an event: fields, example, producers, consumers, history, schema"
        }
        _ if rest.starts_with("consumers/") => {
            "the catalog's page of a consumer: target, pattern, what it receives"
        }
        _ => return None,
    })
}
