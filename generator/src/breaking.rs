//! `generator breaking`: compares the event schemas the current config produces with an
//! earlier version's (a directory, or a git revision of the generated schemas) and lists what
//! would break consumers. Bumping an event's `schema-version` makes its changes deliberate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::plan::schema::Schema;

/// An event's schema file, as compared.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `x-outbox-schema-version`.
    pub version: u64,
    /// The envelope's `source` const.
    pub source: String,
    /// The envelope's `detail-type` const.
    pub detail_type: String,
    /// The detail schema.
    pub detail: Value,
}

impl Snapshot {
    /// Reads an envelope schema as generated in `schemas/`.
    pub fn from_schema(schema: &Value) -> Option<(String, Snapshot)> {
        let name = schema.get("title")?.as_str()?.to_owned();
        Some((
            name,
            Snapshot {
                version: schema
                    .get("x-outbox-schema-version")
                    .and_then(Value::as_u64)
                    .unwrap_or(1),
                source: schema
                    .pointer("/properties/source/const")?
                    .as_str()?
                    .to_owned(),
                detail_type: schema
                    .pointer("/properties/detail-type/const")?
                    .as_str()?
                    .to_owned(),
                detail: schema.pointer("/$defs/detail")?.clone(),
            },
        ))
    }
}

/// Event name -> schema.
pub type Snapshots = BTreeMap<String, Snapshot>;

/// Reads the schemas of an earlier version: `against` is a directory (a `schemas/` directory or
/// an output directory holding one) or a git revision, whose `<out>/schemas` is read.
pub fn load_earlier(against: &str, out: &Path) -> Result<Snapshots, String> {
    let path = Path::new(against);
    if path.is_dir() {
        let dir = if path.join("schemas").is_dir() {
            path.join("schemas")
        } else {
            path.to_path_buf()
        };
        let mut snapshots = Snapshots::new();
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
                insert(&mut snapshots, &text, &entry.path().display().to_string())?;
            }
        }
        return Ok(snapshots);
    }
    let tree = format!("{against}:./{}/schemas", out.display());
    let listing = git(&["ls-tree", "--name-only", &tree]).map_err(|e| {
        format!(
            "`{against}` is neither a directory nor a git revision with {}/schemas: {e}",
            out.display()
        )
    })?;
    let mut snapshots = Snapshots::new();
    for file in listing.lines().filter(|f| f.ends_with(".json")) {
        let text = git(&["show", &format!("{tree}/{file}")])?;
        insert(&mut snapshots, &text, file)?;
    }
    Ok(snapshots)
}

fn insert(snapshots: &mut Snapshots, text: &str, origin: &str) -> Result<(), String> {
    let schema: Value = serde_json::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    if let Some((name, snapshot)) = Snapshot::from_schema(&schema) {
        snapshots.insert(name, snapshot);
    }
    Ok(())
}

fn git(args: &[&str]) -> Result<String, String> {
    run_git(Command::new("git").args(args))
}

/// Runs a git command; its output, or what it said on failure.
fn run_git(command: &mut Command) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// What changed for one event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Changes that break consumers of the earlier version.
    pub breaking: Vec<String>,
    /// Changes consumers of the earlier version accept.
    pub compatible: Vec<String>,
    /// Set when the schema version was bumped: the changes are deliberate.
    pub bumped: Option<(u64, u64)>,
}

/// Compares every event; reports only events with changes.
pub fn compare(earlier: &Snapshots, current: &Snapshots) -> BTreeMap<String, Report> {
    let mut reports = BTreeMap::new();
    for (name, old) in earlier {
        let mut report = Report::default();
        match current.get(name) {
            None => report.breaking.push("the event was removed".into()),
            Some(new) => {
                if new.source != old.source {
                    report.breaking.push(format!(
                        "source changed from `{}` to `{}`",
                        old.source, new.source
                    ));
                }
                if new.detail_type != old.detail_type {
                    report.breaking.push(format!(
                        "detail-type changed from `{}` to `{}`",
                        old.detail_type, new.detail_type
                    ));
                }
                schema_changes(
                    "",
                    Schema::of(&old.detail),
                    Schema::of(&new.detail),
                    &mut report,
                );
                if new.version > old.version {
                    report.bumped = Some((old.version, new.version));
                }
            }
        }
        if !report.breaking.is_empty() || !report.compatible.is_empty() {
            reports.insert(name.clone(), report);
        }
    }
    for name in current.keys().filter(|n| !earlier.contains_key(*n)) {
        reports.insert(
            name.clone(),
            Report {
                compatible: vec!["new event".into()],
                ..Report::default()
            },
        );
    }
    reports
}

