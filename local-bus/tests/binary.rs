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
