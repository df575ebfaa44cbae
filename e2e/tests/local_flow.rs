//! The whole flow on one machine, through moto's DynamoDB, DynamoDB Streams, EventBridge and
//! SQS: items written to the table become exactly the expected events on exactly the expected
//! consumer queues (`relay dev --provision-only` stands the stack up, `relay poll` is the event
//! source mapping), every delivered detail validates against the generated schemas, nothing is
//! lost when the poller is killed with SIGKILL mid-stream, a poison record lands on the
//! on-failure destination with its reason while the rest of the stream flows, and an item that
//! drifted from its entity becomes a dead letter without holding anything up.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use e2e::{Dice, Moto};
use outbox::validate::{SchemaSet, Verdict};
use serde_json::Value;

const TABLE: &str = "app-table";
const USERS_QUEUE: &str = "userCreatedConsumer-local";
const SHIPPED_QUEUE: &str = "shipped-orders";
const FAILURE_QUEUE: &str = "myapp-relay-failures";
const DEAD_LETTERS_QUEUE: &str = "myapp-dead-letters";

/// A provisioned local stack and clients for it.
struct Stack {
    moto: Moto,
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
}

impl Stack {
    async fn start() -> Stack {
        let moto = Moto::start();
        let output = relay(&moto, &["dev", "--provision-only"]);
        assert!(
            output.status.success(),
            "relay dev --provision-only: {output:?}"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(
                "consumer shippedOrders <- rule myapp-shippedOrders: queue shipped-orders"
            ),
            "{stdout}"
        );
        let config = outbox_ops::sdk_config(Some(&moto.endpoint)).await;
        Stack {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            moto,
        }
    }

    async fn put(&self, item: Item) {
        self.dynamodb
            .put_item()
            .table_name(TABLE)
            .set_item(Some(item))
            .send()
            .await
            .expect("PutItem");
    }

