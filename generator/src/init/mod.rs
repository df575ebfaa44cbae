//! `outbox init`: what a repository needs to start, written into the current directory and
//! never over anything that exists: a commented starter `outbox.yaml` (or, with
//! `--from-table`, one proposed from a live table: [`propose`]), `.gitignore` lines for what
//! building the generated tree leaves behind, and a CI workflow that runs `outbox --check`.

pub mod propose;
#[cfg(feature = "from-table")]
pub mod read;

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The starter config: one table, one entity, one event, one consumer; generates as it is.
pub const STARTER: &str = include_str!("../../templates/init/outbox.yaml");

/// The CI workflow (GitHub Actions): the generated tree must match the config.
const WORKFLOW: &str = include_str!("../../templates/init/outbox.yml");

/// Where the CI workflow goes.
pub const WORKFLOW_PATH: &str = ".github/workflows/outbox.yml";

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The config exists; `init` never overwrites.
    #[error("{0} already exists; outbox init never overwrites it (move it away, or edit it)")]
    Exists(PathBuf),
    /// The file system refused.
    #[error("cannot write {path}: {source}")]
    Io {
        /// What could not be written.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// What `init` did, one line per file, for the user.
pub type Report = Vec<String>;

/// Writes `config_text` as `config` in `dir`, the `.gitignore` lines for the output directory
/// `out`, and the CI workflow when there is none; refuses when `config` exists.
pub fn write(
    dir: &Path,
    config: &Path,
    out: &Path,
    config_text: &str,
) -> Result<Report, InitError> {
    let config_path = dir.join(config);
    if config_path.exists() {
        return Err(InitError::Exists(config.to_path_buf()));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    let mut report = Report::new();
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&config_path)
        .and_then(|mut f| f.write_all(config_text.as_bytes()))
        .map_err(io(&config_path))?;
    report.push(format!("wrote {}", config.display()));

    let gitignore = dir.join(".gitignore");
    let existing = fs::read_to_string(&gitignore).unwrap_or_default();
    let missing: Vec<String> = ignored(out)
        .into_iter()
        .filter(|line| !existing.lines().any(|l| l.trim() == line))
        .collect();
    if !missing.is_empty() {
        let mut text = existing.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("# outbox: what building the generated tree leaves behind\n");
        for line in &missing {
            text.push_str(line);
            text.push('\n');
        }
        fs::write(&gitignore, text).map_err(io(&gitignore))?;
        report.push(format!(
            "{} .gitignore ({} lines)",
            if existing.is_empty() {
                "wrote"
            } else {
                "added to"
            },
            missing.len()
        ));
    }

    let workflow = dir.join(WORKFLOW_PATH);
    if workflow.exists() {
        report.push(format!("kept {WORKFLOW_PATH} (it exists)"));
    } else {
        let text = WORKFLOW
            .replace("{{version}}", crate::VERSION)
            .replace("{{config}}", &slash(config))
            .replace("{{out}}", &slash(out));
        fs::create_dir_all(workflow.parent().expect("a nested path")).map_err(io(&workflow))?;
        fs::write(&workflow, text).map_err(io(&workflow))?;
        report.push(format!("wrote {WORKFLOW_PATH} (outbox --check in CI)"));
    }
    Ok(report)
}

/// The `.gitignore` lines for an output directory: build output inside it. The generated
/// files themselves are committed.
pub fn ignored(out: &Path) -> Vec<String> {
    let out = slash(out);
    let out = out.trim_end_matches('/');
    [
        "relay/target/",
        "cdk/node_modules/",
        "cdk/dist/",
        "cdk/cdk.out/",
        "sam/.aws-sam/",
    ]
    .iter()
    .map(|dir| format!("/{out}/{dir}"))
    .chain(["/target/".to_owned(), "/.outbox-dev/".to_owned()])
    .collect()
}

fn slash(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
