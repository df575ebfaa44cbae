//! `catalog/`: the event catalog, a static site (no scripts, no server: it opens from the file
//! system and serves from any static server). `index.html` draws the flow (an inline SVG:
//! tables -> events -> consumers) and lists every event, consumer and table; a page per event
//! (its fields with types and requiredness, an example, its producer and consumers, its schema
//! and its version history) and a page per consumer (its target, pattern, and what it receives
//! of each event).

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value as Context};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use serde::Serialize;
use serde_json::Value;

use super::bindings::sample_event;
use super::{Files, RenderError};
use crate::breaking::History;
use crate::ident::id_slug;
use crate::plan::{ConsumerPlan, EventPlan, Plan};

mod consumer;
mod diagram;
mod event;
mod index;

/// Where the catalog is written.
pub const DIR: &str = "catalog";

const STYLE: &str = include_str!("../../../templates/catalog/style.css");

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
    templates: Environment<'static>,
}

/// The catalog's templates: the page shell, the index, an event's and a consumer's page, the
/// flow diagram. They lay out HTML; every value they get is already escaped.
fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid"),
    );
    for (name, source) in [
        (
            "page",
            include_str!("../../../templates/catalog/page.html.j2"),
        ),
        (
            "index",
            include_str!("../../../templates/catalog/index.html.j2"),
        ),
        (
            "event",
            include_str!("../../../templates/catalog/event.html.j2"),
        ),
        (
            "consumer",
            include_str!("../../../templates/catalog/consumer.html.j2"),
        ),
        (
            "diagram",
            include_str!("../../../templates/catalog/diagram.svg.j2"),
        ),
    ] {
        env.add_template(name, source)
            .expect("the catalog's templates parse (golden tests render every one)");
    }
    env
}

impl Site<'_> {
    /// Renders template `name` with `context` (escaped values, see [`templates`]).
    fn render(&self, name: &str, context: impl Serialize) -> Result<String, RenderError> {
        self.templates
            .get_template(name)
            .and_then(|t| t.render(Context::from(Serde(context))))
            .map_err(|e| RenderError {
                path: format!("{DIR}/ ({name} template)"),
                message: format!("{e:#}"),
            })
    }

    /// A whole page; `prefix` leads from it to the catalog's root (`""` or `"../"`).
    fn page(&self, title: &str, prefix: &str, body: &str) -> Result<String, RenderError> {
        self.render(
            "page",
            context! {
                generated => esc(&crate::generated_by(Some(&self.plan.config_file))),
                title => esc(title),
                service => esc(&self.plan.service),
                prefix => prefix,
                body => body,
                config => esc(&self.plan.config_file),
            },
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
}
/// Renders the catalog into `files`.
pub fn render(plan: &Plan, history: &History, files: &mut Files) -> Result<(), RenderError> {
    let site = Site {
        plan,
        history,
        templates: templates(),
    };
    let index = site.index()?;
    files.insert(
        format!("{DIR}/index.html").into(),
        site.page("Event catalog", "", &index)?,
    );
    files.insert(
        format!("{DIR}/style.css").into(),
        format!("/* {} */\n{STYLE}", crate::generated_by(None)),
    );
    for event in &plan.events {
        let page = site.page(&event.name, "../", &site.event_body(event)?)?;
        files.insert(format!("{DIR}/{}", event_page(event)).into(), page);
    }
    for consumer in &plan.consumers {
        let page = site.page(&consumer.name, "../", &site.consumer_body(consumer)?)?;
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

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}
