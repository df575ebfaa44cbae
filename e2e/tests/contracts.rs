//! The example's event contracts: every entry the relay emits validates against the generated
//! schemas, and mutated events are rejected at the right JSON pointer.

use outbox::validate::{SchemaSet, Verdict};
use serde_json::Value;

fn schemas() -> SchemaSet {
    SchemaSet::load(&e2e::workspace().join("generated/schemas")).unwrap()
}

fn dry_run(records: usize, seed: u64) -> Vec<Value> {
    e2e::dry_run(&e2e::example_batch(records, seed), &[])
}

#[test]
fn every_entry_of_a_1000_record_batch_validates() {
    let schemas = schemas();
    let entries = dry_run(1_000, 5);
    assert!(entries.len() > 150);
    for entry in &entries {
        let verdict = schemas.check(&entry.to_string()).unwrap();
        assert!(
            matches!(verdict, Verdict::Valid { .. }),
            "{verdict:?} for {entry}"
        );
    }
}

fn first(entries: &[Value], detail_type: &str) -> (Value, Value) {
    let entry = entries
        .iter()
        .find(|e| e["DetailType"] == detail_type)
        .unwrap()
        .clone();
    let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
    (entry, detail)
}

fn violations(schemas: &SchemaSet, mut entry: Value, detail: Value) -> Vec<(String, String)> {
    entry["Detail"] = Value::String(detail.to_string());
    match schemas.check(&entry.to_string()).unwrap() {
        Verdict::Invalid { violations, .. } => violations,
        Verdict::Valid { .. } => Vec::new(),
    }
}

#[test]
fn mutated_events_are_rejected_with_the_right_pointer() {
    let schemas = schemas();
    let entries = dry_run(300, 8);
    let (user, user_detail) = first(&entries, "UserCreated");
    let (order, order_detail) = first(&entries, "OrderStatusChanged");

    let mut missing = user_detail.clone();
    missing.as_object_mut().unwrap().remove("email");
    let found = violations(&schemas, user.clone(), missing);
    assert!(
        found
            .iter()
            .any(|(p, m)| p == "/detail" && m.contains("email")),
        "{found:?}"
    );

    let mut wrong_type = user_detail.clone();
    wrong_type["age"] = Value::String("thirty".into());
    let found = violations(&schemas, user.clone(), wrong_type);
    assert_eq!(
        found.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["/detail/age"]
    );

    let mut bad_time = user_detail;
    bad_time["createdAt"] = Value::String("yesterday".into());
    let found = violations(&schemas, user, bad_time);
    assert_eq!(
        found.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["/detail/createdAt"]
    );

    let mut extra = order_detail.clone();
    extra["discount"] = Value::from(5);
    let found = violations(&schemas, order.clone(), extra);
    assert!(
        found
            .iter()
            .any(|(p, m)| p == "/detail" && m.contains("discount")),
        "{found:?}"
    );

    let mut bad_enum = order_detail;
    bad_enum["status"] = Value::String("LOST".into());
    let found = violations(&schemas, order, bad_enum);
    assert_eq!(
        found.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["/detail/status"]
    );
}

#[test]
fn every_generated_schema_is_valid_against_its_meta_schema() {
    let dir = e2e::workspace().join("generated/schemas");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "json") {
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
            assert!(
                jsonschema::meta::is_valid(&schema),
                "{}",
                entry.path().display()
            );
            count += 1;
        }
    }
    assert_eq!(count, 2);
}
