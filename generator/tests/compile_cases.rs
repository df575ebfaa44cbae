//! Every golden case's relay is compiled, linted and run: its crate is copied into its own
//! workspace beside the repository's `runtime/` (with the workspace's profiles and target
//! directory, so dependencies are not built again), built with `clippy -D warnings`, and
//! `relay --event-file event.json --dry-run` must print the case's `expected.dryrun`
//! (`OUTBOX_BLESS=1` to accept changes). Its Rust bindings crate is linted and its own test
//! (every sample parses) run the same way.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{bless, expected_dir, good_dirs, read_tree, write_tree};

fn cargo(dir: &Path, args: &[&str], target: &Path) -> std::process::Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("cargo runs")
}

#[test]
fn every_case_relay_compiles_lints_clean_and_maps_its_sample_event() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), Into::into);
    // The workspace's profiles, so the case relays' dependencies are the artifacts the
    // workspace build already made (only the path crates and the relay itself compile again).
    let root_manifest = fs::read_to_string(workspace.join("Cargo.toml")).unwrap();
    let profiles = &root_manifest[root_manifest
        .find("[profile.")
        .expect("the workspace manifest has profiles")..];
    let mut failures = Vec::new();
    let mut compiled = 0;
    for case in good_dirs() {
        let relay = expected_dir(&case).join("relay");
        if !relay.exists() {
            continue;
        }
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        // Two levels below the workspace root, so the crate's `../../runtime` is the real one.
        let dir = target.join(format!("golden-{name}"));
        let dir = workspace.join("target").join(dir.file_name().unwrap());
        let _ = fs::remove_dir_all(&dir);
        write_tree(&dir, &read_tree(&relay));
        // The binary gets a name of its own: the target directory is the workspace's, whose
        // `debug/relay` is the example's relay.
        let binary = format!("relay-golden-{name}");
        let manifest = dir.join("Cargo.toml");
        let crate_manifest = fs::read_to_string(&manifest).unwrap();
        let renamed = crate_manifest.replace(
            "[[bin]]\nname = \"relay\"",
            &format!("[[bin]]\nname = \"{binary}\""),
        );
        assert_ne!(
            renamed, crate_manifest,
            "{name}: the relay crate names its binary"
        );
        fs::write(&manifest, renamed + "\n[workspace]\n\n" + profiles).unwrap();
        fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();

        let clippy = cargo(
            &dir,
            &[
                "clippy",
                "--offline",
                "--quiet",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            &target,
        );
        if !clippy.status.success() {
            failures.push(format!(
                "{name}: clippy failed:\n{}",
                String::from_utf8_lossy(&clippy.stderr)
            ));
            continue;
        }
        let build = cargo(&dir, &["build", "--offline", "--quiet"], &target);
        if !build.status.success() {
            failures.push(format!(
                "{name}: build failed:\n{}",
                String::from_utf8_lossy(&build.stderr)
            ));
            continue;
        }
        compiled += 1;
        let run = Command::new(target.join("debug").join(&binary))
            .args([
                "--event-file",
                case.join("event.json").to_str().unwrap(),
                "--dry-run",
            ])
            .env("EVENT_BUS_NAME", "golden-bus")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        let expected_file = case.join("expected.dryrun");
        if bless() {
            fs::write(&expected_file, &stdout).unwrap();
        }
        if !run.status.success() || stdout != fs::read_to_string(&expected_file).unwrap_or_default()
        {
            failures.push(format!(
                "{name}: dry run differs (exit {:?}):\n{stdout}\n{}",
                run.status.code(),
                String::from_utf8_lossy(&run.stderr)
            ));
        }
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_file(target.join("debug").join(&binary));

        // The Rust bindings: linted, and their samples parsed by their own test.
        let bindings = expected_dir(&case).join("bindings/rust");
        let dir = workspace
            .join("target")
            .join(format!("golden-bindings-{name}"));
        let _ = fs::remove_dir_all(&dir);
        write_tree(&dir, &read_tree(&bindings));
        let manifest = dir.join("Cargo.toml");
        let crate_manifest = fs::read_to_string(&manifest).unwrap();
        fs::write(&manifest, crate_manifest + "\n[workspace]\n\n" + profiles).unwrap();
        fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        for args in [
            &[
                "clippy",
                "--offline",
                "--quiet",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ][..],
            &["test", "--offline", "--quiet"][..],
        ] {
            let run = cargo(&dir, args, &target);
            if !run.status.success() {
                failures.push(format!(
                    "{name}: bindings: cargo {} failed:\n{}{}",
                    args[0],
                    String::from_utf8_lossy(&run.stdout),
                    String::from_utf8_lossy(&run.stderr)
                ));
            }
        }
        let _ = fs::remove_dir_all(&dir);
    }
    assert!(compiled >= 4, "compiled {compiled} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
