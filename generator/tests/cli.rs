//! The command-line contract: `--help`, `--check` on stale/missing/extra files, removal of
//! files no longer generated, hostile input, and the committed example being current.

mod common;

use std::fs;
use std::path::Path;

use common::{generator, read_tree};

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn minimal_case() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/ok-minimal")
}

#[test]
fn help_is_stable() {
    let run = generator(workspace_root(), &["--help"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn bad_usage_exits_2() {
    let run = generator(workspace_root(), &["--no-such-flag"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);
}

#[test]
fn committed_example_output_is_current() {
    let run = generator(workspace_root(), &["--check"]);
    assert_eq!(
        run.code, 0,
        "generated/ is stale; run `cargo run -p generator`:\n{}",
        run.stdout
    );
}

#[test]
fn missing_config_file_exits_2_and_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let run = generator(tmp.path(), &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("outbox.yaml: cannot read the file"),
        "{}",
        run.stderr
    );
    assert!(!tmp.path().join("generated").exists());
}

#[test]
fn check_reports_stale_missing_and_extra_files_with_a_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("gen");
    let out_arg = out.to_str().unwrap();
    assert_eq!(generator(&minimal_case(), &["--out", out_arg]).code, 0);

    fs::write(out.join("README.md"), "hand edit\n").unwrap();
    fs::remove_file(out.join("outbox.schema.json")).unwrap();
    fs::write(
        out.join("old-event.json"),
        "{\"$comment\": \"@generated\"}\n",
    )
    .unwrap();
    fs::create_dir_all(out.join("cdk/node_modules/x")).unwrap();
    fs::write(
        out.join("cdk/node_modules/x/index.js"),
        "ignored build output\n",
    )
    .unwrap();
    let before = read_tree(&out);

    let check = generator(&minimal_case(), &["--out", out_arg, "--check"]);
    assert_eq!(check.code, 1, "{}", check.stderr);
    for header in ["README.md", "outbox.schema.json", "old-event.json"] {
        assert!(
            check.stdout.contains(&format!("+++ b/{out_arg}/{header}")),
            "no diff for {header}:\n{}",
            check.stdout
        );
    }
    assert!(check.stdout.contains("-hand edit"));
    assert!(!check.stdout.contains("cdk/node_modules"));
    assert!(check.stderr.contains("stale"));
    assert!(check.stderr.contains("missing"));
    assert!(check.stderr.contains("extra"));
    assert_eq!(read_tree(&out), before, "--check must not write");

    let fix = generator(&minimal_case(), &["--out", out_arg]);
    assert_eq!(fix.code, 0, "{}", fix.stderr);
    assert!(
        !out.join("old-event.json").exists(),
        "a generated file no longer generated is removed"
    );
    assert!(
        out.join("cdk/node_modules/x/index.js").exists(),
        "ignored build output stays"
    );
    assert_eq!(
        generator(&minimal_case(), &["--out", out_arg, "--check"]).code,
        0
    );
}

#[test]
fn foreign_files_are_kept_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("gen");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("mine.txt"), "not generated\n").unwrap();
    let run = generator(&minimal_case(), &["--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0);
    assert_eq!(
        fs::read_to_string(out.join("mine.txt")).unwrap(),
        "not generated\n"
    );
    assert!(
        run.stderr.contains("mine.txt is not generated"),
        "{}",
        run.stderr
    );
    let check = generator(
        &minimal_case(),
        &["--out", out.to_str().unwrap(), "--check"],
    );
    assert_eq!(check.code, 1, "--check reports the foreign file as extra");
}

#[test]
fn huge_config_is_refused_before_parsing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::from("version: 1\n");
    while text.len() <= generator::load::MAX_CONFIG_BYTES {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    fs::write(tmp.path().join("outbox.yaml"), text).unwrap();
    let run = generator(tmp.path(), &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("the limit is 1048576 bytes"),
        "{}",
        run.stderr
    );
    assert!(!tmp.path().join("generated").exists());
}

#[test]
fn validate_reports_each_violation_and_exits_0_1_or_2() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.json");
    let bad = tmp.path().join("bad.json");
    let unknown = tmp.path().join("unknown.json");
    let garbage = tmp.path().join("garbage.json");
    fs::write(
        &good,
        r#"{"version":"0","id":"x","source":"myapp.orders","detail-type":"OrderStatusChanged","detail":{"orderId":"7","previousStatus":"PAID","status":"SHIPPED","order":{"customerId":"c","total":1,"status":"SHIPPED"}}}"#,
    )
    .unwrap();
    fs::write(&bad, r#"{"Source":"myapp.users","DetailType":"UserCreated","Detail":"{\"userId\":1,\"name\":\"A\",\"createdAt\":\"2026-11-27T10:00:00Z\"}"}"#).unwrap();
    fs::write(
        &unknown,
        r#"{"source":"myapp.users","detail-type":"UserDeleted","detail":{}}"#,
    )
    .unwrap();
    fs::write(&garbage, "[1, 2").unwrap();
    let arg = |p: &std::path::PathBuf| p.to_str().unwrap().to_owned();

    let ok = generator(workspace_root(), &["validate", "--event", &arg(&good)]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("valid OrderStatusChanged"));

    let invalid = generator(
        workspace_root(),
        &[
            "validate",
            "--event",
            &arg(&good),
            &arg(&bad),
            &arg(&unknown),
        ],
    );
    assert_eq!(invalid.code, 1, "{}", invalid.stdout);
    assert!(
        invalid.stdout.contains("invalid UserCreated"),
        "{}",
        invalid.stdout
    );
    assert!(
        invalid
            .stdout
            .contains("  /detail: \"email\" is a required property"),
        "{}",
        invalid.stdout
    );
    assert!(
        invalid
            .stdout
            .contains("  /detail/userId: 1 is not of type \"string\""),
        "{}",
        invalid.stdout
    );
    assert!(
        invalid
            .stdout
            .contains("no event has source `myapp.users` and detail-type `UserDeleted`"),
        "{}",
        invalid.stdout
    );

    let unusable = generator(
        workspace_root(),
        &["validate", "--event", &arg(&bad), &arg(&garbage)],
    );
    assert_eq!(unusable.code, 2);
    assert!(
        unusable.stderr.contains("garbage.json: error: not JSON"),
        "{}",
        unusable.stderr
    );

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_generator"))
        .args(["validate", "--event", "-"])
        .current_dir(workspace_root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        fs::read(&good).unwrap().as_slice(),
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("-: valid OrderStatusChanged"));
}

#[test]
fn breaking_against_the_committed_revision_finds_nothing() {
    let run = generator(workspace_root(), &["breaking", "--against", "HEAD"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("no breaking changes against HEAD"),
        "{}",
        run.stdout
    );
    let missing = generator(
        workspace_root(),
        &["breaking", "--against", "no-such-revision"],
    );
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("neither a directory nor a git revision"),
        "{}",
        missing.stderr
    );
}

#[test]
fn simulate_refuses_a_stale_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("generated");
    let out_arg = out.to_str().unwrap();
    assert_eq!(generator(&minimal_case(), &["--out", out_arg]).code, 0);
    fs::write(out.join("relay/src/mapping.rs"), "// edited\n").unwrap();
    let event = dir.path().join("event.json");
    fs::write(&event, r#"{"Records": []}"#).unwrap();
    let run = generator(
        &minimal_case(),
        &[
            "--out",
            out_arg,
            "simulate",
            "--event-file",
            event.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("is not current with"), "{}", run.stderr);
}
