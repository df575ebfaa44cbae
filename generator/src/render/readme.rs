//! `README.md` of the output directory: what was generated from which config, with a Mermaid
//! diagram of the flow (tables -> relay -> bus -> rules -> consumers).

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use serde::Serialize;

use super::{Files, RenderError, describe};
use crate::plan::Plan;

/// Where the README is written, relative to the output directory.
pub const PATH: &str = "README.md";

const TEMPLATE: &str = include_str!("../../templates/README.md.j2");

#[derive(Serialize)]
struct FileEntry {
    path: String,
    what: &'static str,
}

/// Renders the README; `files` are the other generated files, listed in it.
pub fn render(plan: &Plan, files: &Files) -> Result<String, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.add_filter("label", mermaid_label);
    env.add_filter("pascal", |name: String| crate::ident::pascal(&name));
    let fail = |e: minijinja::Error| RenderError {
        path: PATH.to_owned(),
        message: format!("{e:#}"),
    };
    env.add_template(PATH, TEMPLATE).map_err(fail)?;
    let mut entries: Vec<FileEntry> = files
        .keys()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .chain([PATH.to_owned()])
        .map(|path| FileEntry {
            what: describe(&path),
            path,
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    env.get_template(PATH)
        .and_then(|t| {
            t.render(context! {
                plan => Value::from(Serde(plan)),
                files => Value::from(Serde(&entries)),
                generated => crate::generated_by(Some(&plan.config_file)),
                version => crate::VERSION,
            })
        })
        .map(|mut text| {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        })
        .map_err(fail)
}

/// Escapes text for a quoted Mermaid label.
fn mermaid_label(text: String) -> String {
    text.replace('#', "#35;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}
