//! Helpers for end-to-end tests: stream batches of the example domain (users and orders in
//! `app-table`), a seed-style reference of the events they should produce, and the relay
//! binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e is in the workspace")
        .to_path_buf()
}

/// The `outbox` command (`e2e-outbox`, this crate's binary: built with the tests, from the same
/// artifacts) with ARGS, from the workspace root (callers may change the directory). Call it
/// from a test: `outbox_command!(&["simulate", ...])`.
#[macro_export]
macro_rules! outbox_command {
    ($args:expr) => {
        $crate::outbox_at(env!("CARGO_BIN_EXE_e2e-outbox"), $args)
    };
}

/// The command at `binary` with ARGS, from the workspace root.
pub fn outbox_at(binary: &str, args: &[&str]) -> Command {
    let mut command = Command::new(binary);
    command.args(args).current_dir(workspace());
    command
}

/// The example's relay binary with its `local` subcommands: `e2e-relay`, which the test build
/// builds beside the test executables (`target/<profile>/`), with the same features, so no test
/// builds anything.
pub fn relay_binary() -> PathBuf {
    test_binary("e2e-relay")
}

/// The relay with `examples/ordered`'s stack (a Custom Event Bus), built with the tests.
pub fn ordered_relay_binary() -> PathBuf {
    test_binary("e2e-ordered-relay")
}

/// A binary of this package, built with the tests.
fn test_binary(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the test executable");
    // target/debug/deps/<test>-<hash> -> target/debug/e2e-relay
    let dir = test
        .parent()
        .and_then(Path::parent)
        .expect("the test executable is in target/<profile>/deps");
    let binary = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: `cargo test -p e2e` builds it",
        binary.display()
    );
    binary
}

