//! A consumer's page: its target, its pattern, and what it receives of each event
//! (`templates/catalog/consumer.html.j2`).

use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Serialize;

use super::{ConsumerPlan, RenderError, Site, esc, esc_code, pretty, sample_event};

/// What the consumer receives of one of its events: a sample, or (for dead letters, which
/// have no page) none.
#[derive(Serialize)]
struct Receives {
    title: String,
    sample: Option<String>,
}

impl Site<'_> {
    pub(super) fn consumer_body(&self, consumer: &ConsumerPlan) -> Result<String, RenderError> {
        let events: Vec<String> = consumer
            .events
            .iter()
            .map(|e| self.event_link(e, "../"))
            .collect();
        let facts = [
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
        let receives: Vec<Receives> = consumer
            .events
            .iter()
            .map(|name| match self.event(name) {
                None => Receives {
                    title: esc(name),
                    sample: None,
                },
                Some(event) => {
                    let sample = sample_event(event);
                    let received = consumer
                        .input
                        .as_ref()
                        .map_or_else(|| sample.clone(), |input| input.apply(&sample));
                    Receives {
                        title: self.event_link(name, "../"),
                        sample: Some(esc(&pretty(&received))),
                    }
                }
            })
            .collect();
        self.render(
            "consumer",
            context! {
                name => esc(&consumer.name),
                kind => esc(consumer.target.kind()),
                lead => esc(consumer.description.as_deref().unwrap_or(&consumer.rule_description)),
                facts => Value::from(Serde(&facts)),
                receives => Value::from(Serde(&receives)),
            },
        )
    }
}
