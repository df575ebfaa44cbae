//! Diagnostics about a config file: where (`FILE:LINE:COL` and the field path), what is wrong,
//! and how to fix it; rendered like a compiler, with the offending source line.

use std::fmt::{self, Write as _};

use crate::yaml_index::{Path, Position, YamlIndex};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Generation stops; nothing is written.
    Error,
    /// Reported; generation goes on.
    Warning,
}

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where in the file, when known.
    pub position: Option<Position>,
    /// The field the problem is about (`tables.app-table.events.UserCreated.source`).
    pub path: Path,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error about `path`.
    pub fn error(path: Path, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            position: None,
            path,
            message: message.into(),
            hint: None,
        }
    }

    /// A warning about `path`.
    pub fn warning(path: Path, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(path, message)
        }
    }

    /// Adds a hint on how to fix the problem.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this diagnostic stops generation.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic for a terminal: the located message, the source line with a
    /// caret, and the hint.
    pub fn render(&self, file: &str, text: &str) -> String {
        let mut out = String::new();
        let place = match self.position {
            Some(p) => format!("{file}:{}:{}", p.line, p.column),
            None => file.to_owned(),
        };
        let severity = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        let path = if self.path.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.path)
        };
        let _ = writeln!(out, "{place}: {severity}{path}{}", self.message);
        if let Some(p) = self.position
            && let Some(line) = text.lines().nth(p.line - 1)
        {
            let number = p.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_at: String = line
                .chars()
                .take(p.column - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{number} | {line}");
            let _ = writeln!(out, "{pad} | {caret_at}^");
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "  = hint: {hint}");
        }
        out
    }
}

/// Everything wrong with one config file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    /// The file as the user named it.
    pub file: String,
    /// Its text (for the source lines in the report); empty when it could not be read.
    pub text: String,
    /// The problems, errors and warnings.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Places each diagnostic at its path in the file and sorts them in file order.
    pub fn located(file: &str, text: &str, index: &YamlIndex, mut items: Vec<Diagnostic>) -> Self {
        for item in &mut items {
            if item.position.is_none() {
                item.position = index.locate(&item.path);
            }
        }
        items.sort_by(|a, b| {
            (a.position, a.severity, &a.message).cmp(&(b.position, b.severity, &b.message))
        });
        items.dedup();
        Diagnostics {
            file: file.to_owned(),
            text: text.to_owned(),
            items,
        }
    }

    /// Number of errors (warnings do not count).
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            f.write_str(&item.render(&self.file, &self.text))?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Formats " (did you mean `x`?)" or nothing.
pub fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(word, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}
