//! The new bus's subscriber operations, as far as a redrive needs them: `DescribeSubscriber`
//! (the stack's subscribers and those created here), `CreateSubscriber` for a subscriber that
//! replays a closed time range of what the bus keeps (`POINT_IN_TIME` with an `EndPoint`: the
//! events its filters match, through the delivery of the stack's subscriber with the same
//! target, each in turn; it stops when the last one is delivered or recorded as failed) and
//! `DeleteSubscriber`. Smithy RPC v2 CBOR, as the SDK speaks it.

use std::sync::{Arc, Mutex};

use ciborium::Value;
use hyper::StatusCode;

use crate::v2::{epoch_seconds, error, map, member, text};
use crate::{Plan, State};

/// A subscriber created through the API.
pub(crate) struct Created {
    arn: String,
    name: String,
    bus_arn: String,
    target_arn: String,
    role_arn: String,
    dead_letter_arn: Option<String>,
    filters: Vec<(String, String)>,
    ordered: bool,
    /// `RUNNING` until its last event is delivered or recorded as failed, then `STOPPED`.
    state: Arc<Mutex<&'static str>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Created {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a subscriber is, as `DescribeSubscriber` answers.
struct Described<'a> {
    arn: &'a str,
    name: &'a str,
    bus_arn: &'a str,
    target_arn: &'a str,
    role_arn: &'a str,
    dead_letter_arn: Option<&'a str>,
    filters: Vec<(String, String)>,
    ordered: bool,
    state: &'static str,
}

impl Described<'_> {
    fn cbor(&self) -> Vec<u8> {
        let filters = self
            .filters
            .iter()
            .map(|(scope, pattern)| {
                Value::Map(vec![
                    (Value::Text("Scope".into()), Value::Text(scope.clone())),
                    (Value::Text("Pattern".into()), Value::Text(pattern.clone())),
                ])
            })
            .collect();
        let mut members = vec![
            ("SubscriberArn", Value::Text(self.arn.to_owned())),
            ("Name", Value::Text(self.name.to_owned())),
            ("EventBusArn", Value::Text(self.bus_arn.to_owned())),
            (
                "InvokeConfiguration",
                Value::Map(vec![
                    (
                        Value::Text("TargetArn".into()),
                        Value::Text(self.target_arn.to_owned()),
                    ),
                    (
                        Value::Text("RoleArn".into()),
                        Value::Text(self.role_arn.to_owned()),
                    ),
                ]),
            ),
            (
                "FilterConfiguration",
                Value::Map(vec![(Value::Text("Filters".into()), Value::Array(filters))]),
            ),
            (
                "Type",
                Value::Text(if self.ordered { "FIFO" } else { "UNORDERED" }.into()),
            ),
            ("State", Value::Text(self.state.into())),
        ];
        if let Some(arn) = self.dead_letter_arn {
            members.push((
                "OnFailureConfiguration",
                Value::Map(vec![(
                    Value::Text("Arn".into()),
                    Value::Text(arn.to_owned()),
                )]),
            ));
        }
        map(members)
    }
}

/// The role the stack's subscribers deliver with, here.
const LOCAL_ROLE: &str = "arn:aws:iam::123456789012:role/outbox-local-delivery";

fn not_found(arn: &str) -> Plan {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        &format!("no subscriber {arn}"),
    )
}

fn invalid(message: &str) -> Plan {
    error(StatusCode::BAD_REQUEST, "InvalidInputException", message)
}

/// One subscriber operation.
pub(crate) fn decide(
    state: &Arc<Mutex<State>>,
    operation: &str,
    protocol: Option<&str>,
    body: &[u8],
) -> Plan {
    if protocol != Some("rpc-v2-cbor") {
        return error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "expected smithy-protocol: rpc-v2-cbor",
        );
    }
    let Ok(request) = ciborium::from_reader::<Value, _>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "the body is not CBOR",
        );
    };
    match operation {
        "DescribeSubscriber" => describe(&state.lock().expect("state lock"), &request),
        "DeleteSubscriber" => delete(&mut state.lock().expect("state lock"), &request),
        "CreateSubscriber" => create(state, &request),
        other => error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &format!("the local bus does not implement {other}"),
        ),
    }
}

fn describe(state: &State, request: &Value) -> Plan {
    let arn = text(request, "SubscriberArn").unwrap_or_default();
    if let Some(s) = state.subscriptions.iter().find(|s| s.arn == arn) {
        let described = Described {
            arn: &s.arn,
            name: &s.name,
            bus_arn: &s.bus_arn,
            target_arn: &s.target_arn,
            role_arn: LOCAL_ROLE,
            dead_letter_arn: s.dead_letter_arn.as_deref(),
            filters: vec![("DATA".into(), s.filter.to_string())],
            ordered: s.ordered,
            state: "RUNNING",
        };
        return Plan::Respond(None, StatusCode::OK, described.cbor());
    }
    if let Some(c) = state.created.iter().find(|c| c.arn == arn) {
        let described = Described {
            arn: &c.arn,
            name: &c.name,
            bus_arn: &c.bus_arn,
            target_arn: &c.target_arn,
            role_arn: &c.role_arn,
            dead_letter_arn: c.dead_letter_arn.as_deref(),
            filters: c.filters.clone(),
            ordered: c.ordered,
            state: *c.state.lock().expect("subscriber state"),
        };
        return Plan::Respond(None, StatusCode::OK, described.cbor());
    }
    not_found(&arn)
}

