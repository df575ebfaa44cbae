//! Stage 1, `load`: bytes of `outbox.yaml` -> the typed [`Config`], with an index of where each
//! field is in the file. Hostile input (alias bombs, deep nesting, huge files, invalid UTF-8,
//! duplicate keys) fails fast with a located error.

use std::path::Path as FsPath;

use serde::Deserialize;
use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, UserMessageFormatter};

use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::yaml_index::{Path, Position, YamlIndex};

/// Config files larger than this are refused before parsing.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// Deepest nesting accepted (the real grammar needs about 10 levels).
const MAX_DEPTH: usize = 32;

/// The only config version this generator reads.
pub const VERSION: u32 = 1;

/// A parsed config file.
#[derive(Debug)]
pub struct Loaded {
    /// The file name as the user gave it.
    pub file: String,
    /// Its text.
    pub text: String,
    /// Where each field is.
    pub index: YamlIndex,
    /// The typed config.
    pub config: Config,
}

impl Loaded {
    /// Locates `items` in this file.
    pub fn diagnostics(&self, items: Vec<Diagnostic>) -> Diagnostics {
        Diagnostics::located(&self.file, &self.text, &self.index, items)
    }
}

/// Reads and parses a config file.
pub fn load_file(path: &FsPath) -> Result<Loaded, Diagnostics> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        single(
            &file,
            "",
            Diagnostic::error(Path::root(), format!("cannot read the file: {e}"))
                .hint("run the generator where outbox.yaml is, or pass --config FILE"),
        )
    })?;
    load(&file, &bytes)
}

/// Parses config bytes; `file` names them in diagnostics.
pub fn load(file: &str, bytes: &[u8]) -> Result<Loaded, Diagnostics> {
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(single(
            file,
            "",
            Diagnostic::error(
                Path::root(),
                format!(
                    "the file is {} bytes; the limit is {MAX_CONFIG_BYTES} bytes",
                    bytes.len()
                ),
            )
            .hint("an outbox.yaml is a few kilobytes; check that this is the right file"),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(e) => {
            let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
            let mut diagnostic = Diagnostic::error(
                Path::root(),
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
            .hint("save the file as UTF-8");
            diagnostic.position = Some(end_position(&valid));
            return Err(single(file, &valid, diagnostic));
        }
    };
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(single(
            file,
            &text,
            Diagnostic::error(Path::root(), "the file is empty")
                .hint("start with `version: 1`; see the outbox.yaml reference in README.md"),
        ));
    }

    check_version(file, &text)?;
    let config = parse::<Config>(file, &text)?;
    let index = YamlIndex::build(&text);
    let unreviewed = review_marks(&text, &index);
    if !unreviewed.is_empty() {
        return Err(Diagnostics {
            file: file.to_owned(),
            text,
            items: unreviewed,
        });
    }
    Ok(Loaded {
        file: file.to_owned(),
        text,
        index,
        config,
    })
}

/// The comment `outbox init --from-table` puts on every line it inferred.
pub const REVIEW_MARK: &str = "# REVIEW:";

/// One error per line still carrying a [`REVIEW_MARK`]: a proposal generates nothing until a
/// person has checked each inferred line and deleted its mark.
fn review_marks(text: &str, index: &YamlIndex) -> Vec<Diagnostic> {
    text.lines()
        .enumerate()
        .filter_map(|(line, content)| {
            let at = content.find(REVIEW_MARK)?;
            let position = Position {
                line: line + 1,
                column: content[..at].chars().count() + 1,
            };
            let reason = content[at + REVIEW_MARK.len()..].trim();
            let mut diagnostic = Diagnostic::error(
                index
                    .path_on_line(position.line)
                    .cloned()
                    .unwrap_or_default(),
                format!("inferred by `outbox init --from-table`, not reviewed yet: {reason}"),
            )
            .hint("check the line against your table, then delete its `# REVIEW:` mark");
            diagnostic.position = Some(position);
            Some(diagnostic)
        })
        .collect()
}

/// Reports a missing or unsupported `version` before any other problem: a file written for
/// another version would otherwise get a confusing list of unknown fields.
fn check_version(file: &str, text: &str) -> Result<(), Diagnostics> {
    #[derive(Deserialize)]
    struct Versioned {
        version: Option<serde_json::Value>,
    }
    let versioned = parse::<Versioned>(file, text)?;
    let problem = match versioned.version {
        None => "missing `version`".to_owned(),
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(VERSION.into()) => return Ok(()),
        Some(other) => {
            format!("unsupported version {other}; this generator reads version {VERSION}")
        }
    };
    let index = YamlIndex::build(text);
    Err(Diagnostics::located(
        file,
        text,
        &index,
        vec![
            Diagnostic::error(Path::root().key("version"), problem)
                .hint(format!("put `version: {VERSION}` at the top of the file")),
        ],
    ))
}

/// How config YAML is read: YAML 1.2 booleans (`N` and `yes` are strings, as editors read
/// them), duplicate keys rejected, and budgets far below what hostile input needs.
pub fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.with_snippet = false;
    if let Some(budget) = options.budget.as_mut() {
        budget.max_depth = MAX_DEPTH;
        budget.max_aliases = 1_000;
        budget.max_events = 100_000;
        budget.max_nodes = 50_000;
    }
    options
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, Diagnostics> {
    serde_saphyr::from_str_with_options::<T>(text, yaml_options()).map_err(|e| {
        let position = e.location().and_then(|l| {
            (l.line() > 0).then(|| Position {
                line: l.line() as usize,
                column: l.column() as usize,
            })
        });
        let index = YamlIndex::build(text);
        let path = position
            .and_then(|p| index.path_at(p).cloned())
            .unwrap_or_default();
        let message = UserMessageFormatter.format_message(e.without_snippet());
        let mut diagnostic = Diagnostic::error(path, message.escape_debug().to_string());
        diagnostic.position = position;
        if let Some(hint) = hint_for(&diagnostic.message) {
            diagnostic = diagnostic.hint(hint);
        }
        single(file, text, diagnostic)
    })
}

/// Hints for the deserializer's messages that have a usual cause.
fn hint_for(message: &str) -> Option<String> {
    if message.contains("tab") {
        return Some("indent with spaces: YAML does not allow tabs for indentation".into());
    }
    if message.contains("duplicate") {
        return Some("each key may appear once in a mapping; merge or rename the entries".into());
    }
    if message.contains("expected mapping") {
        return Some("write a mapping (`name: value` lines) here, not a list (`- item` lines) or a single value".into());
    }
    if message.contains("unknown field") {
        return Some(
            "see the outbox.yaml reference in README.md for the fields of each section".into(),
        );
    }
    None
}

fn single(file: &str, text: &str, diagnostic: Diagnostic) -> Diagnostics {
    Diagnostics {
        file: file.to_owned(),
        text: text.to_owned(),
        items: vec![diagnostic],
    }
}

fn end_position(text: &str) -> Position {
    let line = text.matches('\n').count() + 1;
    let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Position { line, column }
}
