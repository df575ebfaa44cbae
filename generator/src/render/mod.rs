//! Stage 4, `render`: the plan -> every output file, as `relative path -> contents`. Pure: no
//! I/O, no clock, no absolute paths, so the same config always renders the same bytes.

mod asyncapi;
pub mod bindings;
mod catalog;
mod cdk;
mod config_schema;
mod readme;
mod relay;
mod sam;
pub mod schemas;
mod stack;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::plan::Plan;

/// Every generated file, by path relative to the output directory.
pub type Files = BTreeMap<PathBuf, String>;

/// A file rendering failed: a bug in a template or in the generator, not in the config.
#[derive(Debug, thiserror::Error)]
#[error("rendering {path} failed: {message}")]
pub struct RenderError {
    /// The file being rendered.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Renders every output file for `plan`.
pub fn render(plan: &Plan) -> Result<Files, RenderError> {
    render_with_history(plan, &crate::breaking::History::new())
}

/// The earlier schema versions of `plan`'s events, from the git history of `out`.
pub fn history(plan: &Plan, out: &std::path::Path) -> crate::breaking::History {
    let mut current = crate::breaking::Snapshots::new();
    let mut files = BTreeMap::new();
    for event in &plan.events {
        if let Some((name, snapshot)) =
            crate::breaking::Snapshot::from_schema(&schemas::envelope(event, &plan.service))
        {
            files.insert(name.clone(), format!("{}.json", event.slug));
            current.insert(name, snapshot);
        }
    }
    crate::breaking::history(out, &current, &files)
}

/// Renders every output file for `plan`, with the events' earlier versions in the catalog.
pub fn render_with_history(
    plan: &Plan,
    history: &crate::breaking::History,
) -> Result<Files, RenderError> {
    let mut files = Files::new();
    files.insert(PathBuf::from(config_schema::PATH), config_schema::render());
    relay::render(plan, &mut files)?;
    schemas::render(plan, &mut files);
    asyncapi::render(plan, &mut files);
    let stack = stack::build(plan);
    sam::render(plan, &stack, &mut files)?;
    cdk::render(plan, &stack, &mut files)?;
    bindings::render(plan, &mut files);
    catalog::render(plan, history, &mut files)?;
    let readme = readme::render(plan, &files)?;
    files.insert(PathBuf::from(readme::PATH), readme);
    Ok(files)
}

/// What a generated file is, for the generated README's file list.
pub(crate) fn describe(path: &str) -> &'static str {
    if let Some(what) = catalog::describe(path) {
        return what;
    }
    if let Some(what) = bindings::describe(path) {
        return what;
    }
    if let Some(what) = cdk::describe(path) {
        return what;
    }
    match path {
        config_schema::PATH => {
            "JSON Schema of `outbox.yaml`, for editors (`# yaml-language-server: $schema=...`) and CI"
        }
        readme::PATH => "this file",
        sam::PATH => "the AWS SAM template of the whole flow (`sam build && sam deploy`)",
        sam::CONFIG_PATH => "SAM CLI settings: stack name, capabilities, the Rust builder",
        sam::GITIGNORE_PATH => "keeps `sam build` output (.aws-sam) out of git",
        asyncapi::PATH => {
            "AsyncAPI 3 document of the bus: a channel and message per event, the relay as sender, the consumers as receivers"
        }
        "relay/Cargo.toml" => {
            "the relay crate: builds as its own workspace or as a member of yours; depends on the outbox runtime crates of the generator's version"
        }
        "relay/src/lib.rs" => "the mappings as a library, for tests and benchmarks",
        "relay/src/main.rs" => {
            "the relay's entry point: the Lambda loop, or `relay --event-file FILE [--dry-run]`"
        }
        "relay/src/mapping.rs" => "every event's typed detail, filter and mapping",
        relay::CARGO_CONFIG => {
            "the release profile the benchmarks measure, for builds started in relay/ (sam build, cargo lambda build)"
        }
        relay::LOCAL_STACK => {
            "the stack `relay dev` stands up and `relay poll` reads (tables, bus, rules, queues)"
        }
        p if p.starts_with("schemas/registry/") => {
            "the event's contract for the EventBridge Schema Registry (OpenAPI 3)"
        }
        p if p.starts_with("schemas/") => {
            "the event's JSON Schema (draft 2020-12): its envelope, with the detail under `$defs/detail`"
        }
        _ => "generated file",
    }
}
