//! The outbox generator: `outbox.yaml` -> relay, schemas, infrastructure and documentation.
//!
//! The stages are plain functions on plain data: [`load`] -> [`validate`] -> [`plan`] (one
//! resolved model, which [`rules`] checks the consumers' patterns against) -> [`render`] (pure:
//! every output file as a string) -> [`write`] (the only stage that touches the output
//! directory). The commands beside generation ([`simulate`], [`validate_events`],
//! [`breaking`], [`dev`]) read the same plan or its output.

pub mod attrs;
pub mod breaking;
pub mod config;
pub mod dev;
pub mod diag;
pub mod event_paths;
pub mod ident;
pub mod load;
pub mod names;
/// EventBridge patterns (the `outbox-pattern` crate, shared with the relay's local poller).
pub use outbox_pattern as pattern;
pub mod plan;
pub mod render;
pub mod rules;
mod shorthand;
pub mod simulate;
pub mod validate;
pub mod validate_events;
pub mod write;
pub mod yaml_index;

use std::path::Path;

use diag::Diagnostics;
use render::{Files, RenderError};

/// The output of a successful generation.
#[derive(Debug)]
pub struct Generated {
    /// Every output file.
    pub files: Files,
    /// Warnings about the config (generation went on).
    pub warnings: Diagnostics,
}

/// Why nothing was generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The config has errors; every one of them is listed.
    #[error("{0}")]
    Config(Diagnostics),
    /// A renderer failed (a generator bug).
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Runs load -> validate -> plan -> render on a config file; touches nothing on disk.
pub fn generate(config_path: &Path) -> Result<Generated, GenerateError> {
    generate_planned(config_path).map(|(generated, _)| generated)
}

/// [`generate`], with the plan the files were rendered from.
pub fn generate_planned(config_path: &Path) -> Result<(Generated, plan::Plan), GenerateError> {
    let loaded = load::load_file(config_path).map_err(GenerateError::Config)?;
    generate_loaded_planned(&loaded, None)
}

/// [`generate_planned`] for the output directory `out`: the event catalog also shows each
/// event's earlier schema versions, from the git history of `out`'s schemas
/// ([`breaking::history`]).
pub fn generate_in(
    config_path: &Path,
    out: &Path,
) -> Result<(Generated, plan::Plan), GenerateError> {
    let loaded = load::load_file(config_path).map_err(GenerateError::Config)?;
    generate_loaded_planned(&loaded, Some(out))
}

/// Runs validate -> plan -> render on config text; `file` names it in diagnostics.
pub fn generate_text(file: &str, text: &[u8]) -> Result<Generated, GenerateError> {
    let loaded = load::load(file, text).map_err(GenerateError::Config)?;
    generate_loaded(&loaded)
}

fn generate_loaded(loaded: &load::Loaded) -> Result<Generated, GenerateError> {
    generate_loaded_planned(loaded, None).map(|(generated, _)| generated)
}

fn generate_loaded_planned(
    loaded: &load::Loaded,
    out: Option<&Path>,
) -> Result<(Generated, plan::Plan), GenerateError> {
    let file_name = Path::new(&loaded.file)
        .file_name()
        .map_or_else(|| loaded.file.clone(), |n| n.to_string_lossy().into_owned());
    let mut items = validate::validate(&loaded.config);
    let planned = (!items.iter().any(diag::Diagnostic::is_error))
        .then(|| plan::plan(&loaded.config, &file_name));
    if let Some(plan) = &planned {
        items.extend(rules::check(plan));
        items.extend(event_paths::check(plan));
    }
    let diagnostics = loaded.diagnostics(items);
    let Some(plan) = planned.filter(|_| diagnostics.error_count() == 0) else {
        return Err(GenerateError::Config(diagnostics));
    };
    let history = out
        .map(|out| render::history(&plan, out))
        .unwrap_or_default();
    let files = render::render_with_history(&plan, &history)?;
    Ok((
        Generated {
            files,
            warnings: diagnostics,
        },
        plan,
    ))
}
