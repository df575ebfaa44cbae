//! The docs stay true to the tree: every repository path they name (in backquotes or as a link)
//! exists. A path is looked up from the repository's root, in the example's generated tree (the
//! docs name a generated file as a user's repository has it: `cdk/outbox.json`), and, for the
//! short forms the docs use inside a crate (`publish/cbor.rs`), under each crate's `src/` and
//! `tests/`; a bare file name (`prepare.rs`) must be some file's name.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The docs whose paths are checked: the contributors' pages and the users' guide.
fn docs() -> Vec<PathBuf> {
    let mut docs = Vec::new();
    for dir in ["docs", "docs/guide"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                docs.push(path);
            }
        }
    }
    docs.push(root().join("README.md"));
    docs.sort();
    docs
}

/// Whether `token` reads as a path in this repository (not a command, a placeholder, a URL,
/// build output or a generated file of a user's repository).
fn names_a_path(token: &str) -> bool {
    let known_ends = [
        ".rs", ".md", ".toml", ".py", ".sh", ".ts", ".mjs", ".json", ".yaml", ".j2", ".css",
    ];
    let looks = token.contains('/') || known_ends.iter().any(|e| token.ends_with(e));
    looks
        && !token.contains(char::is_whitespace)
        && !token.contains(['<', '>', '*', '{', '}', '$', '|', '=', '(', ')', '#', '@', ',', '\''])
        && !token.starts_with(['/', '~', '-', '.'])
        && !token.contains("://")
        && !token.starts_with("target/")
        && !token.contains("node_modules")
        && !token.starts_with("generated/")
        && !token.contains("/generated/")
        && !token.starts_with("expected/")
        && !["cdk.out", ".aws-sam", "dist"].iter().any(|b| token.split('/').any(|s| s == *b))
        // `OUT/relay`: a placeholder for a directory the user picks.
        && !token.split('/').next().is_some_and(|s| s.len() > 1 && s.chars().all(|c| c.is_ascii_uppercase()))
        && token.chars().any(|c| c.is_ascii_alphabetic())
}

/// Every path-like token of a Markdown text: backquoted spans and link targets.
fn named_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        if i % 2 == 1 && names_a_path(span) {
            found.push(span.trim_end_matches('/').to_owned());
        }
    }
    for part in text.split("](").skip(1) {
        let target = part.split(')').next().unwrap_or_default();
        let target = target.split('#').next().unwrap_or_default();
        if !target.is_empty() && names_a_path(target) {
            found.push(format!("link:{target}"));
        }
    }
    found
}

/// Where a named path could be: from the root, beside the doc (links), or inside a crate.
fn exists(doc: &Path, named: &str) -> bool {
    if let Some(link) = named.strip_prefix("link:") {
        return doc.parent().unwrap().join(link).exists();
    }
    if !named.contains('/') {
        return file_names().iter().any(|name| name == named);
    }
    let mut bases = vec![root(), root().join("generated")];
    for krate in [
        "generator",
        "runtime",
        "ops",
        "local-bus",
        "pattern",
        "stack",
        "e2e",
        "bench",
    ] {
        for sub in ["", "src", "src/render", "tests", "templates"] {
            bases.push(root().join(krate).join(sub));
        }
    }
    bases.push(root().join(".ci"));
    bases.iter().any(|base| base.join(named).exists())
}

/// The name of every file and directory of the repository (build output left out).
fn file_names() -> &'static Vec<String> {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names = Vec::new();
        let mut pending = vec![root()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name == "target"
                    || name == "node_modules"
                    || name.starts_with(".venv")
                    || name == ".git"
                {
                    continue;
                }
                if path.is_dir() {
                    pending.push(path);
                }
                names.push(name);
            }
        }
        names
    })
}

fn missing(doc: &Path, text: &str) -> Vec<String> {
    named_paths(text)
        .into_iter()
        .filter(|named| !exists(doc, named))
        .collect()
}

#[test]
fn every_path_the_docs_name_exists() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in docs() {
        let text = std::fs::read_to_string(&doc).unwrap();
        checked += named_paths(&text).len();
        for named in missing(&doc, &text) {
            problems.push(format!("{}: `{named}` does not exist", doc.display()));
        }
    }
    assert!(
        checked > 100,
        "only {checked} paths found: the scan is broken"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_path_that_is_gone_is_reported() {
    let doc = root().join("docs/architecture.md");
    let text = "`generator/src/plan/naming.rs` and `generator/src/validate_events.rs`, \
                `naming.rs` and `value.rs`, `cdk/outbox.json`, \
                and [the guide](guide/local.md), [gone](guide/nothing.md)";
    assert_eq!(
        missing(&doc, text),
        [
            "generator/src/validate_events.rs",
            "value.rs",
            "link:guide/nothing.md"
        ]
    );
}