fn delete(state: &mut State, request: &Value) -> Plan {
    let arn = text(request, "SubscriberArn").unwrap_or_default();
    let before = (state.created.len(), state.subscriptions.len());
    state.created.retain(|c| c.arn != arn);
    state.subscriptions.retain(|s| s.arn != arn);
    if before == (state.created.len(), state.subscriptions.len()) {
        return not_found(&arn);
    }
    Plan::Respond(None, StatusCode::OK, map(Vec::new()))
}

fn create(shared: &Arc<Mutex<State>>, request: &Value) -> Plan {
    let mut state = shared.lock().expect("state lock");
    let (Some(name), Some(bus_arn)) = (text(request, "Name"), text(request, "EventBusArn")) else {
        return invalid("Name and EventBusArn are required");
    };
    let invoke = member(request, "InvokeConfiguration");
    let (Some(target_arn), Some(role_arn)) = (
        invoke.and_then(|i| text(i, "TargetArn")),
        invoke.and_then(|i| text(i, "RoleArn")),
    ) else {
        return invalid("InvokeConfiguration needs TargetArn and RoleArn");
    };
    let mut filters = Vec::new();
    let mut patterns = Vec::new();
    let listed = member(request, "FilterConfiguration")
        .and_then(|f| member(f, "Filters"))
        .and_then(Value::as_array);
    for filter in listed.into_iter().flatten() {
        let (Some(scope), Some(text_pattern)) = (text(filter, "Scope"), text(filter, "Pattern"))
        else {
            return invalid("a filter needs Scope and Pattern");
        };
        let parsed = serde_json::from_str(&text_pattern)
            .map_err(|e| e.to_string())
            .and_then(|v| outbox_pattern::Pattern::from_value(&v).map_err(|e| e.to_string()));
        match parsed {
            Ok(pattern) => patterns.push((scope.clone(), pattern)),
            Err(why) => return invalid(&format!("filter {scope}: {why}")),
        }
        filters.push((scope, text_pattern));
    }
    let point = member(request, "PointInTimeConfiguration");
    let seconds = |name: &str| {
        point
            .and_then(|p| member(p, name))
            .and_then(epoch_seconds)
            .and_then(|n| n.as_f64())
    };
    let horizon = point.and_then(|p| text(p, "PointType")).as_deref() == Some("HORIZON");
    let end = seconds("EndPoint");
    let from = if horizon {
        Some(f64::MIN)
    } else {
        seconds("StartingPoint")
    };
    let (Some("POINT_IN_TIME"), Some(from), Some(end)) =
        (text(request, "StartingPosition").as_deref(), from, end)
    else {
        return invalid(
            "the local bus creates only subscribers that replay a closed time range: StartingPosition POINT_IN_TIME with a StartingPoint (or HORIZON) and an EndPoint",
        );
    };
    let Some(deliver) = state
        .subscriptions
        .iter()
        .find(|s| s.target_arn == target_arn)
        .map(|s| s.deliver.clone())
    else {
        return invalid(&format!(
            "the local bus delivers only to its subscribers' targets, and none delivers to {target_arn}"
        ));
    };
    state.next_id += 1;
    let arn = format!(
        "arn:aws:events:us-east-1:123456789012:subscriber/{name}/{:025}",
        state.next_id
    );
    let chosen: Vec<crate::v2::Retained> = state
        .retained
        .iter()
        .filter(|r| (from..=end).contains(&(r.ingested_at as f64)))
        .filter(|r| {
            patterns
                .iter()
                .all(|(scope, pattern)| match scope.as_str() {
                    "DATA" => pattern.matches(&r.event),
                    "SYSTEM_METADATA" => pattern.matches(&r.system_metadata()),
                    _ => pattern.matches(&serde_json::json!({})),
                })
        })
        .cloned()
        .collect();
    let status = Arc::new(Mutex::new("RUNNING"));
    let (task_status, task_arn) = (status.clone(), arn.clone());
    let task = tokio::spawn(async move {
        for retained in chosen {
            let (done, outcome) = tokio::sync::oneshot::channel();
            if deliver
                .send(retained.delivery(&task_arn, Some(done)))
                .is_err()
            {
                break;
            }
            let _ = outcome.await;
        }
        *task_status.lock().expect("subscriber state") = "STOPPED";
    });
    state.created.push(Created {
        arn: arn.clone(),
        name: name.clone(),
        bus_arn: bus_arn.clone(),
        target_arn,
        role_arn,
        dead_letter_arn: member(request, "OnFailureConfiguration").and_then(|o| text(o, "Arn")),
        filters,
        ordered: text(request, "Type").as_deref() == Some("FIFO"),
        state: status,
        task,
    });
    let body = map(vec![
        ("SubscriberArn", Value::Text(arn)),
        ("Name", Value::Text(name)),
        ("EventBusArn", Value::Text(bus_arn)),
        ("State", Value::Text("RUNNING".into())),
        ("StartingPosition", Value::Text("POINT_IN_TIME".into())),
    ]);
    Plan::Respond(None, StatusCode::OK, body)
}
