//! The generated relay of the example outbox.yaml, as a binary: `--dry-run` emits exactly the
//! entries the seed-style handler would, in stream order; numbers keep every digit.

use std::process::Command;

use serde_json::Value;

#[test]
fn dry_run_matches_the_seed_handler_on_1500_mixed_records() {
    let batch = e2e::example_batch(1_500, 42);
    let entries = e2e::dry_run(&batch, &[("EVENT_BUS_NAME", "test-bus")]);

    let expected = e2e::seed_reference(&batch);
    assert!(
        expected.len() > 200,
        "the batch exercises both events: {}",
        expected.len()
    );
    assert!(
        expected.iter().any(|e| e.1 == "UserCreated")
            && expected.iter().any(|e| e.1 == "OrderStatusChanged")
    );
    assert_eq!(
        entries.len(),
        expected.len(),
        "one entry per expected event, nothing else"
    );
    for (entry, (source, detail_type, detail, id, time)) in entries.iter().zip(&expected) {
        assert_eq!(entry["Source"], *source);
        assert_eq!(entry["DetailType"], *detail_type);
        assert_eq!(entry["EventBusName"], "test-bus");
        assert_eq!(entry["Resources"][0], *id);
        assert_eq!(entry["Time"], *time);
        let text = entry["Detail"].as_str().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            *detail,
            "detail of {id}"
        );
    }
    let exact = entries
        .iter()
        .filter(|e| {
            e["Detail"]
                .as_str()
                .unwrap()
                .contains("12345678901234567890.123456789012345678")
        })
        .count();
    assert!(exact > 0, "38-digit totals are written with every digit");
}

#[test]
fn the_relay_reports_unreadable_input_with_exit_code_2() {
    let relay = e2e::relay_binary();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, "{\"not\": \"a batch\"}").unwrap();
    let output = Command::new(&relay)
        .args(["--event-file", file.to_str().unwrap(), "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a DynamoDB Streams batch"));
    let missing = Command::new(&relay)
        .args(["--event-file", "/no/such/file"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn the_readme_sample_event_gives_one_event_of_each_kind() {
    let relay = e2e::relay_binary();
    let file = e2e::workspace().join("e2e/events/app-table.json");
    let output = Command::new(&relay)
        .args(["--event-file", file.to_str().unwrap(), "--dry-run"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let entries: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["DetailType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["UserCreated", "OrderStatusChanged"],
        "the order MODIFY without a status change and the REMOVE give nothing"
    );
    assert_eq!(
        entries[0]["EventBusName"], "myapp-events",
        "the bus from outbox.yaml when EVENT_BUS_NAME is unset"
    );
    let order: Value = serde_json::from_str(entries[1]["Detail"].as_str().unwrap()).unwrap();
    assert_eq!(order["previousStatus"], "PAID");
    assert_eq!(order["status"], "SHIPPED");
    assert_eq!(order["order"]["total"], 129.95);
}
