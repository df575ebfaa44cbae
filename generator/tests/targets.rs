//! The contract example `examples/targets`: one consumer of every kind of target, and each way
//! of shaping what a consumer receives. What each consumer receives is traced through the
//! relay's own dry run of the example's event (`expected.dryrun`, which `compile_cases` checks
//! the relay still prints).

use std::path::{Path, PathBuf};

use outbox::plan::{InputPlan, Plan};
use serde_json::{Value, json};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("examples/targets")
}

fn plan() -> Plan {
    let config = std::fs::read(example().join("outbox.yaml")).unwrap();
    let loaded = outbox::load::load("outbox.yaml", &config).unwrap();
    outbox::plan::plan(&loaded.config, "outbox.yaml")
}

/// The entries the relay publishes for the example's event (its dry run).
fn entries() -> Vec<Value> {
    std::fs::read_to_string(example().join("expected.dryrun"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn trace() -> Value {
    let dir = example();
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("event.json")).unwrap()).unwrap();
    let entries = entries();
    assert!(
        entries.len() >= 4,
        "the relay published the example's events"
    );
    outbox::simulate::trace(&plan(), &event, &entries, None).unwrap()
}

/// What `consumer` received of each event, in order.
fn received(trace: &Value, consumer: &str) -> Vec<Value> {
    trace["records"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["events"].as_array().unwrap())
        .flat_map(|e| e["deliveries"].as_array().unwrap())
        .filter(|d| d["consumer"] == consumer)
        .map(|d| d["receives"].clone())
        .collect()
}

#[test]
fn the_example_has_a_consumer_of_every_target_kind() {
    let plan = plan();
    let kinds: std::collections::BTreeSet<&str> =
        plan.consumers.iter().map(|c| c.target.kind()).collect();
    for kind in [
        "lambda",
        "sqs",
        "sns",
        "step-functions",
        "kinesis",
        "firehose",
        "api-destination",
        "logs",
        "event-bus",
    ] {
        assert!(kinds.contains(kind), "no {kind} consumer");
    }
}

#[test]
fn each_consumer_receives_what_its_input_says() {
    let trace = trace();
    // `input: detail`: the new user's detail, unicode intact.
    let users = received(&trace, "userCreatedConsumer");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["userId"], "1");
    assert_eq!(users[0]["name"], "Zoë Ça Müller");
    assert!(users[0].get("detail-type").is_none(), "{}", users[0]);

    // A template: its fields, constants as given, paths from the event, numbers exact.
    let shipped = received(&trace, "shippedOrders");
    assert_eq!(shipped.len(), 1, "only the SHIPPED change matches");
    let message = &shipped[0];
    assert_eq!(message["orderId"], "1");
    assert_eq!(message["kind"], "order-shipped");
    assert_eq!(message["lines"][1]["sku"], "ŞKU-2");
    // The relay sends the price with every digit (expected.dryrun); simulate reads details
    // as 64-bit floats for display (noted in its help), so it shows the nearest one.
    assert_eq!(
        message["lines"][1]["price"].as_f64(),
        Some(123456789012345678901234567890.5)
    );
    assert!(
        std::fs::read_to_string(example().join("expected.dryrun"))
            .unwrap()
            .contains(r#"\"price\":123456789012345678901234567890.5"#)
    );
    // The deterministic id (the first resource), for the queue's consumer to deduplicate on.
    assert!(
        message["eventId"]
            .as_str()
            .unwrap()
            .starts_with("urn:outbox:event:")
    );
    assert!(message["shippedAt"].as_str().unwrap().ends_with('Z'));
    let mut fields: Vec<&String> = message.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["eventId", "kind", "lines", "orderId", "shippedAt"]);

    // A path: the order, not the envelope.
    let notifications = received(&trace, "orderNotifications");
    assert_eq!(notifications.len(), 3);
    assert!(
        notifications
            .iter()
            .all(|n| n["customerId"].is_string() && n.get("order").is_none())
    );

    // No input: the whole envelope.
    let tap = received(&trace, "debugTap");
    assert_eq!(tap.len(), 4);
    assert!(
        tap.iter()
            .all(|e| e["detail-type"].is_string() && e["id"].is_string())
    );

    // The webhook's template reads the user's fields.
    let crm = received(&trace, "crmWebhook");
    assert_eq!(
        crm,
        [
            json!({ "id": "1", "email": users[0]["email"], "name": "Zoë Ça Müller", "signedUpAt": users[0]["createdAt"] })
        ]
    );
    // Patterns still choose: only the PAID changes start the workflow.
    assert_eq!(received(&trace, "fulfilment").len(), 2);
}

#[test]
fn simulate_text_says_what_each_consumer_receives() {
    let text = outbox::simulate::text(&trace());
    assert!(
        text.contains("    shippedOrders (SQS queue shipped-orders) receives {"),
        "{text}"
    );
    assert!(
        text.contains("    debugTap (CloudWatch Logs log group /aws/events/myapp-targets/debug) receives the whole event"),
        "{text}"
    );
}

