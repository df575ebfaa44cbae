//! `generator simulate` on 1,200 records of the example domain agrees with an independent
//! reference: the events each record produces (the seed-style mapping written in e2e), and the
//! consumers each event reaches (UserCreated -> userCreatedConsumer; OrderStatusChanged ->
//! shippedOrders when the status is SHIPPED). No record that produces an event is dropped by
//! the stream filters.

use std::collections::BTreeMap;

use serde_json::Value;

/// `generator simulate --json` on a stream event.
fn simulate(batch: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, batch.to_string()).unwrap();
    let output = e2e::outbox_command!(&["simulate", "--json", "--event-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn simulate_agrees_with_the_reference_on_1200_records() {
    let batch = e2e::example_batch(1_200, 21);
    let result = simulate(&batch);
    assert!(result["failure"].is_null());
    let records = result["records"].as_array().unwrap();
    assert_eq!(records.len(), 1_200);

    let mut expected: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for (_, detail_type, detail, id, _) in e2e::seed_reference(&batch) {
        let event_id = id.split(':').nth(3).unwrap().to_owned();
        expected
            .entry(event_id)
            .or_default()
            .push((detail_type, detail));
    }
    let (mut events, mut shipped, mut filtered) = (0, 0, 0);
    for record in records {
        let id = record["eventID"].as_str().unwrap();
        assert_eq!(record["droppedByFilter"], Value::Array(vec![]), "{id}");
        filtered += usize::from(record["passesFilter"] == false);
        let got: Vec<(String, Value)> = record["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["detailType"].as_str().unwrap().to_owned(),
                    e["detail"].clone(),
                )
            })
            .collect();
        assert_eq!(got, expected.remove(id).unwrap_or_default(), "{id}");
        for e in record["events"].as_array().unwrap() {
            events += 1;
            let want: Vec<&str> = match e["event"].as_str().unwrap() {
                "UserCreated" => vec!["userCreatedConsumer"],
                "OrderStatusChanged" if e["detail"]["status"] == "SHIPPED" => {
                    shipped += 1;
                    vec!["shippedOrders"]
                }
                _ => vec![],
            };
            assert_eq!(e["consumers"], serde_json::json!(want), "{id}");
        }
    }
    assert!(expected.is_empty(), "events simulate missed: {expected:?}");
    assert!(
        events > 200 && shipped > 10 && filtered > 300,
        "{events} events, {shipped} shipped, {filtered} filtered"
    );
}

/// A drifted item (an `email` that is a number) shows where it goes: a dead letter to the
/// `dead-letters` route, with its keys; the user after it is delivered.
#[test]
fn simulate_shows_a_drifted_item_going_to_the_dead_letters() {
    let mut batch = e2e::example_batch(40, 5);
    let records = batch["Records"].as_array_mut().unwrap();
    let user = records
        .iter()
        .position(|r| {
            r["eventName"] == "INSERT"
                && r["dynamodb"]["Keys"]["pk"]["S"]
                    .as_str()
                    .unwrap()
                    .starts_with("USER#")
        })
        .expect("a new user in the batch");
    records[user]["dynamodb"]["NewImage"]["email"] = serde_json::json!({"N": "5"});
    let event_id = records[user]["eventID"].as_str().unwrap().to_owned();
    let result = simulate(&batch);
    assert!(result["failure"].is_null(), "{result}");
    let record = result["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["eventID"] == event_id.as_str())
        .unwrap();
    let events = record["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{record}");
    assert_eq!(events[0]["detailType"], "Outbox Poison Record");
    assert_eq!(events[0]["consumers"], serde_json::json!(["dead-letters"]));
    assert_eq!(events[0]["detail"]["event"], "UserCreated");
    assert!(
        events[0]["detail"]["reason"]
            .as_str()
            .unwrap()
            .contains("/email: violates `type`")
    );
    let delivered_users = result["records"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["events"].as_array().unwrap())
        .filter(|e| e["detailType"] == "UserCreated")
        .count();
    assert!(delivered_users > 0, "the other users are delivered");
}
