//! Helpers shared by the integration tests: running the generator binary and comparing trees.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Whether to rewrite expectations instead of comparing (`OUTBOX_BLESS=1`).
pub fn bless() -> bool {
    std::env::var_os("OUTBOX_BLESS").is_some_and(|v| v == "1")
}

/// The directories under `tests/cases`, sorted.
pub fn case_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The example configs under `examples/` (each with `outbox.yaml` and its `generated/`), checked
/// like the good golden cases.
pub fn example_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("examples");
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("outbox.yaml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Every good golden case and every example.
pub fn good_dirs() -> Vec<PathBuf> {
    case_dirs()
        .into_iter()
        .filter(|d| {
            !d.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("error-")
        })
        .chain(example_dirs())
        .collect()
}

/// A case's test name: its directory under `tests/cases` (`error-targets`), or `examples/<name>`
/// for an example.
pub fn case_name(case: &Path) -> String {
    let dir = case.file_name().unwrap().to_string_lossy();
    if case.starts_with(Path::new(env!("CARGO_MANIFEST_DIR"))) {
        dir.into_owned()
    } else {
        format!("examples/{dir}")
    }
}

/// Where a good case's generated tree is kept: `expected/` for a golden case, `generated/` for
/// an example (as a user's project has it).
pub fn expected_dir(case: &Path) -> PathBuf {
    if case.starts_with(Path::new(env!("CARGO_MANIFEST_DIR"))) {
        case.join("expected")
    } else {
        case.join("generated")
    }
}

/// What a run of the generator did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the generator binary in `dir` with `args`.
pub fn generator(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_outbox"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the generator binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every file under `dir`: relative path -> contents. A missing directory is empty.
pub fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let relative = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            (relative, fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Every file's modification time under `dir`.
pub fn mtimes(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let mtime = fs::metadata(&p).unwrap().modified().unwrap();
            (p, mtime)
        })
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            // What building leaves in an output directory is not part of it (a relay built
            // where it stands keeps its Cargo.lock beside it).
            let name = path.file_name().unwrap_or_default();
            if name == "Cargo.lock" || outbox::write::IGNORED_DIRS.iter().any(|d| name == *d) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Writes `tree` under `dir`.
pub fn write_tree(dir: &Path, tree: &BTreeMap<String, String>) {
    for (path, contents) in tree {
        let target = dir.join(path);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(target, contents).unwrap();
    }
}

/// A readable account of how two trees differ.
pub fn tree_diff(expected: &BTreeMap<String, String>, actual: &BTreeMap<String, String>) -> String {
    let mut out =
        String::from("generated tree differs from expected/ (OUTBOX_BLESS=1 to accept):\n");
    for path in expected
        .keys()
        .chain(actual.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let old = expected.get(path).map_or("", String::as_str);
        let new = actual.get(path).map_or("", String::as_str);
        if old != new {
            out.push_str(
                &similar::TextDiff::from_lines(old, new)
                    .unified_diff()
                    .header(&format!("expected/{path}"), &format!("actual/{path}"))
                    .to_string(),
            );
        }
    }
    out
}
