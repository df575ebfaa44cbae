//! A local EventBridge: `relay dev` runs it in process as the Custom Event Bus (moto has none),
//! tests and benchmarks run it with faults. It speaks the real PutEvents wire protocols on
//! 127.0.0.1 (Classic's awsJson1_1, `X-Amz-Target: AWSEvents.PutEvents`, and the new Custom
//! Event Bus's Smithy RPC v2 CBOR, [`v2`]), records what it accepted, and injects faults on
//! request: throttled or rejected entries, 5xx responses, slow answers, dropped connections,
//! oversize requests. Point the AWS SDK at [`LocalEventBridge::endpoint`].

mod subscribers;
pub mod v2;

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

/// Which faults to inject, each as a probability from 0 to 1.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Entries answered with `ThrottlingException` (retryable).
    pub throttle_entries: f64,
    /// The account's quota, in entries per second, as a token bucket holding a tenth of a
    /// second's worth: entries beyond it are answered `ThrottlingException`, as EventBridge
    /// throttles a PutEvents caller over its quota. `None`: no quota.
    pub quota: Option<f64>,
    /// Requests answered with HTTP 400 `ThrottlingException` ("Rate exceeded"), whole.
    pub throttle_requests: f64,
    /// Requests answered with HTTP 500 `InternalException`.
    pub fail_requests: f64,
    /// Requests whose connection is closed without an answer.
    pub drop_connections: f64,
    /// Requests answered only after `slow_delay`.
    pub slow_requests: f64,
    /// How long a slow request takes.
    pub slow_delay: Duration,
    /// Requests are served one after another, each taking its delay, as a server that does the
    /// work inside the request does (moto delivers to the rule's targets inside PutEvents): the
    /// latency grows with the requests in flight.
    pub one_at_a_time: bool,
    /// Up to this much more, drawn uniformly per slow request (latency that varies, as a real
    /// service's does).
    pub slow_jitter: Duration,
    /// Entries whose `Detail` contains this text are rejected with `InvalidArgument` (not
    /// retryable), every time.
    pub reject_detail_containing: Option<String>,
    /// Requests over this many bytes (counted as EventBridge counts entries) get HTTP 400
    /// `ValidationException`. 0: no limit.
    pub max_request_bytes: usize,
    /// Seed of the fault dice, for repeatable runs.
    pub seed: u64,
    /// Count accepted entries without keeping them, so a long benchmark run does not grow
    /// the log (and slow down) as it goes.
    pub count_only: bool,
    /// Check every request's SigV4 signature as EventBridge does, against these credentials
    /// (access key id, secret): a request they did not sign, or signed over anything but what
    /// arrived, gets HTTP 403 `InvalidSignatureException`. `None`: no check.
    pub signed_by: Option<(String, String)>,
    /// How long the new bus answers `DEDUPLICATED` to a `DeduplicationId` it published (300 s
    /// at AWS).
    pub dedup_window: Duration,
    /// Append a JSON line for every entry the Classic bus accepts to this file: `ms`, when its
    /// request is answered (milliseconds since the epoch), and its `detail`. What a consumer
    /// would receive and when: the write-to-consumer latency benchmark reads it.
    pub arrivals: Option<std::path::PathBuf>,
}

impl Default for Faults {
    /// No faults; AWS's deduplication window.
    fn default() -> Self {
        Faults {
            throttle_entries: 0.0,
            quota: None,
            throttle_requests: 0.0,
            fail_requests: 0.0,
            drop_connections: 0.0,
            slow_requests: 0.0,
            slow_delay: Duration::ZERO,
            slow_jitter: Duration::ZERO,
            one_at_a_time: false,
            reject_detail_containing: None,
            max_request_bytes: 0,
            seed: 0,
            count_only: false,
            signed_by: None,
            dedup_window: Duration::from_secs(300),
            arrivals: None,
        }
    }
}

/// An entry the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Accepted {
    /// `Source`.
    pub source: String,
    /// `DetailType`.
    pub detail_type: String,
    /// `Detail`.
    pub detail: String,
    /// `EventBusName`.
    #[serde(default)]
    pub event_bus_name: Option<String>,
    /// `Resources`.
    #[serde(default)]
    pub resources: Vec<String>,
    /// `Time`, epoch seconds.
    #[serde(default)]
    pub time: Option<serde_json::Number>,
    /// `TraceHeader`.
    #[serde(default)]
    pub trace_header: Option<String>,
    /// `SystemMetadata.EventGroupId` (the new bus).
    #[serde(skip)]
    pub event_group_id: Option<String>,
    /// `SystemMetadata.DeduplicationId` (the new bus).
    #[serde(skip)]
    pub deduplication_id: Option<String>,
}

