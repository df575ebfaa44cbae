//! The benchmark harness keeps its promises: `relay-bench` follows its contract (one JSON line
//! with the measurements, the right number of events actually sent), and the Node.js reference
//! handler produces the same entries as the relay and really sends them.

use std::path::{Path, PathBuf};
use std::process::Command;

use outbox_local_bus::{Faults, LocalEventBridge};
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench is in the workspace")
        .to_path_buf()
}

/// A bench event of `count` records, written by `bench-events`.
fn bench_event(count: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join(format!("events-{count}.json"));
    let status = Command::new(env!("CARGO_BIN_EXE_bench-events"))
        .arg(count.to_string())
        .arg(&file)
        .status()
        .expect("bench-events runs");
    assert!(status.success());
    (dir, file)
}

fn expected_events(file: &Path) -> usize {
    let batch: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    e2e::seed_reference(&batch).len()
}

fn run_json(command: &mut Command) -> Value {
    let output = command.output().expect("the benchmark runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line: {stdout}");
    serde_json::from_str(lines[0]).expect("a JSON line")
}

fn node_bench(file: &Path, mode: &str) -> Command {
    let mut command = Command::new("node");
    command
        .arg(workspace().join("bench/node/bench.mjs"))
        .arg(file)
        .args(["--mode", mode])
        .env("NODE_NO_WARNINGS", "1");
    command
}

fn aws_env(command: &mut Command, endpoint: &str) {
    command
        .env("EVENTBRIDGE_ENDPOINT", endpoint)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("EVENT_BUS_NAME");
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_bench_prints_its_measurements_and_sends_every_event() {
    let (_dir, file) = bench_event(300);
    let expected = expected_events(&file);
    assert!(expected > 30, "the batch produces events");
    let fake = LocalEventBridge::start(Faults::default()).await.unwrap();
    let (warmup, iterations) = (1, 3);
    let mut sent = 0;
    for mode in ["map", "seq", "conc", "window"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_relay-bench"));
        command
            .arg(&file)
            .args(["--mode", mode, "--warmup", "1", "--iterations", "3"])
            .env("BENCH_T0_MS", "0");
        aws_env(&mut command, &fake.endpoint());
        let line = tokio::task::spawn_blocking(move || run_json(&mut command))
            .await
            .unwrap();
        assert_eq!(line["mode"], mode);
        assert_eq!(line["records"], 300);
        assert_eq!(line["forwarded_per_invocation"], expected);
        for field in [
            "init_ms",
            "first_ms",
            "median_ms",
            "records_per_s",
            "cpu_median_ms",
            "spawn_to_first_ms",
            "max_rss_kib",
        ] {
            let value = line[field].as_f64();
            assert!(
                value.is_some_and(|v| v > 0.0),
                "{mode}: {field} = {}",
                line[field]
            );
        }
        // BENCH_T0_MS=0: spawn-to-first is the time since the epoch.
        assert!(line["spawn_to_first_ms"].as_f64().unwrap() > 1.7e12);
        if mode != "map" {
            sent += expected * (warmup + iterations);
        }
        assert_eq!(
            fake.log().accepted.len(),
            sent,
            "{mode}: map sends nothing, seq, conc and window send every event of every invocation"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_reference_produces_the_relays_entries_and_sends_them() {
    let (_dir, file) = bench_event(1000);
    let event = std::fs::read_to_string(&file).unwrap();
    let options = outbox_runtime::handler::Options::new("myapp-events");
    let ours = outbox_runtime::handler::prepare(&relay::mapping::Mapping, &event, &options, None)
        .expect("the batch decodes");
    assert!(ours.failure.is_none());
    let output = node_bench(&file, "entries").output().expect("node runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(theirs.len(), ours.entries.len());
    assert_eq!(theirs.len(), expected_events(&file));
    for (entry, node) in ours.entries.iter().zip(&theirs) {
        let detail: Value = serde_json::from_str(&entry.detail).unwrap();
        let node_detail: Value = serde_json::from_str(node["Detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail, node_detail, "{}", entry.id());
        assert_eq!(node["Source"], entry.source.as_str());
        assert_eq!(node["DetailType"], entry.detail_type.as_str());
        assert_eq!(node["EventBusName"], entry.event_bus_name.as_str());
        assert_eq!(node["Resources"][0], entry.resources[0].as_str());
        assert_eq!(node["Time"].as_i64(), entry.time);
    }

    let fake = LocalEventBridge::start(Faults::default()).await.unwrap();
    let mut command = node_bench(&file, "conc");
    command.args(["--warmup", "0", "--iterations", "2"]);
    aws_env(&mut command, &fake.endpoint());
    let line = tokio::task::spawn_blocking(move || run_json(&mut command))
        .await
        .unwrap();
    assert_eq!(line["forwarded_per_invocation"], theirs.len());
    assert_eq!(fake.log().accepted.len(), 2 * theirs.len());
}