/// A moto server (DynamoDB, Streams, EventBridge, SQS) on a free loopback port, stopped on
/// drop. The test command installs `moto_server` into `.venv` and puts it on `PATH`.
pub struct Moto {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// Starts a server and waits until it answers.
    pub fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect(
                "moto_server runs (the test command installs moto[server] into .venv and puts \
                 .venv/bin on PATH)",
            );
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic random generator (xorshift), so batches are the same every run.
pub struct Dice(u64);

impl Dice {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Dice(seed.max(1))
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const STATUSES: [&str; 5] = ["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"];

fn user_image(id: u64, d: &mut Dice) -> Value {
    json!({
        "pk": {"S": format!("USER#{id}")},
        "sk": {"S": "PROFILE"},
        "email": {"S": format!("user{id}@example.com")},
        "name": {"S": format!("Zoë #{id} \"quoted\"")},
        "age": {"N": format!("{}", 18 + d.below(60))},
        "active": {"BOOL": d.below(2) == 0},
        "tags": {"SS": ["a", "b"]},
        "address": {"M": {"street": {"S": "1 Main St"}, "city": {"S": "Oslo"}, "zip": {"S": "0150"}}},
        "createdAt": {"S": "2026-11-27T10:00:00Z"}
    })
}

fn order_image(id: u64, status: &str, d: &mut Dice) -> Value {
    let total = if d.below(10) == 0 {
        "12345678901234567890.123456789012345678".to_owned()
    } else {
        format!("{}.95", d.below(500))
    };
    json!({
        "pk": {"S": format!("ORDER#{id}")},
        "sk": {"S": "ORDER"},
        "customerId": {"S": format!("USER#{}", d.below(100))},
        "total": {"N": total},
        "currency": {"S": "EUR"},
        "status": {"S": status},
        "lines": {"L": [{"M": {"sku": {"S": "SKU-1"}, "quantity": {"N": "2"}, "price": {"N": "9.99"}}}]},
        "updatedAt": {"S": "2026-11-27T11:00:00Z"}
    })
}

/// A stream batch of `count` records of the example domain, mixing INSERT, MODIFY and REMOVE
/// of users, orders and an entity no event wants.
pub fn example_batch(count: usize, seed: u64) -> Value {
    let mut d = Dice::new(seed);
    let records: Vec<Value> = (0..count)
        .map(|i| {
            let id = d.below(200);
            let op = ["INSERT", "MODIFY", "REMOVE"][d.below(3) as usize];
            let (new, old) = match d.below(5) {
                0 | 1 => (user_image(id, &mut d), user_image(id, &mut d)),
                2 | 3 => {
                    let before = STATUSES[d.below(5) as usize];
                    let after = if d.below(3) == 0 { before } else { STATUSES[d.below(5) as usize] };
                    (order_image(id, after, &mut d), order_image(id, before, &mut d))
                }
                _ => {
                    let session = json!({"pk": {"S": format!("SESSION#{id}")}, "sk": {"S": "S"}, "token": {"S": "t"}});
                    (session.clone(), session)
                }
            };
            let keys = json!({"pk": new["pk"], "sk": new["sk"]});
            let mut change = json!({
                "ApproximateCreationDateTime": 1_764_237_600 + i as u64,
                "Keys": keys,
                "SequenceNumber": format!("{:021}", 1_000 + i),
                "SizeBytes": 200,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            });
            if op != "REMOVE" {
                change["NewImage"] = new;
            }
            if op != "INSERT" {
                change["OldImage"] = old;
            }
            json!({
                "eventID": format!("{:032x}", 0xabc000 + i),
                "eventName": op,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1",
                "dynamodb": change,
                "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/app-table/stream/2026-11-27T00:00:00.000"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// A DynamoDB attribute value as plain JSON, the way the seed's Node handler unmarshalls it
/// (numbers as JSON numbers, binary as base64, sets as arrays).
pub fn unmarshall(value: &Value) -> Value {
    let (kind, inner) = value
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("an attribute value");
    match kind.as_str() {
        "S" | "B" => inner.clone(),
        "N" => serde_json::from_str(inner.as_str().unwrap()).unwrap(),
        "BOOL" => inner.clone(),
        "NULL" => Value::Null,
        "SS" | "BS" => inner.clone(),
        "NS" => Value::Array(
            inner
                .as_array()
                .unwrap()
                .iter()
                .map(|n| serde_json::from_str(n.as_str().unwrap()).unwrap())
                .collect(),
        ),
        "L" => Value::Array(inner.as_array().unwrap().iter().map(unmarshall).collect()),
        "M" => Value::Object(
            inner
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), unmarshall(v)))
                .collect(),
        ),
        other => panic!("unknown attribute type {other}"),
    }
}

fn item_without(image: &Value, except: &[&str]) -> serde_json::Map<String, Value> {
    image
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !except.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), unmarshall(v)))
        .collect()
}

/// The entries the seed-style handler produces for a batch of the example domain: source,
/// detail-type, detail (as JSON), event id resource, time.
pub fn seed_reference(batch: &Value) -> Vec<(String, String, Value, String, i64)> {
    let mut out = Vec::new();
    for record in batch["Records"].as_array().unwrap() {
        let change = &record["dynamodb"];
        let new = &change["NewImage"];
        let old = &change["OldImage"];
        let pk = change["Keys"]["pk"]["S"].as_str().unwrap();
        let sk = change["Keys"]["sk"]["S"].as_str().unwrap();
        let id = record["eventID"].as_str().unwrap();
        let time = change["ApproximateCreationDateTime"].as_i64().unwrap();
        match record["eventName"].as_str().unwrap() {
            "INSERT" if pk.starts_with("USER#") && sk == "PROFILE" => {
                let mut detail = item_without(new, &["pk", "sk"]);
                detail.insert("userId".into(), json!(&pk["USER#".len()..]));
                out.push((
                    "myapp.users".into(),
                    "UserCreated".into(),
                    Value::Object(detail),
                    format!("urn:outbox:event:{id}:UserCreated"),
                    time,
                ));
            }
            "MODIFY" if pk.starts_with("ORDER#") && new["status"] != old["status"] => {
                let detail = json!({
                    "orderId": &pk["ORDER#".len()..],
                    "previousStatus": old["status"]["S"],
                    "status": new["status"]["S"],
                    "order": item_without(new, &["pk", "sk"]),
                });
                out.push((
                    "myapp.orders".into(),
                    "OrderStatusChanged".into(),
                    detail,
                    format!("urn:outbox:event:{id}:OrderStatusChanged"),
                    time,
                ));
            }
            _ => {}
        }
    }
    out
}

/// Runs `relay --event-file <batch> --dry-run` with `env` and returns the entries it prints.
pub fn dry_run(batch: &Value, env: &[(&str, &str)]) -> Vec<Value> {
    let dir = std::env::temp_dir().join(format!(
        "outbox-dry-run-{}-{}",
        std::process::id(),
        fastish_id()
    ));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("event.json");
    std::fs::write(&file, batch.to_string()).expect("the event is written");
    let output = Command::new(relay_binary())
        .arg("--event-file")
        .arg(&file)
        .arg("--dry-run")
        .envs(env.iter().copied())
        .output()
        .expect("the relay runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON entry per line"))
        .collect()
}

fn fastish_id() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
