//! A consumer's page: its target, its pattern, and what it receives of each event.

use std::fmt::Write;

use super::{ConsumerPlan, Site, esc, esc_code, pretty, sample_event};

impl Site<'_> {
    pub(super) fn consumer_body(&self, consumer: &ConsumerPlan) -> String {
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
}
