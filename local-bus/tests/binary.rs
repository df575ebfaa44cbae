//! The `outbox-local-bus` binary as `bench/run.py` and scripts use it: it prints its endpoint
//! first, answers PutEvents, honours its fault flags, and reports its counts when interrupted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// One PutEvents request over plain HTTP/1.1; the answer's body.
fn put_events(endpoint: &str, entries: usize) -> serde_json::Value {
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let entries: Vec<serde_json::Value> = (0..entries)
        .map(|i| serde_json::json!({"Source": "s", "DetailType": "d", "Detail": format!("{{\"i\":{i}}}"), "EventBusName": "b"}))
        .collect();
    let body = serde_json::json!({ "Entries": entries }).to_string();
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {address}\r\nX-Amz-Target: AWSEvents.PutEvents\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

fn start(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_outbox-local-bus"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("http://127.0.0.1:"), "{line}");
    (child, line.trim().to_owned())
}

#[test]
fn the_binary_serves_put_events_with_its_faults_and_reports_its_counts() {
    let (mut child, endpoint) = start(&["--count-only"]);
    let answer = put_events(&endpoint, 3);
    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    assert_eq!(answer["Entries"].as_array().unwrap().len(), 3);
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    assert!(
        stderr.contains("accepted 3 entries in 1 requests"),
        "{stderr}"
    );

    let (mut child, endpoint) = start(&["--throttle", "1"]);
    let answer = put_events(&endpoint, 2);
    assert_eq!(answer["FailedEntryCount"], 2, "{answer}");
    assert_eq!(answer["Entries"][0]["ErrorCode"], "ThrottlingException");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn arrivals_record_each_accepted_entry_when_its_request_is_answered() {
    let file = std::env::temp_dir().join(format!("arrivals-{}.jsonl", std::process::id()));
    let (mut child, endpoint) = start(&[
        "--latency-ms",
        "200",
        "--throttle",
        "0.5",
        "--seed",
        "3",
        "--arrivals",
        file.to_str().unwrap(),
    ]);
    let sent = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0;
    let answer = put_events(&endpoint, 10);
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One line per accepted entry (the throttled ones never arrived), with its detail...
    let failed = answer["FailedEntryCount"].as_u64().unwrap() as usize;
    assert!(failed > 0 && failed < 10, "{answer}");
    assert_eq!(lines.len(), 10 - failed, "{text}");
    let accepted: Vec<String> = answer["Entries"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, e)| e.get("EventId").is_some())
        .map(|(i, _)| format!("{{\"i\":{i}}}"))
        .collect();
    let details: Vec<&str> = lines
        .iter()
        .map(|l| l["detail"].as_str().unwrap())
        .collect();
    assert_eq!(details, accepted);
    // ...and when its request was answered: after the 200 ms the bus took.
    for line in &lines {
        let ms = line["ms"].as_f64().unwrap();
        assert!(
            ms >= sent + 200.0 && ms < sent + 5_000.0,
            "{ms} vs sent {sent}"
        );
    }
}