    /// Writes `items`, 25 to a request.
    async fn put_all(&self, items: &[Item]) {
        for chunk in items.chunks(25) {
            let writes = chunk
                .iter()
                .map(|item| {
                    aws_sdk_dynamodb::types::WriteRequest::builder()
                        .put_request(
                            aws_sdk_dynamodb::types::PutRequest::builder()
                                .set_item(Some(item.clone()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            self.dynamodb
                .batch_write_item()
                .request_items(TABLE, writes)
                .send()
                .await
                .expect("BatchWriteItem");
        }
    }

    async fn set(&self, pk: &str, sk: &str, attribute: &str, value: AttributeValue) {
        self.dynamodb
            .update_item()
            .table_name(TABLE)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("SET #a = :v")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":v", value)
            .send()
            .await
            .expect("UpdateItem");
    }

    async fn delete(&self, pk: &str, sk: &str) {
        self.dynamodb
            .delete_item()
            .table_name(TABLE)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .send()
            .await
            .expect("DeleteItem");
    }

    /// Every message on a queue, each received once and deleted (moto's ReceiveMessage scans
    /// the whole queue per message, so the queue is kept short).
    async fn drain(&self, queue: &str) -> Vec<Value> {
        let url = format!("{}/123456789012/{queue}", self.moto.endpoint);
        let mut messages = Vec::new();
        let mut empty = 0;
        while empty < 2 {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("ReceiveMessage");
            if output.messages().is_empty() {
                empty += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            let mut delete = self.sqs.delete_message_batch().queue_url(&url);
            for (n, message) in output.messages().iter().enumerate() {
                messages.push(serde_json::from_str(message.body().unwrap()).unwrap());
                delete = delete.entries(
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(n.to_string())
                        .receipt_handle(message.receipt_handle().unwrap())
                        .build()
                        .unwrap(),
                );
            }
            delete.send().await.expect("DeleteMessageBatch");
        }
        messages
    }
}

type Item = std::collections::HashMap<String, AttributeValue>;

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

fn user(id: u64) -> Item {
    Item::from([
        ("pk".into(), s(&format!("USER#{id}"))),
        ("sk".into(), s("PROFILE")),
        ("email".into(), s(&format!("user{id}@example.com"))),
        ("name".into(), s(&format!("User {id}"))),
        ("age".into(), AttributeValue::N("42".into())),
        ("active".into(), AttributeValue::Bool(true)),
        (
            "tags".into(),
            AttributeValue::Ss(vec!["a".into(), "b".into()]),
        ),
        ("createdAt".into(), s("2026-11-27T10:00:00Z")),
    ])
}

fn order(id: u64, status: &str) -> Item {
    Item::from([
        ("pk".into(), s(&format!("ORDER#{id}"))),
        ("sk".into(), s("ORDER")),
        ("customerId".into(), s("c-1")),
        ("total".into(), AttributeValue::N("129.95".into())),
        ("status".into(), s(status)),
        (
            "lines".into(),
            AttributeValue::L(vec![AttributeValue::M(Item::from([
                ("sku".into(), s("SKU-1")),
                ("quantity".into(), AttributeValue::N("2".into())),
                ("price".into(), AttributeValue::N("64.975".into())),
            ]))]),
        ),
    ])
}

/// Runs the relay binary against `moto`.
fn relay(moto: &Moto, args: &[&str]) -> Output {
    relay_command(moto, args).output().expect("the relay runs")
}

fn relay_command(moto: &Moto, args: &[&str]) -> Command {
    let mut command = Command::new(e2e::relay_binary());
    command
        .args(args)
        .args(["--endpoint", &moto.endpoint])
        .env("RUST_LOG", "warn")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("EVENT_BUS_NAME");
    command
}

fn poll_until_idle(moto: &Moto, checkpoint: &Path) -> Value {
    let output = relay(
        moto,
        &[
            "poll",
            "--table",
            TABLE,
            "--until-idle",
            "--idle-ms",
            "1500",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "relay poll: {output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().expect("the poller's counts")).unwrap()
}

fn schemas() -> SchemaSet {
    SchemaSet::load(&e2e::workspace().join("generated/schemas")).unwrap()
}

/// Checks every delivered event against its schema and groups the events by their
/// deterministic id (`resources[0]`): each id must always carry the same detail.
fn by_event_id(schemas: &SchemaSet, events: &[Value]) -> BTreeMap<String, (Value, usize)> {
    let mut by_id: BTreeMap<String, (Value, usize)> = BTreeMap::new();
    for event in events {
        let verdict = schemas.check(&event.to_string()).unwrap();
        assert!(
            matches!(verdict, Verdict::Valid { .. }),
            "{verdict:?}: {event}"
        );
        let id = event["resources"][0]
            .as_str()
            .expect("an event id")
            .to_owned();
        let entry = by_id
            .entry(id)
            .or_insert_with(|| (event["detail"].clone(), 0));
        assert_eq!(entry.0, event["detail"], "one id, two different details");
        entry.1 += 1;
    }
    by_id
}

fn details(by_id: &BTreeMap<String, (Value, usize)>) -> impl Iterator<Item = &Value> {
    by_id.values().map(|(detail, _)| detail)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_become_exactly_the_expected_events_on_exactly_the_expected_queues() {
    let stack = Stack::start().await;
    // INSERT of a user: UserCreated.
    stack.put(user(1)).await;
    // INSERT of an order (no event), a status change to PAID (an event no consumer wants),
    // to SHIPPED (shippedOrders), an update of another attribute and an update that changes
    // nothing (MODIFY records without a status change: no event).
    stack.put(order(10, "PENDING")).await;
    stack.set("ORDER#10", "ORDER", "status", s("PAID")).await;
    stack.set("ORDER#10", "ORDER", "status", s("SHIPPED")).await;
    stack
        .set("ORDER#10", "ORDER", "updatedAt", s("2026-11-27T11:00:00Z"))
        .await;
    stack.set("ORDER#10", "ORDER", "status", s("SHIPPED")).await;
    // The user written again (MODIFY: not a new user) and deleted (REMOVE: no event).
    stack.put(user(1)).await;
    stack.delete("USER#1", "PROFILE").await;
    // An item no entity matches, and a user whose sort key is not PROFILE.
    stack
        .put(Item::from([
            ("pk".into(), s("OTHER#1")),
            ("sk".into(), s("X")),
        ]))
        .await;
    let mut not_a_profile = user(3);
    not_a_profile.insert("sk".into(), s("SETTINGS"));
    stack.put(not_a_profile).await;
    // A transaction: a new user and another order shipped, in one write.
    stack.put(order(11, "PAID")).await;
    stack
        .dynamodb
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(TABLE)
                        .set_item(Some(user(2)))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(TABLE)
                        .key("pk", s("ORDER#11"))
                        .key("sk", s("ORDER"))
                        .update_expression("SET #s = :s")
                        .expression_attribute_names("#s", "status")
                        .expression_attribute_values(":s", s("SHIPPED"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("TransactWriteItems");
    // The stream ends with a record the filters drop: the checkpoint still moves past it.
    stack.delete("USER#2", "PROFILE").await;

    let checkpoint = tempfile::tempdir().unwrap();
    let stats = poll_until_idle(&stack.moto, &checkpoint.path().join("cp.json"));
    assert_eq!(stats["records"], 14, "{stats}");
    // The mapping's FilterCriteria drop the inserts of orders and of items no event wants,
    // the user's MODIFY and both REMOVEs before the relay sees them.
    assert_eq!(stats["filteredOut"], 7, "{stats}");
    assert_eq!(stats["recordsToFailureDestination"], 0, "{stats}");

    let schemas = schemas();
    let users = by_event_id(&schemas, &stack.drain(USERS_QUEUE).await);
    let user_ids: BTreeSet<&str> = details(&users)
        .map(|d| d["userId"].as_str().unwrap())
        .collect();
    assert_eq!(user_ids, BTreeSet::from(["1", "2"]));
    assert!(users.values().all(|(_, copies)| *copies == 1));
    let first = details(&users).find(|d| d["userId"] == "1").unwrap();
    assert_eq!(first["email"], "user1@example.com");
    assert_eq!(first["age"], 42);
    assert_eq!(first["tags"], serde_json::json!(["a", "b"]));
    assert!(first.get("pk").is_none() && first.get("sk").is_none());

    let shipped = by_event_id(&schemas, &stack.drain(SHIPPED_QUEUE).await);
    let shipped: BTreeSet<(String, String)> = details(&shipped)
        .map(|d| {
            assert_eq!(d["status"], "SHIPPED");
            assert_eq!(d["order"]["total"], 129.95);
            (
                d["orderId"].as_str().unwrap().to_owned(),
                d["previousStatus"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        shipped,
        BTreeSet::from([("10".into(), "PAID".into()), ("11".into(), "PAID".into())])
    );
    assert_eq!(stack.drain(FAILURE_QUEUE).await, Vec::<Value>::new());

    // Polling again from the checkpoint delivers nothing twice.
    let again = poll_until_idle(&stack.moto, &checkpoint.path().join("cp.json"));
    assert_eq!(again["records"], 0, "{again}");
}

/// Users 1 and 3 around `middle` (user 2 as written), then order 4 shipped; polls until idle
/// and returns the poller's counts.
async fn write_around(stack: &Stack, middle: Item) -> Value {
    stack.put(user(1)).await;
    stack.put(middle).await;
    stack.put(user(3)).await;
    stack.put(order(4, "PENDING")).await;
    stack.set("ORDER#4", "ORDER", "status", s("SHIPPED")).await;
    let checkpoint = tempfile::tempdir().unwrap();
    poll_until_idle(&stack.moto, &checkpoint.path().join("cp.json"))
}

/// What [`write_around`] writes besides its middle reached the consumers: users 1 and 3, the
/// shipped order.
async fn assert_the_rest_delivered(stack: &Stack) {
    let schemas = schemas();
    let users = by_event_id(&schemas, &stack.drain(USERS_QUEUE).await);
    let user_ids: BTreeSet<&str> = details(&users)
        .map(|d| d["userId"].as_str().unwrap())
        .collect();
    assert_eq!(user_ids, BTreeSet::from(["1", "3"]));
    let shipped = by_event_id(&schemas, &stack.drain(SHIPPED_QUEUE).await);
    assert_eq!(shipped.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_record_goes_to_the_failure_destination_with_its_reason_and_the_stream_flows() {
    let stack = Stack::start().await;
    // An integer EventBridge cannot take (beyond 64 bits) in an attribute `rest` copies: the
    // UserCreated event cannot be built.
    let mut poison = user(2);
    poison.insert(
        "age".into(),
        AttributeValue::N("123456789012345678901234567890".into()),
    );
    let stats = write_around(&stack, poison).await;
    assert_eq!(stats["recordsToFailureDestination"], 1, "{stats}");

    let failures = stack.drain(FAILURE_QUEUE).await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    let failure = &failures[0];
    assert_eq!(
        failure["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    // The deployed default: 10 retries after the first attempt.
    assert_eq!(failure["requestContext"]["approximateInvokeCount"], 11);
    let info = &failure["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["startSequenceNumber"], info["endSequenceNumber"]);
    let reason = failure["outbox"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("UserCreated") && reason.contains("at `age`"),
        "{reason}"
    );
    assert_eq!(failure["outbox"]["records"][0]["eventName"], "INSERT");
    // The poison record's item contents are not in the message.
    assert!(!failure.to_string().contains("user2@"), "{failure}");

    assert_the_rest_delivered(&stack).await;
    assert!(stack.drain(DEAD_LETTERS_QUEUE).await.is_empty());
}

/// An item that drifted from its entity (an `email` that is a number: the detail breaks its
/// schema) becomes a dead letter on `myapp-dead-letters` with its keys and the reason, under
/// the default `drift-policy`, and holds nothing up: no retries, nothing on the failure
/// destination, the users around it and a shipped order delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_item_becomes_a_dead_letter_and_the_stream_flows() {
    let stack = Stack::start().await;
    let mut drifted = user(2);
    drifted.insert("email".into(), AttributeValue::N("5".into()));
    let stats = write_around(&stack, drifted).await;
    assert_eq!(stats["recordsToFailureDestination"], 0, "{stats}");
    assert_eq!(stats["failedInvocations"], 0, "{stats}");
    assert!(stack.drain(FAILURE_QUEUE).await.is_empty());

    let letters = stack.drain(DEAD_LETTERS_QUEUE).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter["source"], "myapp.outbox");
    assert_eq!(letter["detail-type"], "Outbox Poison Record");
    let detail = &letter["detail"];
    assert_eq!(detail["kind"], "schema");
    assert_eq!(detail["event"], "UserCreated");
    assert_eq!(
        detail["keys"],
        serde_json::json!({"pk": "USER#2", "sk": "PROFILE"})
    );
    let reason = detail["reason"].as_str().unwrap();
    assert!(reason.contains("/email: violates `type`"), "{reason}");
    assert!(!letter.to_string().contains("user2@"), "{letter}");
    assert_the_rest_delivered(&stack).await;
}

/// The last line a relay command printed on stdout, as JSON (its counts).
fn summary(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().expect("a summary line")).unwrap()
}

/// `relay redrive` on a dead letter: kept (exit 1, with the reason) while the item still
/// drifts; once the data is fixed, `--dry-run` shows the event and changes nothing, and the
/// real run publishes it with its original id and empties the dead letters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_redriven_once_its_item_is_fixed() {
    let stack = Stack::start().await;
    let mut drifted = user(2);
    drifted.insert("email".into(), AttributeValue::N("5".into()));
    write_around(&stack, drifted).await;
    assert_the_rest_delivered(&stack).await;

    let still = relay(&stack.moto, &["redrive", "--dry-run"]);
    assert_eq!(still.status.code(), Some(1), "{still:?}");
    let stderr = String::from_utf8_lossy(&still.stderr);
    assert!(
        stderr.contains("[dead letters 1] kept") && stderr.contains("/email: violates `type`"),
        "{stderr}"
    );
    assert_eq!(summary(&still)["kept"], 1);

    stack
        .set("USER#2", "PROFILE", "email", s("user2@example.com"))
        .await;
    let dry = relay(&stack.moto, &["redrive", "--dry-run"]);
    assert!(dry.status.success(), "{dry:?}");
    let stdout = String::from_utf8_lossy(&dry.stdout);
    let entry: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(entry["DetailType"], "UserCreated");
    let id = entry["Resources"][0].as_str().unwrap().to_owned();
    assert!(id.ends_with(":UserCreated"), "{id}");
    assert_eq!(summary(&dry)["redriven"], 1);
    assert_eq!(summary(&dry)["dryRun"], true);
    assert!(
        stack.drain(USERS_QUEUE).await.is_empty(),
        "a dry run publishes nothing"
    );

    let run = relay(&stack.moto, &["redrive"]);
    assert!(run.status.success(), "{run:?}");
    assert_eq!(summary(&run)["published"], 1);
    let users = stack.drain(USERS_QUEUE).await;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(
        users[0]["resources"][0],
        id.as_str(),
        "the original event id"
    );
    assert_eq!(users[0]["detail"]["userId"], "2");
    assert_eq!(users[0]["detail"]["email"], "user2@example.com");
    assert!(stack.drain(DEAD_LETTERS_QUEUE).await.is_empty());
    // Done: a second run finds nothing.
    let again = relay(&stack.moto, &["redrive"]);
    assert!(again.status.success(), "{again:?}");
    assert_eq!(summary(&again)["messages"], 0);
}

/// Batches that could not be published (the bus was wrong) reach the failure queue; `relay
/// redrive` reads their records back from the stream and publishes every event once, with
/// the ids the relay gives them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_batches_are_redriven_from_the_stream() {
    let stack = Stack::start().await;
    stack.put(user(1)).await;
    stack.put(user(2)).await;
    stack.put(order(3, "PENDING")).await;
    stack.set("ORDER#3", "ORDER", "status", s("SHIPPED")).await;
    let checkpoint = tempfile::tempdir().unwrap();
    let output = relay_command(
        &stack.moto,
        &[
            "poll",
            "--table",
            TABLE,
            "--until-idle",
            "--idle-ms",
            "1500",
            "--maximum-retry-attempts",
            "0",
            "--checkpoint",
            checkpoint.path().join("cp.json").to_str().unwrap(),
        ],
    )
    .env("EVENT_BUS_NAME", "no-such-bus")
    .output()
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stats = summary(&output);
    assert!(
        stats["recordsToFailureDestination"].as_u64().unwrap() >= 3,
        "{stats}"
    );
    assert!(stack.drain(USERS_QUEUE).await.is_empty());

    let dry = relay(&stack.moto, &["redrive", "--dry-run"]);
    assert!(dry.status.success(), "{dry:?}");
    let dry_ids: BTreeSet<String> = String::from_utf8_lossy(&dry.stdout)
        .lines()
        .filter(|l| l.contains("\"Resources\""))
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["Resources"][0]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        dry_ids.len(),
        3,
        "two users and a shipped order: {dry_ids:?}"
    );

    let run = relay(&stack.moto, &["redrive"]);
    assert!(run.status.success(), "{run:?}");
    assert_eq!(summary(&run)["kept"], 0);
    let schemas = schemas();
    let users = by_event_id(&schemas, &stack.drain(USERS_QUEUE).await);
    let shipped = by_event_id(&schemas, &stack.drain(SHIPPED_QUEUE).await);
    let delivered: BTreeSet<String> = users.keys().chain(shipped.keys()).cloned().collect();
    assert_eq!(delivered, dry_ids, "what the dry run showed, once each");
    assert!(users.values().chain(shipped.values()).all(|(_, n)| *n == 1));
    assert!(stack.drain(FAILURE_QUEUE).await.is_empty());
}

/// Records older than `maximum-record-age` never reach the function: they go to the on-failure
/// destination (`RecordAgeExceeded`) and the stream moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_older_than_the_maximum_age_go_to_the_failure_destination_unread() {
    let stack = Stack::start().await;
    stack.put(user(1)).await;
    // Creation times are whole seconds: wait until the record is more than 5 s old.
    tokio::time::sleep(Duration::from_millis(6_200)).await;
    let checkpoint = tempfile::tempdir().unwrap();
    let file = checkpoint.path().join("cp.json");
    let poll = || {
        let output = relay(
            &stack.moto,
            &[
                "poll",
                "--table",
                TABLE,
                "--until-idle",
                "--idle-ms",
                "1000",
                "--checkpoint",
                file.to_str().unwrap(),
                "--maximum-record-age",
                "5",
            ],
        );
        assert!(output.status.success(), "{output:?}");
    };
    poll();
    let failures = stack.drain(FAILURE_QUEUE).await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(
        failures[0]["requestContext"]["condition"],
        "RecordAgeExceeded"
    );
    assert_eq!(failures[0]["requestContext"]["approximateInvokeCount"], 0);
    assert_eq!(failures[0]["DDBStreamBatchInfo"]["batchSize"], 1);
    assert_eq!(stack.drain(USERS_QUEUE).await, Vec::<Value>::new());
    // A fresh record after it is relayed (it is younger than 5 s when its batch is handed over).
    stack.put(user(2)).await;
    poll();
    let users = by_event_id(&schemas(), &stack.drain(USERS_QUEUE).await);
    assert_eq!(users.len(), 1);
    assert_eq!(details(&users).next().unwrap()["userId"], "2");
    assert_eq!(stack.drain(FAILURE_QUEUE).await, Vec::<Value>::new());
}

/// One write of the crash test, in its item's order.
#[derive(Debug, Clone, Copy)]
enum Write {
    User(u64),
    RewriteUser(u64),
    DeleteUser(u64),
    Order(u64),
    Status(u64, &'static str),
    Touch(u64),
}

/// 1,000 writes: 200 new users (some written again, some deleted), 150 orders that go
/// PENDING -> PAID -> SHIPPED with unrelated updates in between, interleaved at random while
/// each item's own writes keep their order.
fn crash_test_writes(dice: &mut Dice) -> Vec<Write> {
    let mut lanes: Vec<VecDeque<Write>> = Vec::new();
    for id in 0..USERS {
        let mut lane = VecDeque::from([Write::User(id)]);
        if id < USERS / 2 {
            lane.push_back(Write::RewriteUser(id));
        }
        if (USERS / 4..USERS * 3 / 4).contains(&id) {
            lane.push_back(Write::DeleteUser(id));
        }
        lanes.push(lane);
    }
    for id in 0..ORDERS {
        lanes.push(VecDeque::from([
            Write::Order(id),
            Write::Status(id, "PAID"),
            Write::Touch(id),
            Write::Status(id, "SHIPPED"),
        ]));
    }
    let mut writes = Vec::new();
    while !lanes.is_empty() {
        let lane = dice.below(lanes.len() as u64) as usize;
        writes.extend(lanes[lane].pop_front());
        if lanes[lane].is_empty() {
            lanes.swap_remove(lane);
        }
    }
    writes
}

/// The delivered ids are exactly `0..count`: none lost, none that should not exist.
fn assert_same_ids(event: &str, delivered: &BTreeSet<u64>, count: u64) {
    let expected: BTreeSet<u64> = (0..count).collect();
    let lost: Vec<_> = expected.difference(delivered).collect();
    let unexpected: Vec<_> = delivered.difference(&expected).collect();
    assert!(
        lost.is_empty() && unexpected.is_empty(),
        "{event}: lost {lost:?}, unexpected {unexpected:?}"
    );
}

/// Users and orders the crash test writes.
const USERS: u64 = 200;
const ORDERS: u64 = 150;

/// The crash test (named to start among the first, so its minute or two runs beside the
/// others): the poller is killed mid-stream again and again, and no event is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_poller_loses_no_event() {
    let stack = std::sync::Arc::new(Stack::start().await);
    let mut dice = Dice::new(2026);
    let writes = crash_test_writes(&mut dice);
    assert_eq!(writes.len(), 1_000);
    let writer = {
        let stack = stack.clone();
        tokio::spawn(async move {
            for write in writes {
                match write {
                    Write::User(id) | Write::RewriteUser(id) => stack.put(user(id)).await,
                    Write::DeleteUser(id) => stack.delete(&format!("USER#{id}"), "PROFILE").await,
                    Write::Order(id) => stack.put(order(id, "PENDING")).await,
                    Write::Status(id, status) => {
                        stack
                            .set(&format!("ORDER#{id}"), "ORDER", "status", s(status))
                            .await;
                    }
                    Write::Touch(id) => {
                        stack
                            .set(
                                &format!("ORDER#{id}"),
                                "ORDER",
                                "updatedAt",
                                s("2026-11-27T12:00:00Z"),
                            )
                            .await;
                    }
                }
            }
        })
    };

    // The poller runs and is killed (SIGKILL: no clean-up, no last checkpoint write) at
    // random points while the writes flow, then restarted from its checkpoint.
    let checkpoint = tempfile::tempdir().unwrap();
    let file = checkpoint.path().join("cp.json");
    let mut kills = 0;
    while !writer.is_finished() || kills < 8 {
        let mut poller = relay_command(
            &stack.moto,
            &[
                "poll",
                "--table",
                TABLE,
                "--checkpoint",
                file.to_str().unwrap(),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        tokio::time::sleep(Duration::from_millis(1_000 + dice.below(2_000))).await;
        poller.kill().unwrap(); // SIGKILL
        poller.wait().unwrap();
        kills += 1;
    }
    writer.await.unwrap();
    let stats = poll_until_idle(&stack.moto, &file);
    assert_eq!(stats["recordsToFailureDestination"], 0, "{stats}");

    let schemas = schemas();
    let users = by_event_id(&schemas, &stack.drain(USERS_QUEUE).await);
    let shipped = by_event_id(&schemas, &stack.drain(SHIPPED_QUEUE).await);
    // Every expected event at least once, nothing else: one UserCreated per new user, one
    // OrderStatusChanged to SHIPPED per order (the PAID changes reach no consumer).
    let user_ids: BTreeSet<u64> = details(&users)
        .map(|d| d["userId"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_same_ids("UserCreated", &user_ids, USERS);
    assert_eq!(users.len() as u64, USERS, "one event id per user");
    let order_ids: BTreeSet<u64> = details(&shipped)
        .map(|d| {
            assert_eq!(
                (&d["previousStatus"], &d["status"]),
                (&"PAID".into(), &"SHIPPED".into())
            );
            d["orderId"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    assert_same_ids("OrderStatusChanged to SHIPPED", &order_ids, ORDERS);
    assert_eq!(
        shipped.len() as u64,
        ORDERS,
        "one event id per shipped order"
    );
    assert_eq!(stack.drain(FAILURE_QUEUE).await, Vec::<Value>::new());
    let duplicates: usize = users
        .values()
        .chain(shipped.values())
        .map(|(_, n)| n - 1)
        .sum();
    eprintln!(
        "crash test: {kills} SIGKILLs, {} distinct events, {duplicates} duplicate deliveries (same event id)",
        USERS + ORDERS
    );
}

/// The README's quick tour: `generator dev` stands the stack up, and an item written to the
/// table shows up as an event at its consumer, one line each, until Ctrl-C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generator_dev_prints_each_event_as_it_reaches_its_consumer() {
    use std::io::BufRead as _;
    use std::os::unix::process::CommandExt as _;

    let moto = Moto::start();
    let mut dev = e2e::outbox_command!(&["dev", "--endpoint", &moto.endpoint])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let (lines, received) = std::sync::mpsc::channel::<String>();
    let stdout = dev.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let mut seen = Vec::new();
    let wait_for = |seen: &mut Vec<String>, prefix: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        while !seen.iter().any(|l: &String| l.starts_with(prefix)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(e) => panic!("no line starting with {prefix:?} ({e}); saw {seen:#?}"),
            }
        }
    };
    wait_for(&mut seen, "outbox dev: the stack is up");

    let config = outbox_ops::sdk_config(Some(&moto.endpoint)).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    dynamodb
        .put_item()
        .table_name(TABLE)
        .set_item(Some(user(7)))
        .send()
        .await
        .unwrap();
    wait_for(
        &mut seen,
        "[userCreatedConsumer] UserCreated from myapp.users (urn:outbox:event:",
    );
    // What the deployed alarms watch, per invocation.
    wait_for(&mut seen, "[metrics] app-table: IteratorAge=");
    let line = seen
        .iter()
        .find(|l| l.starts_with("[userCreatedConsumer]"))
        .unwrap();
    // The detail as the relay published it, not parsed and printed again.
    assert!(line.contains(r#""userId":"7""#), "{line}");
    let metrics = seen.iter().find(|l| l.starts_with("[metrics]")).unwrap();
    assert!(metrics.contains("records=1 "), "{metrics}");

    // A total of 21 digits is shown with every digit, as published (moto's queue holds the
    // double 1.2345678901234567e+19).
    let mut shipped = order(8, "PAID");
    dynamodb
        .put_item()
        .table_name(TABLE)
        .set_item(Some(shipped.clone()))
        .send()
        .await
        .unwrap();
    shipped.insert("status".into(), s("SHIPPED"));
    shipped.insert(
        "total".into(),
        AttributeValue::N("12345678901234567890.5".into()),
    );
    dynamodb
        .put_item()
        .table_name(TABLE)
        .set_item(Some(shipped))
        .send()
        .await
        .unwrap();
    wait_for(
        &mut seen,
        "[shippedOrders] OrderStatusChanged from myapp.orders",
    );
    let line = seen
        .iter()
        .find(|l| l.starts_with("[shippedOrders]"))
        .unwrap();
    assert!(line.contains(r#""total":12345678901234567890.5"#), "{line}");
    assert!(
        seen.iter()
            .any(|l| l.contains("rounded to a double (AWS keeps every digit)")),
        "the banner says where moto rounds: {seen:#?}"
    );

    // Ctrl-C reaches the whole foreground process group: everything stops, nothing is left
    // running (no relay, no server).
    let group = format!("-{}", dev.id());
    let signal = |name: &str| {
        Command::new("kill")
            .args([name, "--", &group])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    assert!(signal("-INT"));
    dev.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while signal("-0") {
        assert!(
            std::time::Instant::now() < deadline,
            "processes of `generator dev` still run after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `generator dev` starts moto_server when nothing answers at the endpoint (and stops it when
/// it ends), and says how to install it when it is missing.
#[test]
fn generator_dev_starts_moto_when_nothing_answers_and_says_how_to_get_it() {
    let workspace = e2e::workspace();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let elsewhere = tempfile::tempdir().unwrap();
    let dev = |path: &std::ffi::OsStr| {
        e2e::outbox_command!(&["--config"])
            .arg(workspace.join("outbox.yaml"))
            .arg("--out")
            .arg(workspace.join("generated"))
            .args(["dev", "--provision-only", "--endpoint", &endpoint])
            .current_dir(elsewhere.path())
            .env("PATH", path)
            .output()
            .unwrap()
    };
    let path = std::env::var_os("PATH").unwrap();
    let without_moto = std::env::join_paths(
        std::env::split_paths(&path).filter(|dir| !dir.join("moto_server").exists()),
    )
    .unwrap();
    let missing = dev(&without_moto);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("moto_server is not installed")
            && stderr.contains("pip install 'moto[server]'"),
        "{stderr}"
    );

    let started = dev(&path);
    assert!(started.status.success(), "{started:?}");
    assert!(String::from_utf8_lossy(&started.stderr).contains("starting "));
    assert!(String::from_utf8_lossy(&started.stdout).contains("outbox dev: the stack is up"));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the moto_server generator dev started is still running"
    );
}

/// Usage errors of `relay poll` exit 2 and say what to do.
#[test]
fn relay_poll_explains_an_unknown_table_and_a_missing_stack() {
    let moto = Moto::start();
    let unknown = relay(&moto, &["poll", "--table", "nope", "--until-idle"]);
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("--table nope: this relay reads no such table (it reads: app-table)"),
        "{stderr}"
    );
    let missing = relay(&moto, &["poll", "--table", TABLE, "--until-idle"]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("relay dev --provision-only"), "{stderr}");
}

/// On a Custom Event Bus, an ordered consumer gets every order's status changes exactly once and
/// in order, through what goes wrong: the bus throttles (429) and fails (500) requests at
/// random, and the poller is killed (SIGKILL) mid-stream and restarted from its checkpoint, so
/// batches are published again. The bus (the fake's, in process) drops what was published
/// before (`DEDUPLICATED`); its FIFO subscriber delivers each order's events to an SQS FIFO
/// queue on moto, grouped by the order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordered_consumer_gets_each_orders_changes_once_and_in_order_through_faults_and_crashes()
{
    let stack = std::sync::Arc::new(Stack::start().await);
    let queue = "ordered-fulfilment.fifo";
    let url = stack
        .sqs
        .create_queue()
        .queue_name(queue)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let consumer = outbox_ops::Consumer {
        name: "fulfilment".into(),
        rule_name: "myapp-fulfilment".into(),
        pattern: serde_json::json!({ "source": ["myapp.orders"], "detail-type": ["OrderStatusChanged"] }),
        queue: queue.into(),
        stands_in_for: None,
        ordered: true,
        input: None,
        dead_letter_queue: None,
    };
    let arn = outbox_ops::bus::local_bus_arn("myapp-ordered");
    let bus = outbox_ops::bus::start(
        &arn,
        &[consumer],
        &[("fulfilment".into(), url)],
        &stack.sqs,
        outbox_local_bus::Faults {
            throttle_entries: 0.25,
            fail_requests: 0.15,
            // Every answer takes a while, so a kill lands mid-request: the bus has published
            // what the relay never heard back about, and gets it again after the restart.
            slow_requests: 1.0,
            slow_delay: Duration::from_millis(40),
            seed: 5,
            ..outbox_local_bus::Faults::default()
        },
    )
    .await
    .unwrap();
    let deliveries = tokio::spawn(futures_util::future::try_join_all(bus.deliveries));

    // 60 orders, each PENDING -> PAID -> SHIPPED -> DELIVERED, the orders interleaved.
    let statuses = ["PAID", "SHIPPED", "DELIVERED"];
    let orders = 80;
    let writer = {
        let stack = stack.clone();
        tokio::spawn(async move {
            for id in 0..orders {
                stack.put(order(id, "PENDING")).await;
            }
            for status in statuses {
                for id in 0..orders {
                    stack
                        .set(&format!("ORDER#{id}"), "ORDER", "status", s(status))
                        .await;
                }
            }
        })
    };
    let checkpoint = tempfile::tempdir().unwrap();
    let file = checkpoint.path().join("cp.json");
    let poll = |until_idle: bool| {
        // Small batches: many requests, so the faults strike often.
        let mut args = vec![
            "poll",
            "--table",
            TABLE,
            "--batch-size",
            "8",
            "--checkpoint",
            file.to_str().unwrap(),
        ];
        if until_idle {
            args.extend(["--until-idle", "--idle-ms", "1500"]);
        }
        let mut command = relay_command(&stack.moto, &args);
        command
            .env("AWS_ENDPOINT_URL_EVENTBRIDGEV2", bus.fake.endpoint())
            .env("EVENT_BUS_ARN", &arn)
            .env("OUTBOX_MAX_ATTEMPTS", "30");
        command
    };
    // Each run is killed 10 ms after the bus receives one of its requests: the bus answers
    // after 40 ms, so the relay never hears that the request's entries were published, and
    // publishes them again after the restart.
    let mut kills = 0;
    while !writer.is_finished() || kills < 3 || (bus.fake.log().deduplicated == 0 && kills < 12) {
        let seen = bus.fake.log().requests;
        let mut poller = poll(false)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while bus.fake.log().requests == seen && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        poller.kill().unwrap(); // SIGKILL
        poller.wait().unwrap();
        kills += 1;
    }
    writer.await.unwrap();
    let output = poll(true).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let stats: Value = serde_json::from_str(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stats["recordsToFailureDestination"], 0, "{stats}");

    let log = bus.fake.log();
    assert!(log.throttled_entries > 0, "the bus throttled");
    assert!(
        log.deduplicated > 0,
        "a batch was published again after a kill"
    );
    // Let the subscriber's queue catch up, then read it in FIFO order.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = stack.drain(queue).await;
    let mut per_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for event in &received {
        assert!(
            ids.insert(event["resources"][0].to_string()),
            "delivered twice: {event}"
        );
        per_order
            .entry(event["detail"]["orderId"].as_str().unwrap().to_owned())
            .or_default()
            .push(event["detail"]["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(per_order.len(), orders as usize, "every order");
    for (order, seen) in &per_order {
        assert_eq!(seen, &statuses, "order {order}: once each, in order");
    }
    eprintln!(
        "ordered: {kills} SIGKILLs, {} events delivered once each in order; the bus absorbed {} republished, throttled {} entries",
        received.len(),
        log.deduplicated,
        log.throttled_entries
    );
    drop(bus.fake);
    deliveries.abort();
}

/// `relay backfill` on 2,000 items (1,500 users, 500 orders: only users have a snapshot form),
/// publishing to the fake EventBridge (fast where moto's queues are not): SIGKILLed mid-run and
/// resumed from its checkpoint, every user is published as a `UserCreated` marked as
/// backfilled (`resources[1]`), with the run's ids (the resumed run keeps the run), none lost,
/// repeats only of what the kill cut short, under the same id; a user inserted while the
/// backfill runs is published live from the stream too, unmarked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_killed_and_resumed_publishes_every_snapshot() {
    let stack = Stack::start().await;
    let fake = outbox_local_bus::LocalEventBridge::start(outbox_local_bus::Faults::default())
        .await
        .unwrap();
    let (users, orders) = (1_500u64, 500u64);
    let items: Vec<Item> = (0..users)
        .map(user)
        .chain((0..orders).map(|id| order(id, "PAID")))
        .collect();
    stack.put_all(&items).await;
    let with_fake = |mut command: Command| {
        command.env("AWS_ENDPOINT_URL_EVENTBRIDGE", fake.endpoint());
        command
    };
    // The stream's records of these writes, published live before the backfill starts.
    let stream_checkpoint = tempfile::tempdir().unwrap();
    let stream_file = stream_checkpoint.path().join("cp.json");
    let poll = || {
        with_fake(relay_command(
            &stack.moto,
            &[
                "poll",
                "--table",
                TABLE,
                "--until-idle",
                "--idle-ms",
                "1500",
                "--checkpoint",
                stream_file.to_str().unwrap(),
            ],
        ))
        .output()
        .unwrap()
    };
    assert!(poll().status.success());
    let before = fake.log().accepted.len();
    assert_eq!(before as u64, users, "the inserts, live");

    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("backfill.json");
    let backfill = |rate: &str| {
        with_fake(relay_command(
            &stack.moto,
            &[
                "backfill",
                "--table",
                TABLE,
                "--segments",
                "4",
                "--rate",
                rate,
                "--checkpoint",
                checkpoint.to_str().unwrap(),
            ],
        ))
    };
    // Slow enough (300 events/s) that the kill lands mid-run.
    let mut first = backfill("300")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // A live insert while the backfill runs.
    stack.put(user(9_999)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap();
    assert!(
        saved["segments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["done"] == false),
        "killed mid-run: {saved}"
    );
    let resumed = backfill("100000").output().unwrap();
    assert!(resumed.status.success(), "{resumed:?}");
    let summary = summary(&resumed);
    assert_eq!(summary["run"], saved["run"], "the resumed run keeps its id");
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(stderr.contains("events/s"), "progress on stderr: {stderr}");
    assert!(poll().status.success());

    let marker = format!("urn:outbox:backfill:{}", saved["run"].as_str().unwrap());
    let log = fake.log();
    let mut backfilled: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut live = Vec::new();
    for entry in &log.accepted[before..] {
        assert_eq!(entry.detail_type, "UserCreated", "only the snapshot events");
        let detail: Value = serde_json::from_str(&entry.detail).unwrap();
        let user = detail["userId"].as_str().unwrap().to_owned();
        match entry.resources.get(1) {
            Some(m) => {
                assert_eq!(m, &marker, "one run");
                let slot = backfilled
                    .entry(user)
                    .or_insert((entry.resources[0].clone(), 0));
                assert_eq!(slot.0, entry.resources[0], "one user, one id in a run");
                slot.1 += 1;
            }
            None => live.push(user),
        }
    }
    assert_eq!(live, ["9999"], "the live insert, through the stream");
    let expected: BTreeSet<String> = (0..users).map(|id| id.to_string()).collect();
    let got: BTreeSet<String> = backfilled
        .keys()
        .filter(|u| *u != "9999")
        .cloned()
        .collect();
    assert_eq!(got, expected, "every user, none lost");
    // Both touched user 9999: the backfill read it after the insert, so its event's `time`
    // (when the page was read) is not before the live one's (when the item was written): the
    // later `time` carries the later state (README: backfill and live writes).
    let time_of = |backfill: bool| {
        log.accepted[before..]
            .iter()
            .find(|e| e.detail.contains("\"9999\"") && (e.resources.len() > 1) == backfill)
            .and_then(|e| e.time.as_ref().and_then(serde_json::Number::as_i64))
    };
    if let (Some(snapshot), Some(live)) = (time_of(true), time_of(false)) {
        assert!(
            snapshot >= live,
            "backfilled at {snapshot}, written at {live}"
        );
    }
    let repeats: usize = backfilled.values().map(|(_, n)| n - 1).sum();
    // At most the pages the kill cut short: 4 segments of 100 items.
    assert!(repeats <= 400, "{repeats} repeats");
    eprintln!(
        "backfill: {} users, killed once and resumed, {repeats} repeated (same ids); the live insert published live{}",
        got.len(),
        if backfilled.contains_key("9999") {
            " and backfilled"
        } else {
            ""
        }
    );
}

/// `relay replay` against moto's archives and replays: the events the archive kept are sent
/// again, the replay's request names the consumer's rule as the only destination and the
/// range asked for, the command waits for it to complete, and the consumer receives the same
/// event ids again, marked `replay-name` (moto replays to every rule of the bus; AWS only to
/// the rules in `FilterArns`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_sends_the_archived_range_to_one_consumer_again() {
    let stack = Stack::start().await;
    stack.put(user(1)).await;
    stack.put(user(2)).await;
    let checkpoint = tempfile::tempdir().unwrap();
    poll_until_idle(&stack.moto, &checkpoint.path().join("cp.json"));
    let first = stack.drain(USERS_QUEUE).await;
    assert_eq!(first.len(), 2);

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let time = |secs: i64| {
        aws_sdk_dynamodb::primitives::DateTime::from_secs(secs)
            .fmt(aws_sdk_dynamodb::primitives::DateTimeFormat::DateTime)
            .unwrap()
    };
    let (from, to) = (time(now - 3_600), time(now + 3_600));
    let output = relay(
        &stack.moto,
        &[
            "replay",
            "--consumer",
            "userCreatedConsumer",
            "--from",
            &from,
            "--to",
            &to,
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let summary = summary(&output);
    assert_eq!(summary["state"], "COMPLETED", "{summary}");
    assert_eq!(summary["rule"], "myapp-userCreatedConsumer");

    let config = outbox_ops::sdk_config(Some(&stack.moto.endpoint)).await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let replay = events
        .describe_replay()
        .replay_name(summary["replay"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let rule = events
        .describe_rule()
        .name("myapp-userCreatedConsumer")
        .event_bus_name("myapp-events")
        .send()
        .await
        .unwrap();
    let destination = replay.destination().unwrap();
    assert_eq!(destination.filter_arns(), [rule.arn().unwrap().to_owned()]);
    assert!(destination.arn().ends_with(":event-bus/myapp-events"));
    assert_eq!(replay.event_start_time().unwrap().secs(), now - 3_600);
    assert_eq!(replay.event_end_time().unwrap().secs(), now + 3_600);
    assert!(
        replay
            .event_source_arn()
            .unwrap()
            .ends_with(":archive/myapp-events")
    );

    let again = stack.drain(USERS_QUEUE).await;
    let ids = |events: &[Value]| -> BTreeSet<String> {
        events
            .iter()
            .map(|e| e["resources"][0].to_string())
            .collect()
    };
    assert_eq!(ids(&again), ids(&first), "the same events, the same ids");
    assert!(again.iter().all(|e| e["replay-name"] == summary["replay"]));
}

/// `relay backfill --dry-run` prints the entries and changes nothing; `--consumer` keeps what
/// that consumer's rule matches, `--event` one event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_dry_run_shows_what_one_consumer_would_get() {
    let stack = Stack::start().await;
    for id in 1..=3 {
        stack.put(user(id)).await;
    }
    stack.put(order(9, "SHIPPED")).await;
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("cp.json");
    let entries = |extra: &[&str]| {
        let mut args = vec![
            "backfill",
            "--table",
            TABLE,
            "--dry-run",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ];
        args.extend(extra);
        let output = relay(&stack.moto, &args);
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let lines: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let (summary, entries) = lines.split_last().unwrap();
        assert_eq!(summary["dryRun"], true);
        entries.to_vec()
    };
    let all = entries(&[]);
    assert_eq!(
        all.len(),
        3,
        "a UserCreated per user, nothing for the order"
    );
    assert!(all.iter().all(|e| {
        e["DetailType"] == "UserCreated"
            && e["Resources"][1]
                .as_str()
                .unwrap()
                .starts_with("urn:outbox:backfill:")
    }));
    assert_eq!(entries(&["--consumer", "userCreatedConsumer"]).len(), 3);
    assert_eq!(entries(&["--consumer", "shippedOrders"]).len(), 0);
    assert_eq!(entries(&["--event", "OrderStatusChanged"]).len(), 0);
    assert!(!checkpoint.exists(), "a dry run keeps no checkpoint");
    assert!(
        stack.drain(USERS_QUEUE).await.is_empty(),
        "and publishes nothing"
    );
}

/// Moving to a Custom Event Bus: for a window both buses get every event (two relays, one per
/// stack, read the same stream, each from its own checkpoint), and `relay compare` reads what
/// each consumer's two queues received. `shippedOrders` is subscribed as its rule routes, so
/// both sides agree; `userCreatedConsumer`'s subscriber was given a wrong filter (only names
/// starting with "User 1"), and the comparison names every user it missed, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_compare_finds_the_consumer_misconfigured_on_the_custom_event_bus() {
    let stack = Stack::start().await;
    let local: outbox_ops::LocalStack = outbox_ops::LocalStack::parse(
        &std::fs::read_to_string(e2e::workspace().join("generated/relay/src/local_stack.json"))
            .unwrap(),
    )
    .unwrap();
    let mut subscribers = Vec::new();
    let mut queues = Vec::new();
    for name in ["shippedOrders", "userCreatedConsumer"] {
        let mut consumer = local
            .consumers
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .clone();
        if name == "userCreatedConsumer" {
            consumer.pattern["detail"] = serde_json::json!({ "name": [{ "prefix": "User 1" }] });
        }
        let queue = format!("{name}-v2");
        let url = stack
            .sqs
            .create_queue()
            .queue_name(&queue)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        consumer.queue = queue;
        queues.push((name.to_owned(), url));
        subscribers.push(consumer);
    }
    let bus = outbox_ops::bus::start(
        &outbox_ops::bus::local_bus_arn("myapp"),
        &subscribers,
        &queues,
        &stack.sqs,
        outbox_local_bus::Faults::default(),
    )
    .await
    .unwrap();
    let deliveries = tokio::spawn(futures_util::future::try_join_all(bus.deliveries));

    // 30 users (User 0 .. User 29: 11 of them start with "User 1"), 12 orders that ship.
    for id in 0..30 {
        stack.put(user(id)).await;
    }
    for id in 0..12 {
        stack.put(order(id, "PAID")).await;
        stack
            .set(&format!("ORDER#{id}"), "ORDER", "status", s("SHIPPED"))
            .await;
    }
    let checkpoints = tempfile::tempdir().unwrap();
    let classic = poll_until_idle(&stack.moto, &checkpoints.path().join("classic.json"));
    let mut custom = relay_command(
        &stack.moto,
        &[
            "poll",
            "--table",
            TABLE,
            "--until-idle",
            "--idle-ms",
            "1500",
            "--checkpoint",
            checkpoints.path().join("custom.json").to_str().unwrap(),
        ],
    );
    custom
        .env("AWS_ENDPOINT_URL_EVENTBRIDGEV2", bus.fake.endpoint())
        .env("EVENT_BUS_ARN", outbox_ops::bus::local_bus_arn("myapp"));
    let output = custom.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(classic["recordsToFailureDestination"], 0, "{classic}");

    let compare = |classic: &str, custom: &str| {
        let output = relay(
            &stack.moto,
            &[
                "compare",
                "--classic-queue",
                classic,
                "--custom-queue",
                custom,
                "--group",
                "$.detail.orderId",
                "--idle-ms",
                "1500",
            ],
        );
        let report: Value = serde_json::from_str(
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .last()
                .unwrap(),
        )
        .unwrap();
        (
            output.status.code(),
            report,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, report, stderr) = compare(SHIPPED_QUEUE, "shippedOrders-v2");
    assert_eq!(code, Some(0), "{report} {stderr}");
    assert_eq!(
        (report["classic"].as_u64(), report["custom"].as_u64()),
        (Some(12), Some(12))
    );

    let (code, report, stderr) = compare(USERS_QUEUE, "userCreatedConsumer-v2");
    assert_eq!(code, Some(1), "{report} {stderr}");
    assert_eq!(report["custom"], 11, "{report}");
    let missed = report["onlyClassic"].as_array().unwrap();
    assert_eq!(missed.len(), 19, "{report}");
    for id in missed {
        let id = id.as_str().unwrap();
        assert!(id.ends_with(":UserCreated"), "{id}");
    }
    assert_eq!(report["onlyCustom"].as_array().unwrap().len(), 0);
    assert_eq!(report["differing"].as_array().unwrap().len(), 0);
    assert!(stderr.contains("19 only on the Classic side"), "{stderr}");
    drop(bus.fake);
    deliveries.abort();
}

/// A Custom Event Bus subscriber whose target fails and then recovers: what it could not
/// deliver is recorded in its dead-letter queue (failure records, not events), and `relay
/// redrive --subscriber` delivers those events again from the bus's retention, to that target
/// alone, with their ids, each order's changes in order, once. While the target is still down
/// a redrive keeps every record (exit 1, nothing lost); after it recovers the next run
/// delivers and deletes them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_redrive_delivers_what_its_target_missed_once_and_in_group_order() {
    let stack = Stack::start().await;
    let ordered = |args: &[&str]| {
        let mut command = Command::new(e2e::ordered_relay_binary());
        command
            .args(args)
            .args(["--endpoint", &stack.moto.endpoint])
            .env("RUST_LOG", "warn")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("EVENT_BUS_NAME");
        command
    };
    let output = ordered(&["dev", "--provision-only"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let local = outbox_ops::LocalStack::parse(include_str!(
        "../../examples/ordered/generated/relay/src/local_stack.json"
    ))
    .unwrap();
    // The shippedOrders subscriber, here for every status change (three per order).
    let mut consumer = local
        .consumers
        .iter()
        .find(|c| c.name == "shippedOrders")
        .unwrap()
        .clone();
    consumer.pattern =
        serde_json::json!({ "source": ["myapp.orders"], "detail-type": ["OrderStatusChanged"] });
    let queue_url = format!("{}/123456789012/{}", stack.moto.endpoint, consumer.queue);
    let dead_letters = format!(
        "{}/123456789012/{}",
        stack.moto.endpoint,
        consumer.dead_letter_queue.clone().unwrap()
    );
    let arn = outbox_ops::bus::local_bus_arn("myapp-ordered-events");
    let bus = outbox_ops::bus::start(
        &arn,
        std::slice::from_ref(&consumer),
        &[("shippedOrders".into(), queue_url.clone())],
        &stack.sqs,
        outbox_local_bus::Faults::default(),
    )
    .await
    .unwrap();
    let deliveries = tokio::spawn(futures_util::future::try_join_all(bus.deliveries));
    let with_bus = |mut command: Command| {
        command
            .env("AWS_ENDPOINT_URL_EVENTBRIDGEV2", bus.fake.endpoint())
            .env("EVENT_BUS_ARN", &arn);
        command
    };
    let waiting = |url: String| {
        let sqs = stack.sqs.clone();
        async move {
            let output = sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send()
                .await
                .unwrap();
            let count = |name| {
                output
                    .attributes()
                    .and_then(|a| a.get(&name))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or_default()
            };
            count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                + count(
                    aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                )
        }
    };
    let until = |url: String, count: usize| async move {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while waiting(url.clone()).await != count {
            assert!(
                std::time::Instant::now() < deadline,
                "{url}: never {count} messages"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };

    let checkpoint = tempfile::tempdir().unwrap();
    let cp = checkpoint.path().join("cp.json");
    let poll = || {
        let output = with_bus(ordered(&[
            "poll",
            "--table",
            TABLE,
            "--until-idle",
            "--idle-ms",
            "1500",
            "--checkpoint",
            cp.to_str().unwrap(),
        ]))
        .output()
        .unwrap();
        assert!(output.status.success(), "{output:?}");
    };
    // Two orders are paid while the target works: delivered, not to be delivered again.
    for id in [100, 101] {
        stack.put(order(id, "PENDING")).await;
        stack
            .set(&format!("ORDER#{id}"), "ORDER", "status", s("PAID"))
            .await;
    }
    poll();
    until(queue_url.clone(), 2).await;
    let before: BTreeSet<String> = stack
        .drain(&consumer.queue)
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(before.len(), 2);

    // The target goes away; 8 orders each move PENDING -> PAID -> SHIPPED -> DELIVERED.
    stack
        .sqs
        .delete_queue()
        .queue_url(&queue_url)
        .send()
        .await
        .unwrap();
    let statuses = ["PAID", "SHIPPED", "DELIVERED"];
    for id in 0..8 {
        stack.put(order(id, "PENDING")).await;
    }
    for status in statuses {
        for id in 0..8 {
            stack
                .set(&format!("ORDER#{id}"), "ORDER", "status", s(status))
                .await;
        }
    }
    poll();
    until(dead_letters.clone(), 24).await;

    let redrive = |dry_run: bool| {
        let mut args = vec![
            "redrive",
            "--subscriber",
            "shippedOrders",
            "--wait-seconds",
            "60",
        ];
        if dry_run {
            args.push("--dry-run");
        }
        let output = with_bus(ordered(&args)).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        (output, stdout, summary)
    };
    // A dry run lists the 24 events and changes nothing.
    let (output, stdout, summary) = redrive(true);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(summary["records"], 24, "{summary}");
    let failed: BTreeSet<String> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| e["eventId"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(failed.len(), 24);
    until(dead_letters.clone(), 24).await;

    // The target is still down: every record stays, with the redrive's own records beside them.
    let (output, _, summary) = redrive(false);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        (summary["delivered"].as_u64(), summary["kept"].as_u64()),
        (Some(0), Some(24)),
        "{summary}"
    );
    until(dead_letters.clone(), 48).await;

    // It recovers; the next run delivers every event and deletes every record.
    stack
        .sqs
        .create_queue()
        .queue_name(&consumer.queue)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap();
    let (output, _, summary) = redrive(false);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(summary["events"], 24, "{summary}");
    assert_eq!(summary["delivered"], 24, "{summary}");
    assert_eq!(summary["deleted"], 48, "{summary}");
    until(dead_letters.clone(), 0).await;

    let received = stack.drain(&consumer.queue).await;
    assert_eq!(received.len(), 24, "each event once");
    let mut per_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for event in &received {
        assert!(
            ids.insert(event["id"].as_str().unwrap().to_owned()),
            "twice: {event}"
        );
        per_order
            .entry(event["detail"]["orderId"].as_str().unwrap().to_owned())
            .or_default()
            .push(event["detail"]["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids, failed, "the bus's own ids, as the records named them");
    assert!(
        ids.is_disjoint(&before),
        "what was delivered before is not again"
    );
    for (order, seen) in &per_order {
        assert_eq!(seen, &statuses, "order {order}: in order");
    }
    drop(bus.fake);
    deliveries.abort();
}

/// `relay backfill` of 1,000 users with its default settings into moto's EventBridge, which
/// delivers to the consumer's SQS queue inside PutEvents (a few dozen events a second: a slow
/// bus), SIGKILLed once mid-run and resumed: every user reaches the queue, repeated only where
/// the kill cut a page short, and the resumed run exits 0. A fixed window of 8 requests per
/// segment outlived the 5 s attempt timeout here and sent requests again while moto was still
/// delivering them (a third to a half of the users delivered, 1,500+ duplicates, exit 1); the
/// adaptive window shrinks as the answers slow down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_into_a_slow_bus_with_default_settings_delivers_every_item() {
    let stack = Stack::start().await;
    let users = 1_000u64;
    let items: Vec<Item> = (0..users).map(user).collect();
    stack.put_all(&items).await;
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("backfill.json");
    let backfill = || {
        let mut command = relay_command(
            &stack.moto,
            &[
                "backfill",
                "--table",
                TABLE,
                "--checkpoint",
                checkpoint.to_str().unwrap(),
            ],
        );
        command
            .env_remove("OUTBOX_ATTEMPT_TIMEOUT_MS")
            .env_remove("OUTBOX_MAX_IN_FLIGHT");
        command
    };
    let started = std::time::Instant::now();
    let mut first = backfill()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once a page is done and before the last one is.
    let deadline = started + Duration::from_secs(120);
    loop {
        let done_pages = std::fs::read_to_string(&checkpoint)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .is_some_and(|saved| {
                saved["segments"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| !s["after"].is_null() || s["done"] == true))
            });
        if done_pages || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap();
    let unfinished = saved["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["done"] == false)
        .count();
    assert!(unfinished > 0, "killed mid-run: {saved}");
    let resumed = backfill().output().unwrap();
    assert!(
        resumed.status.success(),
        "the resumed backfill: {resumed:?}"
    );
    let elapsed = started.elapsed();

    let delivered = stack.drain(USERS_QUEUE).await;
    let mut per_user: BTreeMap<String, usize> = BTreeMap::new();
    for event in &delivered {
        assert_eq!(event["detail-type"], "UserCreated", "{event}");
        *per_user
            .entry(event["detail"]["userId"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let expected: BTreeSet<String> = (0..users).map(|id| id.to_string()).collect();
    let got: BTreeSet<String> = per_user.keys().cloned().collect();
    assert_eq!(got, expected, "every user, none lost");
    let repeats: usize = per_user.values().map(|n| n - 1).sum();
    // At most the pages the kill cut short: one page of 100 per unfinished segment.
    assert!(
        repeats <= unfinished * 100,
        "{repeats} repeats for {unfinished} pages cut short"
    );
    eprintln!(
        "backfill into moto: {users} users delivered to the queue in {:.1} s, killed once and \
         resumed (exit 0), {repeats} repeated ({unfinished} segments cut short)",
        elapsed.as_secs_f64()
    );
}
