//! The catalog's `index.html`: the flow, and every event, consumer and table
//! (`templates/catalog/index.html.j2`).

use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use super::{RenderError, Site, consumer_page, esc, esc_code, event_page};

#[derive(Serialize)]
struct EventRow {
    page: String,
    name: String,
    source: String,
    detail_type: String,
    version: u32,
    trigger: String,
    table: String,
    consumers: String,
}

#[derive(Serialize)]
struct ConsumerRow {
    page: String,
    name: String,
    target: String,
    events: String,
    receives: String,
}

#[derive(Serialize)]
struct TableRow {
    name: String,
    keys: String,
    stream: String,
    events: String,
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

impl Site<'_> {
    pub(super) fn index(&self) -> Result<String, RenderError> {
        let plan = self.plan;
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
        let lead = format!(
            "{} event{} the relay publishes from {} to the {bus_kind} <code>{}</code>, and the {} consumer{} that receive them.",
            plan.events.len(),
            plural(plan.events.len()),
            tables.join(", "),
            esc(&plan.bus.name),
            plan.consumers.len(),
            plural(plan.consumers.len()),
        );
        let events: Vec<EventRow> = plan
            .events
            .iter()
            .map(|event| {
                let consumers: Vec<String> = self
                    .consumers_of(event)
                    .iter()
                    .map(|c| format!("<a href=\"{}\">{}</a>", consumer_page(c), esc(&c.name)))
                    .collect();
                EventRow {
                    page: event_page(event),
                    name: esc(&event.name),
                    source: esc(&event.source),
                    detail_type: esc(&event.detail_type),
                    version: event.schema_version,
                    trigger: esc_code(&event.trigger),
                    table: esc(&event.table),
                    consumers: if consumers.is_empty() {
                        "none".to_owned()
                    } else {
                        consumers.join(", ")
                    },
                }
            })
            .collect();
        let consumers: Vec<ConsumerRow> = plan
            .consumers
            .iter()
            .map(|consumer| ConsumerRow {
                page: consumer_page(consumer),
                name: esc(&consumer.name),
                target: Self::target(consumer),
                events: consumer
                    .events
                    .iter()
                    .map(|e| self.event_link(e, ""))
                    .collect::<Vec<_>>()
                    .join(", "),
                receives: esc_code(&consumer.input_text),
            })
            .collect();
        let tables: Vec<TableRow> = plan
            .tables
            .iter()
            .map(|table| TableRow {
                name: esc(&table.name),
                keys: format!(
                    "<code>{}</code>{}",
                    esc(&table.partition_key),
                    table
                        .sort_key
                        .as_deref()
                        .map(|k| format!(", <code>{}</code>", esc(k)))
                        .unwrap_or_default()
                ),
                stream: esc(table.stream),
                events: plan
                    .events
                    .iter()
                    .filter(|e| e.table == table.name)
                    .map(|e| self.event_link(&e.name, ""))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect();
        self.render(
            "index",
            context! {
                service => esc(&plan.service),
                lead,
                diagram => self.diagram()?,
                events => Value::from(Serde(&events)),
                consumers => Value::from(Serde(&consumers)),
                tables => Value::from(Serde(&tables)),
            },
        )
    }
}
