//! `generator simulate` on 1,200 records of the example domain agrees with an independent
//! reference: the events each record produces (the seed-style mapping written in e2e), and the
//! consumers each event reaches (UserCreated -> userCreatedConsumer; OrderStatusChanged ->
//! shippedOrders when the status is SHIPPED). No record that produces an event is dropped by
//! the stream filters.

use std::collections::BTreeMap;

use serde_json::Value;

#[test]
fn simulate_agrees_with_the_reference_on_1200_records() {
    let batch = e2e::example_batch(1_200, 21);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, batch.to_string()).unwrap();
    let output = e2e::generator_command(&["simulate", "--json", "--event-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
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
