//! The relay under a Lambda Runtime API: `cargo lambda watch --only-lambda-apis` serves the
//! Runtime API as Lambda would, the relay binary of the test build runs against it (the
//! variables Lambda sets), and `cargo lambda invoke` sends it a stream event; the response must
//! equal what `relay --event-file` prints for the same event, against the same EventBridge (a
//! local fake that rejects one event, so the response carries a batch item failure). The
//! function as cargo-lambda builds it (without the `local` feature, for arm64) is the test
//! command's lambda-build stage; building it again here in debug took two minutes of CPU.
//! Needs `cargo lambda` on PATH: the test command installs it (PyPI `cargo-lambda`).

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use outbox_local_bus::{Faults, LocalEventBridge};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn cargo_lambda_invoke_answers_like_event_file() {
    let installed = Command::new("cargo")
        .args(["lambda", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "cargo-lambda is not on PATH: the test command (.ci/test.sh) installs it into .venv"
    );
    let batch = e2e::example_batch(400, 9);
    let reference = e2e::seed_reference(&batch);
    let rejected = reference
        .iter()
        .filter_map(|e| e.2.get("orderId"))
        .nth(20)
        .expect("orders in the batch")
        .clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(LocalEventBridge::start(Faults {
            reject_detail_containing: Some(format!("\"orderId\":{rejected}")),
            ..Faults::default()
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let event_file = dir.path().join("event.json");
    std::fs::write(&event_file, batch.to_string()).unwrap();
    let env = [
        ("AWS_ENDPOINT_URL_EVENTBRIDGE", fake.endpoint()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "eu-west-1".into()),
        ("EVENT_BUS_NAME", "lambda-bus".into()),
    ];

    let relay = e2e::relay_binary();
    let local = Command::new(&relay)
        .arg("--event-file")
        .arg(&event_file)
        .envs(env.clone())
        .output()
        .unwrap();
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let local: serde_json::Value = serde_json::from_slice(&local.stdout).unwrap();
    assert_eq!(
        local["batchItemFailures"].as_array().unwrap().len(),
        1,
        "{local}"
    );
    let accepted_locally = fake.log().accepted.len();

    let port = free_port();
    // The Runtime API alone: the function is the relay binary started below.
    let _watch = Killed(
        Command::new("cargo")
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "--invoke-port",
                &port.to_string(),
            ])
            .current_dir(e2e::workspace())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo lambda is installed"),
    );
    let listening = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            listening.elapsed() < Duration::from_secs(60),
            "cargo lambda watch did not listen on {port} in a minute"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // What Lambda (and cargo-lambda, for the function it would start) sets; `_` is the name
    // cargo-lambda gives a function it does not start itself.
    let _function = Killed(
        Command::new(&relay)
            .envs(env.clone())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the relay runs"),
    );
    let started = Instant::now();
    let response = loop {
        let mut invoke = Command::new("cargo")
            .args([
                "lambda",
                "invoke",
                "_",
                "--invoke-port",
                &port.to_string(),
                "--output-format",
                "json",
                "--data-file",
            ])
            .arg(&event_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = invoke.wait().unwrap();
        let mut stdout = String::new();
        invoke
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        if status.success() && !stdout.trim().is_empty() {
            break serde_json::from_str::<serde_json::Value>(&stdout).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the relay under cargo lambda watch did not answer in 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        response, local,
        "the Lambda answer equals the --event-file answer"
    );
    let accepted_under_lambda = fake.log().accepted.len() - accepted_locally;
    assert_eq!(
        accepted_under_lambda, accepted_locally,
        "both published the same entries"
    );
}

#[test]
fn event_file_publishes_and_reports_metrics_in_embedded_metric_format() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(LocalEventBridge::start(Faults {
            throttle_entries: 0.3,
            seed: 1,
            ..Faults::default()
        }))
        .unwrap();
    let file = e2e::workspace().join("e2e/events/app-table.json");
    let output = Command::new(e2e::relay_binary())
        .arg("--event-file")
        .arg(&file)
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", fake.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "eu-west-1")
        .env("OUTBOX_METRICS", "emf")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        r#"{"batchItemFailures":[]}"#
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let emf: serde_json::Value = stderr
        .lines()
        .find(|l| l.contains("CloudWatchMetrics"))
        .map(|l| serde_json::from_str(l).unwrap())
        .expect("an EMF line");
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Outbox");
    assert_eq!(emf["Service"], "myapp");
    assert_eq!(emf["records"], 4);
    assert_eq!(emf["published"], 2);
    assert_eq!(emf["skipped"], 2);
    assert_eq!(fake.log().accepted.len(), 2);
    assert!(
        fake.log()
            .accepted
            .iter()
            .all(|a| a.event_bus_name.as_deref() == Some("myapp-events"))
    );
}
