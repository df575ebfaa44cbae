//! Golden tests. Each directory under `tests/cases/` holds an `outbox.yaml` and either
//! `expected/` (the tree it generates) or `expected.stderr` (its diagnostics, exit code 2, and
//! an output directory left exactly as it was). `OUTBOX_BLESS=1 cargo test` rewrites them.

mod common;

use std::fs;
use std::path::Path;

use common::{
    bless, case_dirs, case_name, example_dirs, expected_dir, generator, read_tree, write_tree,
};
use libtest_mimic::{Arguments, Failed, Trial};

/// One test per case, named for its directory (`cargo test -p outbox -- error-targets` runs
/// exactly that one); the examples are `examples/<name>`.
fn main() {
    let cases = case_dirs();
    assert!(
        cases.len() >= 30,
        "expected the full set of cases, found {}",
        cases.len()
    );
    let examples = example_dirs();
    assert!(!examples.is_empty(), "the examples/ configs");
    let trials = cases
        .into_iter()
        .chain(examples)
        .map(|case| {
            let name = case_name(&case);
            let failing = name.starts_with("error-");
            Trial::test(name, move || {
                let result = if failing {
                    failing_case(&case)
                } else {
                    passing_case(&case)
                };
                result.map_err(Failed::from)
            })
        })
        .collect();
    libtest_mimic::run(&Arguments::from_args(), trials).exit();
}

fn passing_case(case: &Path) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let first = generator(case, &["--out", out.to_str().unwrap()]);
    if first.code != 0 {
        return Err(format!("exit {}:\n{}", first.code, first.stderr));
    }
    let tree = read_tree(&out);
    let expected_dir = expected_dir(case);
    if bless() {
        // An example's relay keeps its Cargo.lock (not generated) across a bless.
        let lock = expected_dir.join("relay/Cargo.lock");
        let kept = fs::read(&lock).ok();
        let _ = fs::remove_dir_all(&expected_dir);
        write_tree(&expected_dir, &tree);
        if let Some(kept) = kept {
            fs::write(&lock, kept).unwrap();
        }
    }
    let expected = read_tree(&expected_dir);
    if tree != expected {
        return Err(common::tree_diff(&expected, &tree));
    }
    let mtimes = common::mtimes(&out);
    let second = generator(case, &["--out", out.to_str().unwrap()]);
    if second.code != 0 || read_tree(&out) != tree {
        return Err("generating twice gave different output".into());
    }
    if common::mtimes(&out) != mtimes {
        return Err("generating again rewrote unchanged files".into());
    }
    let check = generator(case, &["--out", out.to_str().unwrap(), "--check"]);
    if check.code != 0 {
        return Err(format!(
            "--check right after generating: exit {}\n{}",
            check.code, check.stdout
        ));
    }
    Ok(())
}

fn failing_case(case: &Path) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let before = [
        (
            "README.md".to_owned(),
            "<!-- @generated stale -->\n".to_owned(),
        ),
        ("notes.txt".to_owned(), "a file of the user's\n".to_owned()),
    ]
    .into();
    write_tree(&out, &before);
    let run = generator(case, &["--out", out.to_str().unwrap()]);
    if run.code != 2 {
        return Err(format!(
            "expected exit 2, got {}:\n{}",
            run.code, run.stderr
        ));
    }
    if read_tree(&out) != before {
        return Err("the output directory changed".into());
    }
    let stderr = run.stderr.replace(out.to_str().unwrap(), "OUT");
    let expected_file = case.join("expected.stderr");
    if bless() {
        fs::write(&expected_file, &stderr).unwrap();
    }
    let expected = fs::read_to_string(&expected_file).unwrap_or_default();
    if stderr != expected {
        return Err(format!(
            "stderr differs\n--- expected\n{expected}\n--- actual\n{stderr}"
        ));
    }
    if !stderr.contains("outbox.yaml") {
        return Err("the diagnostics do not name the file".into());
    }
    Ok(())
}
