//! The event catalog's version history comes from the committed schemas (`breaking` between
//! each version and the next), and committing the current version does not change it, so
//! `--check` stays clean. (The pages themselves are checked in a browser by the test command.)

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::generator;

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=outbox",
            "-c",
            "user.email=outbox@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

fn minimal() -> String {
    fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/ok-minimal/outbox.yaml"),
    )
    .unwrap()
}

#[test]
fn the_history_lists_each_committed_version_with_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    git(dir, &["init", "-q"]);
    let v1 = minimal();
    assert!(v1.contains("          email: new.email\n"));
    fs::write(dir.join("outbox.yaml"), &v1).unwrap();
    assert_eq!(generator(dir, &[]).code, 0);
    let page =
        || fs::read_to_string(dir.join("generated/catalog/events/UserCreated.html")).unwrap();
    assert!(page().contains("Version 1 is the first version"));
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "v1"]);

    // v2 drops `email` (breaking), v3 adds an optional field (compatible).
    let v2 = v1.replace("          email: new.email\n", "").replace(
        "        source: shop.users\n",
        "        source: shop.users\n        schema-version: 2\n",
    );
    fs::write(dir.join("outbox.yaml"), &v2).unwrap();
    assert_eq!(generator(dir, &[]).code, 0);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "v2"]);
    let v3 = v2
        .replace("schema-version: 2", "schema-version: 3")
        .replace(
            "          userId:",
            "          status: new.status\n          userId:",
        );
    fs::write(dir.join("outbox.yaml"), &v3).unwrap();
    let run = generator(dir, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = page();
    let v3_at = html.find("<td>v3 (current)</td>").expect("v3 is current");
    let v2_at = html.find("<td>v2</td>").expect("v2");
    let v1_at = html.find("<td>v1</td>").expect("v1");
    assert!(v3_at < v2_at && v2_at < v1_at, "newest first");
    let v2_row = &html[v2_at..v1_at];
    assert!(
        v2_row.contains("class=\"breaking\"") && v2_row.contains("email"),
        "{v2_row}"
    );
    let v3_row = &html[v3_at..v2_at];
    assert!(
        v3_row.contains("class=\"compatible\"") && v3_row.contains("status"),
        "{v3_row}"
    );
    assert!(!v3_row.contains("class=\"breaking\""), "{v3_row}");

    // Committing the current version changes nothing: the output stays current.
    assert_eq!(generator(dir, &["--check"]).code, 0);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "v3"]);
    let check = generator(dir, &["--check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    assert_eq!(page(), html);
}