#[test]
fn a_missing_path_gives_null_in_a_template_and_nothing_for_a_path() {
    let event = json!({ "id": "x", "detail": { "a": { "b": 1 } } });
    let template = InputPlan::Template(vec![
        ("b".into(), "$.detail.a.b".into()),
        ("gone".into(), "$.detail.a.c".into()),
        ("constant".into(), "text".into()),
    ]);
    assert_eq!(
        template.apply(&event),
        json!({ "b": 1, "gone": null, "constant": "text" })
    );
    assert_eq!(
        InputPlan::Path("$.detail.zzz".into()).apply(&event),
        Value::Null
    );
    assert_eq!(InputPlan::Detail.apply(&event), json!({ "a": { "b": 1 } }));
}

/// `examples/targets` on a Custom Event Bus: every consumer but the log group (a subscriber
/// cannot write to one), each a subscriber whose `input` is a JSONata transformer.
fn custom_bus_plan() -> Plan {
    let config = std::fs::read_to_string(example().join("outbox.yaml")).unwrap();
    let config = config.replacen(
        "bus:\n  name: myapp-targets-events\n",
        "bus:\n  name: myapp-targets-events\n  kind: custom\n",
        1,
    );
    let tap = config.find("  debugTap:").unwrap();
    let next = config.find("  partnerBus:").unwrap();
    let config = format!("{}{}", &config[..tap], &config[next..]);
    let loaded = outbox::load::load("outbox.yaml", config.as_bytes()).unwrap();
    outbox::plan::plan(&loaded.config, "outbox.yaml")
}

/// Numbers as the 64-bit floats JSONata computes with (a JSONata transformer reads every
/// number as one; README: an integer of more than 15 digits loses its last ones there).
fn as_floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(items) => items.iter().map(as_floats).collect(),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| (k.clone(), as_floats(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => other.clone(),
    }
}

#[test]
fn on_a_custom_event_bus_each_consumer_receives_what_it_does_on_a_classic_one() {
    let classic = plan();
    let custom = custom_bus_plan();
    let entries = entries();
    let mut cases = Vec::new();
    for consumer in custom.consumers.iter().filter(|c| c.input.is_some()) {
        let input = consumer.input.as_ref().unwrap();
        let on_classic = classic
            .consumers
            .iter()
            .find(|c| c.name == consumer.name)
            .unwrap();
        assert_eq!(on_classic.input.as_ref(), Some(input));
        let expression = input.jsonata().unwrap();
        let mut events = Vec::new();
        for entry in &entries {
            let envelope = outbox::simulate::envelope(entry).unwrap();
            let system = outbox::simulate::system_metadata(entry);
            let expected = as_floats(&input.apply(&envelope));
            // JSONata's Rust implementation, as `outbox simulate` and `relay dev` run it.
            let got = outbox_stack::input::receives(Some(input), &envelope, &system).unwrap();
            assert_eq!(
                as_floats(&got),
                expected,
                "{}: {expression} on {envelope}",
                consumer.name
            );
            let events_value = outbox_stack::input::with_metadata(&envelope, &system);
            events.push(json!({ "events": events_value, "expected": expected }));
        }
        cases
            .push(json!({ "consumer": consumer.name, "expression": expression, "events": events }));
    }
    let names: Vec<&str> = cases
        .iter()
        .map(|c| c["consumer"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "crmWebhook",
            "orderNotifications",
            "shippedOrders",
            "userCreatedConsumer"
        ],
        "every consumer with an input (detail, path and template) is compared"
    );

    // JSONata's reference implementation (npm jsonata, installed by the test command) on the
    // same expressions and events.
    let root = example().parent().unwrap().parent().unwrap().to_path_buf();
    let check = root.join(".ci/jsonata/check.mjs");
    assert!(
        root.join(".ci/jsonata/node_modules/jsonata").is_dir(),
        "npm jsonata is missing: `npm ci --prefix .ci/jsonata` (the test command installs it)"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&cases).unwrap()).unwrap();
    let output = std::process::Command::new("node")
        .arg(&check)
        .arg(file.path())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the reference implementation disagrees:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 differ"), "{stdout}");
}

#[test]
fn simulate_on_a_custom_event_bus_shows_what_each_subscriber_receives() {
    let dir = example();
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("event.json")).unwrap()).unwrap();
    let entries = entries();
    let trace = outbox::simulate::trace(&custom_bus_plan(), &event, &entries, None).unwrap();
    let shipped = received(&trace, "shippedOrders");
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert_eq!(shipped[0]["kind"], "order-shipped");
    assert_eq!(shipped[0]["orderId"], "1");
    assert_eq!(shipped[0]["lines"][1]["sku"], "ŞKU-2");
    let users = received(&trace, "userCreatedConsumer");
    assert_eq!(users[0]["name"], "Zoë Ça Müller");
}
