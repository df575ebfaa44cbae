//! EventBridge pattern matching and validation, table-driven: `tests/patterns/matching.json`
//! (AWS's documented examples and edge cases: pattern, event, whether it matches) and
//! `tests/patterns/invalid.json` (patterns EventBridge refuses, with the reason). Also the
//! `test-pattern` command's contract. Each row is a test of its own.

use std::path::Path;
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use outbox::pattern::{MAX_PATTERN_LENGTH, Pattern};
use serde_json::Value;

fn cases(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/patterns")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One test per table row (`pattern/<name>`, `invalid-pattern/<name>`), then the tests below.
fn main() {
    let matching = cases("matching.json");
    assert!(matching.len() >= 150, "{} cases", matching.len());
    let mut trials: Vec<Trial> = matching
        .into_iter()
        .map(|case| {
            let name = format!("pattern/{}", case["name"].as_str().unwrap());
            Trial::test(name, move || matches_as_eventbridge_matches(&case))
        })
        .collect();
    trials.extend(cases("invalid.json").into_iter().map(|case| {
        let name = format!("invalid-pattern/{}", case["name"].as_str().unwrap());
        Trial::test(name, move || refused_with_the_reason(&case))
    }));
    let tests: [(&str, fn()); 6] = [
        (
            "patterns_longer_than_a_rule_takes_are_refused",
            patterns_longer_than_a_rule_takes_are_refused,
        ),
        (
            "test_pattern_prints_true_or_false_and_refuses_invalid_patterns",
            test_pattern_prints_true_or_false_and_refuses_invalid_patterns,
        ),
        (
            "quamina_evaluated_against_the_table",
            quamina_evaluated_against_the_table,
        ),
        ("the_example_verifies_clean", the_example_verifies_clean),
        (
            "a_pattern_that_filters_nothing_is_a_warning",
            a_pattern_that_filters_nothing_is_a_warning,
        ),
        (
            "stream_filters_pass_every_record_a_golden_relay_maps",
            stream_filters_pass_every_record_a_golden_relay_maps,
        ),
    ];
    trials.extend(tests.map(|(name, test)| {
        Trial::test(name, move || {
            test();
            Ok(())
        })
    }));
    libtest_mimic::run(&Arguments::from_args(), trials).exit();
}

fn matches_as_eventbridge_matches(case: &Value) -> Result<(), Failed> {
    let pattern = Pattern::from_value(&case["pattern"])
        .map_err(|e| format!("the pattern is refused: {e}"))?;
    let expected = case["matches"].as_bool().unwrap();
    if pattern.matches(&case["event"]) != expected {
        return Err(format!("expected matches = {expected}").into());
    }
    Ok(())
}

fn refused_with_the_reason(case: &Value) -> Result<(), Failed> {
    let expected = case["error"].as_str().unwrap();
    match Pattern::parse(case["pattern"].as_str().unwrap()) {
        Ok(_) => Err("accepted".into()),
        Err(e) if !e.to_string().contains(expected) => {
            Err(format!("`{e}` does not say `{expected}`").into())
        }
        Err(_) => Ok(()),
    }
}

fn patterns_longer_than_a_rule_takes_are_refused() {
    let fits = format!(
        "{{\"source\":[\"{}\"]}}",
        "a".repeat(MAX_PATTERN_LENGTH - 15)
    );
    assert_eq!(fits.len(), MAX_PATTERN_LENGTH);
    assert!(Pattern::parse(&fits).is_ok());
    let long = format!(
        "{{\"source\":[\"{}\"]}}",
        "a".repeat(MAX_PATTERN_LENGTH - 14)
    );
    let error = Pattern::parse(&long).unwrap_err().to_string();
    assert!(error.contains("4096"), "{error}");
}

fn test_pattern(pattern: &str, event: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (p, e) = (
        dir.path().join("pattern.json"),
        dir.path().join("event.json"),
    );
    std::fs::write(&p, pattern).unwrap();
    std::fs::write(&e, event).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_outbox"))
        .arg("test-pattern")
        .arg("--pattern")
        .arg(&p)
        .arg("--event")
        .arg(&e)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn test_pattern_prints_true_or_false_and_refuses_invalid_patterns() {
    let event = r#"{"source":"myapp.orders","detail-type":"OrderStatusChanged","detail":{"status":"SHIPPED"}}"#;
    assert_eq!(
        test_pattern(r#"{"detail":{"status":["SHIPPED"]}}"#, event),
        (0, "true\n".into(), String::new())
    );
    assert_eq!(
        test_pattern(r#"{"detail":{"status":["PAID"]}}"#, event),
        (0, "false\n".into(), String::new())
    );
    let (code, stdout, stderr) = test_pattern(r#"{"detail":{"status":"SHIPPED"}}"#, event);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.contains("detail.status: match values must be in an array, like [\"SHIPPED\"]"),
        "{stderr}"
    );
    let (code, _, stderr) = test_pattern(r#"{"source":["x"]}"#, "[1]");
    assert_eq!(code, 2);
    assert!(stderr.contains("an event is a JSON object"), "{stderr}");
}

/// The evaluation of the `quamina` crate (a Rust port of quamina, the matcher family
/// EventBridge's event-ruler belongs to) against the same table: which patterns it takes, and
/// where it disagrees with EventBridge's documented results. Printed with `--nocapture`; the
/// README reports the figures. Pinned so a new quamina version that closes a gap shows up.
fn quamina_evaluated_against_the_table() {
    let cases = cases("matching.json");
    let (mut refused, mut agree, mut disagree) = (Vec::new(), 0, Vec::new());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let mut q = quamina::Quamina::<usize>::new();
        if q.add_pattern(1, &case["pattern"].to_string()).is_err() {
            refused.push(name);
            continue;
        }
        let matched = !q
            .matches_for_event(case["event"].to_string().as_bytes())
            .unwrap()
            .is_empty();
        if matched == case["matches"].as_bool().unwrap() {
            agree += 1;
        } else {
            disagree.push(name);
        }
    }
    println!(
        "quamina 0.7.0 on {} cases: refuses {} patterns, agrees on {agree}, disagrees on {}",
        cases.len(),
        refused.len(),
        disagree.len()
    );
    assert_eq!(refused.len() + agree + disagree.len(), cases.len());
    // What it does not support: `$or`, and prefix/suffix with equals-ignore-case and
    // anything-but with prefix/suffix/equals-ignore-case/wildcard.
    assert!(refused.iter().all(|n| n.contains("$or")
        || n.contains("equals-ignore-case")
        || n.starts_with("anything-but ")));
    assert_eq!(refused.len(), 26);
    assert_eq!(
        disagree,
        [
            "numeric range, lower edge excluded",
            "value OR exists false, missing",
            "cidr 2001:db8::/32 on '2001:db8::1'",
            // quamina compares numbers as doubles.
            "20-digit integers differing in the last digit are different values",
            "anything-but a 20-digit integer lets its neighbour through",
            "numeric on an integer no double holds does not match",
            "numeric on 2^53 + 1 (no double holds it) does not match",
        ]
    );
}

fn example_with_pattern(pattern: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let example = std::fs::read_to_string(root.join("outbox.yaml")).unwrap();
    let replaced = example.replace(
        "    pattern:\n      status: [SHIPPED]\n",
        &format!("    pattern:\n{pattern}"),
    );
    assert_ne!(
        replaced, example,
        "the example has the shippedOrders pattern"
    );
    replaced
}

fn the_example_verifies_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let generated = outbox::generate(&root.join("outbox.yaml")).unwrap();
    assert_eq!(generated.warnings.error_count(), 0);
    assert_eq!(generated.warnings.to_string(), "", "no warnings");
}

fn a_pattern_that_filters_nothing_is_a_warning() {
    for pattern in [
        "      orderId: [{ exists: true }]\n",
        "      status: [{ prefix: \"\" }]\n",
        "      status: [PENDING, PAID, SHIPPED, DELIVERED, CANCELLED]\n",
        "      previousStatus: [{ anything-but: SHIPED }]\n",
        // Values of another type than the field's exclude nothing.
        "      order:\n        total: [{ anything-but: \"free\" }]\n",
        "      status: [{ anything-but: [1, 2] }]\n",
        "      order:\n        total: [{ anything-but: { prefix: \"1\" } }]\n",
    ] {
        let config = example_with_pattern(pattern);
        let generated = outbox::generate_text("outbox.yaml", config.as_bytes())
            .unwrap_or_else(|e| panic!("{pattern}: {e}"));
        let warnings = generated.warnings.to_string();
        assert!(
            warnings.contains("consumers.shippedOrders.pattern: this pattern matches every event"),
            "{pattern}: {warnings}"
        );
    }
    // A condition that filters something is not warned about.
    for pattern in [
        "      status: [SHIPPED, DELIVERED]\n",
        "      status: [{ anything-but: SHIPPED }]\n",
        "      order:\n        total: [{ anything-but: 0 }]\n",
    ] {
        let config = example_with_pattern(pattern);
        let generated = outbox::generate_text("outbox.yaml", config.as_bytes()).unwrap();
        assert_eq!(generated.warnings.to_string(), "", "{pattern}");
    }
}

/// The stream filters of the event source mapping that reads `table`, from the stack's resources
/// (the CDK app's model, the same resources as the SAM template).
fn stream_filters(model: &Value, table: &str) -> Option<Vec<Pattern>> {
    let resources = model["resources"].as_object().unwrap();
    let mapping = resources.values().find(|r| {
        r["Type"] == "AWS::Lambda::EventSourceMapping" && {
            let source = &r["Properties"]["EventSourceArn"];
            match source.as_str() {
                Some(arn) => arn.split('/').nth(1) == Some(table),
                None => {
                    let id = source["Fn::GetAtt"][0].as_str().unwrap();
                    resources[id]["Properties"]["TableName"] == table
                }
            }
        }
    })?;
    Some(
        mapping["Properties"]["FilterCriteria"]["Filters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| Pattern::parse(f["Pattern"].as_str().unwrap()).unwrap())
            .collect(),
    )
}

/// Every good golden case: each record its relay maps (`expected.dryrun`, from `event.json`)
/// passes its table's stream filters (from the stack's event source mappings), so Lambda's
/// filtering never drops an event.
fn stream_filters_pass_every_record_a_golden_relay_maps() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut checked = 0;
    for case in std::fs::read_dir(&cases).unwrap() {
        let dir = case.unwrap().path();
        if !dir.join("expected.dryrun").exists() {
            continue;
        }
        let model: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected/cdk/outbox.json")).unwrap(),
        )
        .unwrap();
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("event.json")).unwrap())
                .unwrap();
        let mapped: Vec<String> = std::fs::read_to_string(dir.join("expected.dryrun"))
            .unwrap()
            .lines()
            .filter_map(|l| {
                let entry: Value = serde_json::from_str(l).unwrap();
                let id = entry["Resources"][0].as_str()?.to_owned();
                Some(id.split(':').nth(3)?.to_owned())
            })
            .collect();
        for record in event["Records"].as_array().unwrap() {
            let id = record["eventID"].as_str().unwrap();
            if !mapped.iter().any(|m| m == id) {
                continue;
            }
            let table = record["eventSourceARN"]
                .as_str()
                .unwrap()
                .split('/')
                .nth(1)
                .unwrap();
            let filters = stream_filters(&model, table)
                .unwrap_or_else(|| panic!("{}: no mapping of table {table}", dir.display()));
            assert!(
                filters.is_empty() || filters.iter().any(|f| f.matches(record)),
                "{}: the stream filters drop {id}, which the relay maps",
                dir.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} records checked");
}
