//! Golden tests of `generator breaking`: each directory under `tests/breaking/` holds an
//! `old.yaml` and a `new.yaml`; the old config is generated, the new one compared against it,
//! and the exit code and report must equal `expected.txt` (`OUTBOX_BLESS=1` to accept).

mod common;

use std::fs;
use std::path::Path;

use common::{bless, generator};

#[test]
fn breaking_changes_are_reported_and_compatible_ones_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/breaking");
    let mut cases: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8);
    let mut failures = Vec::new();
    let mut exits = Vec::new();
    for case in cases {
        let tmp = tempfile::tempdir().unwrap();
        let earlier = tmp.path().join("earlier");
        let old = generator(
            &case,
            &["--config", "old.yaml", "--out", earlier.to_str().unwrap()],
        );
        assert_eq!(old.code, 0, "{}", old.stderr);
        let run = generator(
            &case,
            &[
                "--config",
                "new.yaml",
                "breaking",
                "--against",
                earlier.to_str().unwrap(),
            ],
        );
        let actual = format!(
            "exit {}\n{}",
            run.code,
            run.stdout.replace(earlier.to_str().unwrap(), "EARLIER")
        );
        let expected_file = case.join("expected.txt");
        if bless() {
            fs::write(&expected_file, &actual).unwrap();
        }
        if actual != fs::read_to_string(&expected_file).unwrap_or_default() {
            failures.push(format!("{}:\n{actual}{}", case.display(), run.stderr));
        }
        exits.push(run.code);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        exits.contains(&0) && exits.contains(&1),
        "both verdicts are exercised"
    );
}