#[derive(Deserialize)]
struct PutEvents {
    #[serde(rename = "Entries")]
    entries: Vec<Accepted>,
}

/// What the fake has seen.
#[derive(Debug, Default, Clone)]
pub struct Log {
    /// Accepted entries, in the order they were accepted (none kept with
    /// [`Faults::count_only`]).
    pub accepted: Vec<Accepted>,
    /// Entries accepted, kept or not.
    pub accepted_count: usize,
    /// PutEvents requests received (answered or not).
    pub requests: usize,
    /// Entries in the largest request.
    pub largest_request_entries: usize,
    /// Bytes (as EventBridge counts them) of the largest request.
    pub largest_request_bytes: usize,
    /// Why each request refused for its signature was refused ([`Faults::signed_by`]).
    pub bad_signatures: Vec<String>,
    /// Entries answered with `ThrottlingException` ([`Faults::throttle_entries`]; on the new
    /// bus, the entries of throttled requests).
    pub throttled_entries: usize,
    /// Entries the new bus answered `DEDUPLICATED` (published before, within the window).
    pub deduplicated: usize,
}

struct State {
    faults: Faults,
    rng: fastrand::Rng,
    log: Log,
    next_id: u64,
    dedup: v2::Dedup,
    subscriptions: Vec<v2::Subscription>,
    /// What the new bus keeps of what it published (its retention).
    retained: Vec<v2::Retained>,
    /// Subscribers created through the API (`CreateSubscriber`).
    created: Vec<subscribers::Created>,
    /// What is left of the quota ([`Faults::quota`]), and when it was last refilled.
    quota: (f64, std::time::Instant),
    /// Held while a request is served, with [`Faults::one_at_a_time`].
    serving: Arc<tokio::sync::Mutex<()>>,
    /// Where [`Faults::arrivals`] go.
    arrivals: Option<std::io::BufWriter<std::fs::File>>,
}

impl State {
    /// Takes one entry from the quota: false when it is spent (the entry is throttled).
    fn within_quota(&mut self) -> bool {
        let Some(rate) = self.faults.quota else {
            return true;
        };
        let now = std::time::Instant::now();
        let (tokens, at) = self.quota;
        let tokens = (tokens + now.duration_since(at).as_secs_f64() * rate).min(rate / 10.0);
        let within = tokens >= 1.0;
        self.quota = (if within { tokens - 1.0 } else { tokens }, now);
        within
    }
}

/// A running fake; stops when dropped.
pub struct LocalEventBridge {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl LocalEventBridge {
    /// Starts a fake on a free port of 127.0.0.1.
    pub async fn start(faults: Faults) -> std::io::Result<Self> {
        Self::start_on(0, faults).await
    }

