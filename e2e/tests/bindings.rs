//! The generated Rust bindings (`generated/bindings/rust`, crate `myapp-events`) on the relay's
//! own output: 1,500 mixed records (some drifted, some with unicode) through `relay --dry-run`,
//! each entry as the envelope a consumer receives, parsed by `parse_event` with its
//! deterministic id and every digit of its numbers; dead letters and broken events are refused. The entries are also written to
//! `target/bindings-check/myapp.dryrun`, which the test command's bindings stage feeds to the
//! TypeScript and Python bindings.

use myapp_events::{OutboxEvent, ParseError, parse_event};
use serde_json::Value;

/// A PutEvents entry as the envelope EventBridge delivers (the detail's text kept as sent).
fn envelope(entry: &Value, n: usize) -> String {
    format!(
        r#"{{"version":"0","id":"00000000-0000-4000-8000-{n:012}","detail-type":{},"source":{},"account":"123456789012","time":"2026-12-05T10:00:00Z","region":"eu-west-1","resources":{},"detail":{}}}"#,
        entry["DetailType"],
        entry["Source"],
        entry["Resources"],
        entry["Detail"].as_str().unwrap()
    )
}

/// The example batch with data that drifted from the declared entity in some new users: an
/// `email` that is a number, a missing required `name`, an internationalized address (the
/// entity says `format: email`, which JSON Schema keeps to ASCII; `idn-email` would take it);
/// and valid data a happy path forgets: a unicode name, tags with an emoji.
fn batch_with_drift() -> (Value, usize) {
    let mut batch = e2e::example_batch(1_500, 5);
    let records = batch["Records"].as_array_mut().unwrap();
    let users: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r["eventName"] == "INSERT"
                && r["dynamodb"]["Keys"]["pk"]["S"]
                    .as_str()
                    .unwrap()
                    .starts_with("USER#")
        })
        .map(|(i, _)| i)
        .collect();
    assert!(users.len() > 8, "new users in the batch");
    let changes = [
        ("email", Some(serde_json::json!({ "N": "5" }))),
        ("name", None),
        (
            "email",
            Some(serde_json::json!({ "S": "δοκιμή@παράδειγμα.δοκιμή" })),
        ),
        ("name", Some(serde_json::json!({ "S": "Zoë 日本 Ça" }))),
        ("tags", Some(serde_json::json!({ "SS": ["🚀", "vip"] }))),
    ];
    for (&user, (attribute, value)) in users.iter().zip(changes) {
        let image = records[user]["dynamodb"]["NewImage"]
            .as_object_mut()
            .unwrap();
        match value {
            Some(value) => image.insert(attribute.into(), value),
            None => image.remove(attribute),
        };
    }
    (batch, 3)
}

#[test]
fn the_rust_bindings_parse_every_event_the_relay_publishes() {
    let (batch, drifted) = batch_with_drift();
    let entries = e2e::dry_run(&batch, &[("EVENT_BUS_NAME", "test-bus")]);
    let out = e2e::workspace().join("target/bindings-check");
    std::fs::create_dir_all(&out).unwrap();
    let lines: Vec<String> = entries.iter().map(Value::to_string).collect();
    std::fs::write(out.join("myapp.dryrun"), lines.join("\n") + "\n").unwrap();

    let (mut users, mut orders, mut exact, mut dead) = (0, 0, 0, 0);
    for (n, entry) in entries.iter().enumerate() {
        let text = envelope(entry, n);
        if entry["DetailType"] == "Outbox Poison Record" {
            // A dead letter is the relay's, not an event of the service: refused as such.
            assert!(matches!(
                parse_event(&text),
                Err(ParseError::UnknownEvent { .. })
            ));
            dead += 1;
            continue;
        }
        let event = parse_event(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(event.event_id(), entry["Resources"][0], "{text}");
        match &event {
            OutboxEvent::UserCreated(user) => {
                users += 1;
                assert!(!user.detail.user_id.is_empty());
                assert!(user.detail.email.contains('@'));
            }
            OutboxEvent::OrderStatusChanged(order) => {
                orders += 1;
                assert_ne!(
                    serde_json::to_value(order.detail.status).unwrap(),
                    serde_json::to_value(order.detail.previous_status).unwrap()
                );
                // The total is the detail's number text, every digit.
                let total = order.detail.order.total.as_str();
                assert!(
                    entry["Detail"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("\"total\":{total}"))
                );
                if total.len() > 17 {
                    exact += 1;
                }
            }
        }
        // It serializes back to the same detail.
        let again = match &event {
            OutboxEvent::UserCreated(e) => serde_json::to_string(&e.detail).unwrap(),
            OutboxEvent::OrderStatusChanged(e) => serde_json::to_string(&e.detail).unwrap(),
        };
        let sent: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&again).unwrap(), sent);
    }
    assert!(users > 50 && orders > 50, "{users} users, {orders} orders");
    assert_eq!(dead, drifted, "each drifted user is a dead letter");
    let all = lines.join("\n");
    for text in ["Zoë 日本 Ça", "🚀"] {
        assert!(
            all.contains(text),
            "{text} was published (and parsed above)"
        );
    }
    assert!(
        all.contains("/email: violates `format`"),
        "the address's dead letter says why"
    );
    assert!(exact > 0, "some totals have more digits than a float keeps");
}

#[test]
fn the_rust_bindings_refuse_what_the_schema_refuses() {
    let sample: Value = serde_json::from_str(myapp_events::samples::ORDER_STATUS_CHANGED).unwrap();
    let refused = |change: &dyn Fn(&mut Value), needle: &str| {
        let mut event = sample.clone();
        change(&mut event);
        let error = parse_event(&event.to_string()).expect_err(needle);
        assert!(error.to_string().contains(needle), "{error} lacks {needle}");
        error
    };
    refused(
        &|e| drop(e["detail"].as_object_mut().unwrap().remove("orderId")),
        "orderId",
    );
    refused(&|e| e["detail"]["status"] = "LOST".into(), "LOST");
    refused(&|e| e["detail"]["surprise"] = 1.into(), "surprise");
    refused(
        &|e| e["detail"]["order"]["total"] = "12".into(),
        "expected a number",
    );
    let unknown = refused(
        &|e| e["detail-type"] = "OrderDeleted".into(),
        "OrderDeleted",
    );
    assert!(matches!(unknown, ParseError::UnknownEvent { .. }));
    assert!(parse_event(&sample.to_string()).is_ok());
}
