//! Golden tests of `outbox breaking`: each directory under `tests/breaking/` holds an
//! `old.yaml` and a `new.yaml`; the old config is generated, the new one compared against it,
//! and the exit code and report must equal `expected.txt` (`OUTBOX_BLESS=1` to accept). One
//! test per pair, named `breaking/<dir>`.

mod common;

use std::fs;
use std::path::Path;

use common::{bless, generator};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/breaking");
    let mut cases: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8);
    // Both verdicts are exercised.
    let exits: Vec<String> = cases
        .iter()
        .map(|case| fs::read_to_string(case.join("expected.txt")).unwrap_or_default())
        .collect();
    assert!(
        exits.iter().any(|e| e.starts_with("exit 0\n"))
            && exits.iter().any(|e| e.starts_with("exit 1\n")),
        "the pairs exercise both verdicts"
    );
    let trials = cases
        .into_iter()
        .map(|case| {
            let name = format!("breaking/{}", case.file_name().unwrap().to_string_lossy());
            Trial::test(name, move || compare(&case).map_err(Failed::from))
        })
        .collect();
    libtest_mimic::run(&Arguments::from_args(), trials).exit();
}

fn compare(case: &Path) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let earlier = tmp.path().join("earlier");
    let old = generator(
        case,
        &["--config", "old.yaml", "--out", earlier.to_str().unwrap()],
    );
    if old.code != 0 {
        return Err(format!("old.yaml: exit {}\n{}", old.code, old.stderr));
    }
    let run = generator(
        case,
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
    let expected = fs::read_to_string(&expected_file).unwrap_or_default();
    if actual != expected {
        return Err(format!(
            "--- expected\n{expected}--- actual\n{actual}{}",
            run.stderr
        ));
    }
    Ok(())
}