    /// Starts a fake on `port` of 127.0.0.1 (0: any free port).
    pub async fn start_on(port: u16, faults: Faults) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let arrivals = match &faults.arrivals {
            Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
            None => None,
        };
        let state = Arc::new(Mutex::new(State {
            arrivals,
            rng: fastrand::Rng::with_seed(faults.seed),
            faults,
            log: Log::default(),
            next_id: 0,
            dedup: v2::Dedup::default(),
            subscriptions: Vec::new(),
            retained: Vec::new(),
            created: Vec::new(),
            // Full: the first take caps it at the burst.
            quota: (f64::INFINITY, std::time::Instant::now()),
            serving: Arc::default(),
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| handle(state.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(LocalEventBridge { addr, state, task })
    }

    /// The endpoint URL (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it has seen so far.
    pub fn log(&self) -> Log {
        self.state.lock().expect("state lock").log.clone()
    }

    /// Adds a subscriber to the new bus: what it publishes from now on and the filter
    /// matches goes to `subscription.deliver`.
    pub fn subscribe(&self, subscription: v2::Subscription) {
        self.state
            .lock()
            .expect("state lock")
            .subscriptions
            .push(subscription);
    }

    /// Changes the faults from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.state.lock().expect("state lock").faults = faults;
    }
}

impl Drop for LocalEventBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An entry's size as EventBridge counts it.
fn entry_size(entry: &Accepted) -> usize {
    let time = if entry.time.is_some() { 14 } else { 0 };
    time + entry.source.len()
        + entry.detail_type.len()
        + entry.detail.len()
        + entry.resources.iter().map(String::len).sum::<usize>()
}

enum Plan {
    Drop,
    Respond(Option<Duration>, StatusCode, Vec<u8>),
}

async fn handle(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = request.into_parts();
    let target = header(&parts, "x-amz-target")
        .unwrap_or_default()
        .to_owned();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return Err(std::io::Error::other(e)),
    };
    let signer = state.lock().expect("state lock").faults.signed_by.clone();
    let refused =
        signer.and_then(|(key, secret)| check_signature(&parts, &body, &key, &secret).err());
    let v2 = parts.uri.path().starts_with(v2::OPERATIONS);
    let operation = parts
        .uri
        .path()
        .strip_prefix(v2::OPERATIONS)
        .unwrap_or_default();
    let plan = match refused {
        Some(reason) => {
            let body = error_body("InvalidSignatureException", &reason);
            state
                .lock()
                .expect("state lock")
                .log
                .bad_signatures
                .push(reason);
            Plan::Respond(None, StatusCode::FORBIDDEN, body)
        }
        None if v2 && operation != "PutEvents" => {
            subscribers::decide(&state, operation, header(&parts, "smithy-protocol"), &body)
        }
        None if v2 => v2::decide(
            &mut state.lock().expect("state lock"),
            header(&parts, "content-type"),
            header(&parts, "smithy-protocol"),
            &body,
        ),
        None => decide(&state, &target, &body),
    };
    match plan {
        Plan::Drop => Err(std::io::Error::other("injected: connection dropped")),
        Plan::Respond(delay, status, body) => {
            if let Some(delay) = delay {
                let serving = {
                    let state = state.lock().expect("state lock");
                    state.faults.one_at_a_time.then(|| state.serving.clone())
                };
                match serving {
                    Some(serving) => {
                        let _turn = serving.lock().await;
                        tokio::time::sleep(delay).await;
                    }
                    None => tokio::time::sleep(delay).await,
                }
            }
            let content_type = if v2 {
                "application/cbor"
            } else {
                "application/x-amz-json-1.1"
            };
            let response = Response::builder()
                .status(status)
                .header("content-type", content_type)
                .header("smithy-protocol", "rpc-v2-cbor")
                .header("x-amzn-requestid", "fake-request")
                .body(Full::new(Bytes::from(body)))
                .expect("a valid response");
            Ok(response)
        }
    }
}

fn header<'a>(parts: &'a hyper::http::request::Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// How far a request's `X-Amz-Date` may be from the fake's clock, as at AWS.
const CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// Checks a request's SigV4 signature the way EventBridge does: the credential scope names the
/// access key, the day of `X-Amz-Date` and the service `events`; the date is within 15 minutes
/// of now; and signing the headers the request lists as signed, as they arrived, with the body
/// as it arrived, gives the same signature. `aws-sigv4` computes the expected signature.
fn check_signature(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    access_key: &str,
    secret: &str,
) -> Result<(), String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    let authorization = header(parts, "authorization").ok_or("no Authorization header")?;
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("the Authorization header is not AWS4-HMAC-SHA256")?;
    let field = |name: &str| {
        fields
            .split(", ")
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
            .ok_or(format!("the Authorization header has no {name}"))
    };
    let (credential, signed_headers, signature) = (
        field("Credential")?,
        field("SignedHeaders")?,
        field("Signature")?,
    );
    let scope: Vec<&str> = credential.split('/').collect();
    let [key, day, region, service, "aws4_request"] = scope[..] else {
        return Err(format!("malformed credential scope `{credential}`"));
    };
    if key != access_key {
        return Err(format!("unknown access key `{key}`"));
    }
    if service != "events" {
        return Err(format!("signed for the service `{service}`, not `events`"));
    }
    let date = header(parts, "x-amz-date").ok_or("no X-Amz-Date header")?;
    if !date.starts_with(day) || date.len() != 16 {
        return Err(format!(
            "X-Amz-Date `{date}` does not match the scope's day `{day}`"
        ));
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &date[0..4],
        &date[4..6],
        &date[6..8],
        &date[9..11],
        &date[11..13],
        &date[13..15]
    );
    let time = aws_smithy_types::DateTime::from_str(
        &rfc3339,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .ok()
    .and_then(|t| std::time::SystemTime::try_from(t).ok())
    .ok_or(format!("X-Amz-Date `{date}` is not a time"))?;
    let now = std::time::SystemTime::now();
    let skew = now.duration_since(time).unwrap_or_else(|e| e.duration());
    if skew > CLOCK_SKEW {
        return Err(format!("X-Amz-Date `{date}` is {skew:?} away from now"));
    }
    let headers = signed_headers
        .split(';')
        .map(|name| {
            header(parts, name)
                .map(|value| (name, value))
                .ok_or(format!("the signed header `{name}` is missing"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let host = header(parts, "host").ok_or("no Host header")?;
    let uri = format!("http://{host}{}", parts.uri.path());
    let token = header(parts, "x-amz-security-token").map(str::to_owned);
    let identity =
        aws_credential_types::Credentials::new(access_key, secret, token, None, "fake").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        parts.method.as_str(),
        &uri,
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (_, expected) = aws_sigv4::http_request::sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    if expected != signature {
        return Err("the signature does not match the request".to_owned());
    }
    Ok(())
}

fn error_body(kind: &str, message: &str) -> Vec<u8> {
    serde_json::json!({ "__type": kind, "message": message })
        .to_string()
        .into_bytes()
}

fn decide(state: &Mutex<State>, target: &str, body: &[u8]) -> Plan {
    let mut state = state.lock().expect("state lock");
    let state = &mut *state;
    if target != "AWSEvents.PutEvents" {
        return Plan::Respond(
            None,
            StatusCode::BAD_REQUEST,
            error_body("UnknownOperationException", target),
        );
    }
    state.log.requests += 1;
    let Ok(request) = serde_json::from_slice::<PutEvents>(body) else {
        return Plan::Respond(
            None,
            StatusCode::BAD_REQUEST,
            error_body("SerializationException", "bad request body"),
        );
    };
    let faults = &state.faults;
    if state.rng.f64() < faults.drop_connections {
        return Plan::Drop;
    }
    let delay = (state.rng.f64() < faults.slow_requests)
        .then(|| faults.slow_delay + faults.slow_jitter.mul_f64(state.rng.f64()));
    if state.rng.f64() < faults.fail_requests {
        return Plan::Respond(
            delay,
            StatusCode::INTERNAL_SERVER_ERROR,
            error_body("InternalException", "injected failure"),
        );
    }
    if faults.throttle_requests > 0.0 && state.rng.f64() < faults.throttle_requests {
        state.log.throttled_entries += request.entries.len();
        return Plan::Respond(
            delay,
            StatusCode::BAD_REQUEST,
            error_body("ThrottlingException", "Rate exceeded"),
        );
    }
    let bytes: usize = request.entries.iter().map(entry_size).sum();
    if request.entries.is_empty() || request.entries.len() > 10 {
        return Plan::Respond(
            delay,
            StatusCode::BAD_REQUEST,
            error_body("ValidationException", "1 to 10 entries per request"),
        );
    }
    if faults.max_request_bytes > 0 && bytes > faults.max_request_bytes {
        return Plan::Respond(
            delay,
            StatusCode::BAD_REQUEST,
            error_body(
                "ValidationException",
                "Total size of the entries in the request is over the limit.",
            ),
        );
    }
    state.log.largest_request_entries =
        state.log.largest_request_entries.max(request.entries.len());
    state.log.largest_request_bytes = state.log.largest_request_bytes.max(bytes);
    let mut failed = 0;
    let mut results = Vec::new();
    let throttle_entries = state.faults.throttle_entries;
    let answered = std::time::SystemTime::now() + delay.unwrap_or_default();
    let answered_ms = answered
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    for entry in request.entries {
        let rejected = state
            .faults
            .reject_detail_containing
            .as_ref()
            .is_some_and(|marker| entry.detail.contains(marker.as_str()));
        if rejected {
            failed += 1;
            results.push(serde_json::json!({"ErrorCode": "InvalidArgument", "ErrorMessage": "injected: rejected entry"}));
        } else if state.rng.f64() < throttle_entries || !state.within_quota() {
            state.log.throttled_entries += 1;
            failed += 1;
            results.push(serde_json::json!({"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}));
        } else {
            state.next_id += 1;
            results.push(serde_json::json!({"EventId": format!("fake-{:08}", state.next_id)}));
            state.log.accepted_count += 1;
            if let Some(arrivals) = state.arrivals.as_mut() {
                let line = serde_json::json!({ "ms": answered_ms, "detail": entry.detail });
                // A benchmark's record: a failed write shows as a missing arrival there.
                let _ = writeln!(arrivals, "{line}");
            }
            if !state.faults.count_only {
                state.log.accepted.push(entry);
            }
        }
    }
    if let Some(arrivals) = state.arrivals.as_mut() {
        let _ = arrivals.flush();
    }
    let body = serde_json::json!({ "FailedEntryCount": failed, "Entries": results })
        .to_string()
        .into_bytes();
    Plan::Respond(delay, StatusCode::OK, body)
}