/// The string values of a schema's `enum`.
fn enum_strings(schema: Schema) -> BTreeSet<String> {
    schema
        .enum_values()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn schema_changes(at: &str, old: Schema, new: Schema, report: &mut Report) {
    let place = if at.is_empty() {
        "the detail".to_owned()
    } else {
        format!("`{at}`")
    };
    if old.type_json() != new.type_json() {
        report.breaking.push(format!(
            "{place} changed type from {} to {}",
            show(old.type_json()),
            show(new.type_json())
        ));
        return;
    }
    if old.constant() != new.constant() {
        report.breaking.push(format!(
            "{place} changed its constant from {} to {}",
            show(old.constant()),
            show(new.constant())
        ));
    }
    if old.format() != new.format()
        && let Some(format) = new.format()
    {
        report
            .breaking
            .push(format!("{place} now has format {}", Value::from(format)));
    }
    let (old_enum, new_enum) = (enum_strings(old), enum_strings(new));
    if let Some(allowed) = new.enum_values() {
        let dropped: Vec<&String> = if old.enum_values().is_some() {
            old_enum.difference(&new_enum).collect()
        } else {
            Vec::new()
        };
        if old.enum_values().is_none() {
            report.breaking.push(format!(
                "{place} is now restricted to {}",
                Value::from(allowed.clone())
            ));
        } else if !dropped.is_empty() {
            report
                .breaking
                .push(format!("{place} no longer allows {}", join(dropped)));
        } else if new_enum.len() > old_enum.len() {
            report.compatible.push(format!(
                "{place} now also allows {}",
                join(new_enum.difference(&old_enum).collect())
            ));
        }
    }
    if old.explicitly_open() && new.closed() {
        report
            .breaking
            .push(format!("{place} no longer allows other properties"));
    }
    let fields = |schema: Schema| -> BTreeSet<String> {
        schema
            .properties()
            .map(|(name, _)| name.to_owned())
            .collect()
    };
    let required = |schema: Schema| -> BTreeSet<String> {
        schema.required().into_iter().map(str::to_owned).collect()
    };
    let (old_props, new_props) = (fields(old), fields(new));
    let (old_required, new_required) = (required(old), required(new));
    for field in old_props.difference(&new_props) {
        report
            .breaking
            .push(format!("`{}` was removed", child(at, field)));
    }
    for field in new_props.difference(&old_props) {
        let path = child(at, field);
        if new_required.contains(field) {
            report
                .breaking
                .push(format!("`{path}` was added as required"));
        } else {
            report
                .compatible
                .push(format!("`{path}` was added (optional)"));
        }
    }
    for field in old_props.intersection(&new_props) {
        let path = child(at, field);
        match (old_required.contains(field), new_required.contains(field)) {
            (false, true) => report.breaking.push(format!("`{path}` became required")),
            (true, false) => report.compatible.push(format!("`{path}` became optional")),
            _ => {}
        }
        if let (Some(old_field), Some(new_field)) = (old.property(field), new.property(field)) {
            schema_changes(&path, old_field, new_field, report);
        }
    }
    if let (Some(old_items), Some(new_items)) = (old.items(), new.items()) {
        schema_changes(&format!("{at}[]"), old_items, new_items, report);
    }
}

fn child(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_owned()
    } else {
        format!("{at}.{field}")
    }
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "none".to_owned(), Value::to_string)
}

fn join(items: Vec<&String>) -> String {
    items
        .into_iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One version of an event in its history: what changed from the version before it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Version {
    /// The schema version.
    pub version: u64,
    /// Whether it is the version being generated.
    pub current: bool,
    /// Changes that broke consumers of the version before.
    pub breaking: Vec<String>,
    /// Changes consumers of the version before accept.
    pub compatible: Vec<String>,
}

/// Event name -> its versions, oldest first (only events with an earlier version).
pub type History = BTreeMap<String, Vec<Version>>;

/// The schema versions of each event before the current one, read from the git history of
/// `<out>/schemas/` (the committed schema files; nothing uncommitted), with what `compare` finds
/// between each version and the next. Depends only on the committed versions, not on commits
/// or dates, so committing the current version does not change it. Empty outside a git
/// repository.
pub fn history(out: &Path, current: &Snapshots, files: &BTreeMap<String, String>) -> History {
    let mut history = History::new();
    for (name, now) in current {
        let Some(file) = files.get(name) else {
            continue;
        };
        let path = format!("schemas/{file}");
        let Ok(log) = git_in(out, &["log", "--format=%H", "--", &path]) else {
            continue;
        };
        // Newest first: the last snapshot of each earlier version.
        let mut versions: BTreeMap<u64, Snapshot> = BTreeMap::new();
        for commit in log.lines() {
            let Ok(text) = git_in(out, &["show", &format!("{commit}:./{path}")]) else {
                continue;
            };
            let Some((_, snapshot)) = serde_json::from_str(&text)
                .ok()
                .and_then(|schema: Value| Snapshot::from_schema(&schema))
            else {
                continue;
            };
            if snapshot.version < now.version {
                versions.entry(snapshot.version).or_insert(snapshot);
            }
        }
        if versions.is_empty() {
            continue;
        }
        let mut entries = Vec::new();
        let mut previous: Option<&Snapshot> = None;
        for (version, snapshot) in versions.iter().chain([(&now.version, now)]) {
            let report = previous.map(|before| {
                let earlier = Snapshots::from([(name.clone(), before.clone())]);
                let later = Snapshots::from([(name.clone(), snapshot.clone())]);
                compare(&earlier, &later).remove(name).unwrap_or_default()
            });
            let report = report.unwrap_or_default();
            entries.push(Version {
                version: *version,
                current: *version == now.version,
                breaking: report.breaking,
                compatible: report.compatible,
            });
            previous = Some(snapshot);
        }
        history.insert(name.clone(), entries);
    }
    history
}

fn git_in(dir: &Path, args: &[&str]) -> Result<String, String> {
    run_git(Command::new("git").arg("-C").arg(dir).args(args))
}
