//! Conformance with EventBridge's new Custom Event Bus, checked by parties other than the
//! relay: its PutEvents request bodies decode with `cbor2` and validate against botocore's
//! `eventbridgev2` model (members, required ones, lengths, patterns, a tag-1 timestamp), and
//! botocore's own `eventbridgev2` client reads the fake's answers (`PUBLISHED`, then
//! `DEDUPLICATED`; `InvalidInputException` for 101 entries). The test command installs
//! botocore 1.44.18 and cbor2 into `.venv-v2`.

use std::path::Path;
use std::process::Command;

use outbox_local_bus::{Faults, LocalEventBridge};
use outbox_runtime::entry::{Entry, SystemMetadata};
use outbox_runtime::publish::cbor;

const BUS: &str =
    "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy";

fn checker() -> Command {
    let python = e2e::workspace().join(".venv-v2/bin/python");
    assert!(
        python.exists(),
        "{} is missing: the test command installs .ci/requirements-v2.txt there",
        python.display()
    );
    let mut command = Command::new(python);
    command.arg(e2e::workspace().join(".ci/v2/check_put_events.py"));
    command
}

fn entry(n: usize, detail: &str, time: Option<i64>) -> Entry {
    Entry {
        record: n,
        item_key: String::new(),
        source: "shop.orders".into(),
        detail_type: "OrderStatusChanged".into(),
        detail: detail.into(),
        event_bus_name: BUS.into(),
        time,
        resources: vec![format!("urn:outbox:event:{n:032x}:OrderStatusChanged")],
        trace_header: None,
        system_metadata: Some(SystemMetadata {
            event_group_id: format!("ORDER#{}", n % 7),
            deduplication_id: format!("{n:032x}:OrderStatusChanged"),
        }),
    }
}

fn write(dir: &Path, name: &str, entries: &[Entry]) -> String {
    let refs: Vec<&Entry> = entries.iter().collect();
    let mut body = Vec::new();
    cbor::request_body(BUS, &refs, &mut body);
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn put_events_requests_match_the_botocore_model() {
    let dir = tempfile::tempdir().unwrap();
    let full: Vec<Entry> = (0..100)
        .map(|n| {
            entry(
                n,
                &format!(r#"{{"status":"SHIPPED","note":"Grüße, 東京 🚚","n":{n}}}"#),
                Some(1_764_900_000 + n as i64),
            )
        })
        .collect();
    let files = [
        write(dir.path(), "full.cbor", &full),
        write(dir.path(), "one.cbor", &[entry(1, "{}", None)]),
        write(
            dir.path(),
            "large.cbor",
            &[entry(
                2,
                &format!(r#"{{"blob":"{}"}}"#, "x".repeat(200_000)),
                Some(0),
            )],
        ),
    ];
    let output = checker().arg("body").args(&files).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("full.cbor: 100 entries"), "{stdout}");
}

#[test]
fn a_request_with_a_member_the_model_lacks_is_refused_by_the_check() {
    // The check itself must be able to fail: an entry with a Classic-only `TraceHeader`.
    let dir = tempfile::tempdir().unwrap();
    let mut body = Vec::new();
    let value = serde_json::json!({
        "EventBusArn": BUS,
        "Entries": [{ "Source": "s", "DetailType": "d", "TraceHeader": "Root=1" }]
    });
    // JSON-shaped maps of text encode the same in any CBOR codec.
    ciborium_like(&value, &mut body);
    let path = dir.path().join("classic.cbor");
    std::fs::write(&path, body).unwrap();
    let output = checker().arg("body").arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("TraceHeader is not a member"), "{stdout}");
}

/// Minimal CBOR for JSON maps, arrays and text (enough for the refusal case above).
fn ciborium_like(value: &serde_json::Value, out: &mut Vec<u8>) {
    fn head(major: u8, len: usize, out: &mut Vec<u8>) {
        match len {
            0..=23 => out.push(major << 5 | len as u8),
            24..=255 => out.extend([major << 5 | 24, len as u8]),
            _ => {
                out.push(major << 5 | 25);
                out.extend((len as u16).to_be_bytes());
            }
        }
    }
    match value {
        serde_json::Value::String(s) => {
            head(3, s.len(), out);
            out.extend(s.as_bytes());
        }
        serde_json::Value::Array(items) => {
            head(4, items.len(), out);
            for item in items {
                ciborium_like(item, out);
            }
        }
        serde_json::Value::Object(map) => {
            head(5, map.len(), out);
            for (k, v) in map {
                ciborium_like(&serde_json::Value::String(k.clone()), out);
                ciborium_like(v, out);
            }
        }
        other => panic!("not needed here: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn botocore_reads_the_fakes_answers() {
    let fake = LocalEventBridge::start(Faults {
        signed_by: Some(("test".to_owned(), "test".to_owned())),
        ..Faults::default()
    })
    .await
    .unwrap();
    let endpoint = fake.endpoint();
    let output =
        tokio::task::spawn_blocking(move || checker().arg("client").arg(endpoint).output())
            .await
            .unwrap()
            .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let log = fake.log();
    assert!(
        log.bad_signatures.is_empty(),
        "botocore's signature: {:?}",
        log.bad_signatures
    );
    assert_eq!(log.accepted.len(), 1);
    assert_eq!(log.deduplicated, 1);
}
