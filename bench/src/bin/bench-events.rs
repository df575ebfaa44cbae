//! `bench-events COUNT FILE [--distinct]`: writes a DynamoDB Streams Lambda event of COUNT
//! records of the example domain (users, orders and an entity no event wants; INSERT, MODIFY and
//! REMOVE; an order changes status several times in a batch), the same every run (COUNT 1: one
//! record that produces an event, for cold starts). `--distinct`: COUNT users inserted, each a
//! new item (an append-only table, as an outbox table is: every write is an event, no item
//! twice in a batch). Numbers stay
//! within what a JavaScript number holds exactly, so the Node.js reference handler produces the
//! same entries as the relay (the relay keeps 38 digits; the seed's `unmarshall` refuses them).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(count), Some(file)) = (args.first().and_then(|c| c.parse().ok()), args.get(1)) else {
        eprintln!("usage: bench-events COUNT FILE [--distinct]");
        return ExitCode::from(2);
    };
    let mut batch = e2e::example_batch(count, 7);
    if args.iter().any(|a| a == "--distinct") {
        batch["Records"] = distinct_users(count).into();
    }
    if count == 1 {
        // A cold start handles one record that produces an event.
        let records = e2e::example_batch(50, 7)["Records"].clone();
        let wanted = records
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| !e2e::seed_reference(&serde_json::json!({ "Records": [r] })).is_empty());
        batch["Records"] = serde_json::json!([wanted]);
    }
    for record in batch["Records"].as_array_mut().into_iter().flatten() {
        for image in ["NewImage", "OldImage"] {
            let total = record
                .pointer_mut(&format!("/dynamodb/{image}/total/N"))
                .filter(|t| t.as_str().is_some_and(|t| t.len() > 15));
            if let Some(total) = total {
                *total = "1234567.89".into();
            }
        }
    }
    match std::fs::write(file, batch.to_string()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write {file}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `count` records, each the insert of a new user: the example batch's first user insert, with
/// its own id, event id and sequence number.
fn distinct_users(count: usize) -> Vec<serde_json::Value> {
    let records = e2e::example_batch(50, 7)["Records"].clone();
    let template = records
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            r["eventName"] == "INSERT"
                && r.pointer("/dynamodb/Keys/pk/S")
                    .and_then(|k| k.as_str())
                    .is_some_and(|k| k.starts_with("USER#"))
        })
        .expect("the example batch inserts a user")
        .clone();
    (0..count)
        .map(|n| {
            let mut record = template.clone();
            let pk = serde_json::json!({ "S": format!("USER#d{n}") });
            record["eventID"] = format!("distinct-{n}").into();
            record["dynamodb"]["Keys"]["pk"] = pk.clone();
            record["dynamodb"]["NewImage"]["pk"] = pk;
            record["dynamodb"]["SequenceNumber"] = format!("{:021}", 1_000 + n).into();
            record
        })
        .collect()
}
