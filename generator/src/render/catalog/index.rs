//! The catalog's `index.html`: the flow, and every event, consumer and table.

use std::fmt::Write;

use super::{Site, consumer_page, esc, esc_code, event_page};

impl Site<'_> {
    pub(super) fn index(&self) -> String {
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
}
