//! `relay-bench EVENT_FILE --mode map|seq|conc --warmup W --iterations K`: runs the example
//! relay on one DynamoDB Streams event, repeatedly, and prints one JSON line of measurements.
//!
//! - `map`: the mapping only, from the event's raw JSON text to the PutEvents request bodies
//!   (decode, select, map, serialize, schema check, pack into requests, serialize them); no
//!   network.
//! - `seq` / `conc` / `window`: the whole handler, PutEvents requests one at a time / 8 in
//!   flight / through the relay's default adaptive window (learned over the warm-up and the
//!   invocations, as a warm Lambda container learns it), to the endpoint in
//!   `EVENTBRIDGE_ENDPOINT` (else the standard SDK configuration).
//!
//! The file is read once. CPU time per invocation comes from `getrusage`; with `BENCH_T0_MS`
//! (epoch milliseconds, set by whoever spawned this process) it reports the time from spawn to
//! the end of the first invocation.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use outbox_runtime::handler::{self, Options};
use outbox_runtime::pack;
use outbox_runtime::publish::limiter::DEFAULT_MAX_IN_FLIGHT;
use outbox_runtime::publish::{self, EventBridgePublisher, Limiter, Publisher, SdkPublisher};
use relay::mapping::{DEFAULTS, Mapping};
use serde_json::json;

/// The attempt timeout of every request.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Raw event JSON -> PutEvents request bodies, no network.
    Map,
    /// The handler, one PutEvents request at a time.
    Seq,
    /// The handler, 8 PutEvents requests in flight.
    Conc,
    /// The handler with its default, adaptive window (what the relay runs with).
    Window,
}

/// Benchmark the example relay on one DynamoDB Streams event.
#[derive(Debug, Parser)]
#[command(name = "relay-bench", version, about)]
struct Cli {
    /// A DynamoDB Streams Lambda event (JSON).
    event_file: PathBuf,
    /// What to run.
    #[arg(long, value_enum)]
    mode: Mode,
    /// Untimed invocations first.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Timed invocations.
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    /// Publish through the AWS SDK's EventBridge client instead of the relay's own PutEvents
    /// client (the comparison in the README).
    #[arg(long)]
    sdk_client: bool,
    /// Publish to a Custom Event Bus (the new kind: CBOR, up to 100 entries per request, a
    /// group and deduplication id per entry) instead of a Classic one.
    #[arg(long)]
    custom_bus: bool,
}

/// The bus `--custom-bus` publishes to (the fake takes any well-formed ARN).
const CUSTOM_BUS: &str =
    "arn:aws:events:eu-west-1:123456789012:event-busv2/myapp-events/benchbus00000000000000000";

/// The relay's PutEvents client, or the SDK's.
enum Client {
    Relay(EventBridgePublisher),
    Sdk(SdkPublisher),
}

impl Publisher for Client {
    async fn put_events(
        &self,
        entries: &[&outbox_runtime::entry::Entry],
    ) -> Result<Vec<publish::EntryOutcome>, publish::RequestError> {
        match self {
            Client::Relay(client) => client.put_events(entries).await,
            Client::Sdk(client) => client.put_events(entries).await,
        }
    }
}

/// This process's resource usage so far.
fn rusage() -> libc::rusage {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given.
    unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    }
}

/// CPU time (user + system) this process has used so far.
fn cpu_time() -> Duration {
    let usage = rusage();
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The mapping only: every PutEvents request body the handler would send, in order (CBOR for
/// a Custom Event Bus). Returns the numbers of entries and requests.
fn map_to_requests(event: &str, options: &Options) -> Result<(usize, usize), handler::BatchError> {
    let prepared = handler::prepare(&Mapping, event, options, None)?;
    let entries = &prepared.entries;
    let mut body = Vec::with_capacity(64 * 1024);
    let mut request_entries = Vec::with_capacity(options.limits.max_entries);
    let mut requests = 0;
    for request in pack::requests(entries, options.limits) {
        body.clear();
        request_entries.clear();
        request_entries.extend(request.iter().map(|&i| &entries[i]));
        if options.system_metadata {
            publish::cbor::request_body(&options.bus, &request_entries, &mut body);
        } else {
            publish::request_body(&request_entries, &mut body);
        }
        black_box(&body);
        requests += 1;
    }
    Ok((entries.len(), requests))
}

async fn bench(cli: Cli, started: Instant) -> Result<serde_json::Value, String> {
    // The body as Lambda delivers it: bytes, checked to be UTF-8 in every timed invocation,
    // as the relay does under Lambda.
    let body = std::fs::read(&cli.event_file)
        .map_err(|e| format!("cannot read {}: {e}", cli.event_file.display()))?;
    let text = |body| std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"));
    let records = outbox_runtime::record::RawBatch::parse(text(&body)?)
        .map_err(|e| format!("{}: {e}", cli.event_file.display()))?
        .records
        .len();
    let mut options =
        Options::new(std::env::var("EVENT_BUS_NAME").unwrap_or_else(|_| DEFAULTS.bus.to_owned()));
    options.dead_letter_source = format!("{}.outbox", DEFAULTS.service);
    if cli.custom_bus {
        options.bus = CUSTOM_BUS.to_owned();
        options.custom_bus();
    }
    options.window = match cli.mode {
        Mode::Map | Mode::Seq => Arc::new(Limiter::fixed(1)),
        Mode::Conc => Arc::new(Limiter::fixed(8)),
        Mode::Window => Arc::new(Limiter::new(DEFAULT_MAX_IN_FLIGHT, None, ATTEMPT_TIMEOUT)),
    };
    // Requests per batch, from packing it (no network).
    let (_, requests) = map_to_requests(text(&body)?, &options).map_err(|e| e.to_string())?;
    let publisher = match cli.mode {
        Mode::Map => None,
        Mode::Seq | Mode::Conc | Mode::Window => {
            let endpoint = std::env::var("EVENTBRIDGE_ENDPOINT").ok();
            let config = publish::load_config(endpoint.as_deref()).await;
            let attempt_timeout = ATTEMPT_TIMEOUT;
            Some(if cli.sdk_client {
                Client::Sdk(SdkPublisher::from_sdk_config(&config, attempt_timeout))
            } else {
                Client::Relay(EventBridgePublisher::from_sdk_config(&config, attempt_timeout).await)
            })
        }
    };
    let init = started.elapsed();

    let mut wall = Vec::with_capacity(cli.iterations);
    let mut cpu = Vec::with_capacity(cli.iterations);
    let (mut first_ms, mut spawn_to_first_ms, mut forwarded) = (None, None, 0);
    for i in 0..cli.warmup + cli.iterations {
        let (cpu_before, t) = (cpu_time(), Instant::now());
        let event = text(&body)?;
        forwarded = match &publisher {
            None => {
                map_to_requests(event, &options)
                    .map_err(|e| e.to_string())?
                    .0
            }
            Some(publisher) => {
                let outcome = handler::handle(&Mapping, publisher, event, &options, None, None)
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(failure) = outcome.failure {
                    return Err(format!("the batch failed: {failure}"));
                }
                outcome.stats.published
            }
        };
        let elapsed = t.elapsed();
        let used = cpu_time().saturating_sub(cpu_before);
        if i == 0 {
            first_ms = Some(ms(elapsed));
            spawn_to_first_ms = std::env::var("BENCH_T0_MS")
                .ok()
                .and_then(|t0| t0.parse::<f64>().ok())
                .map(|t0| epoch_ms() - t0);
        }
        if i >= cli.warmup {
            wall.push(ms(elapsed));
            cpu.push(ms(used));
        }
    }
    let median_ms = median(&mut wall);
    Ok(json!({
        "impl": "rust",
        "mode": format!("{:?}", cli.mode).to_lowercase(),
        "client": if cli.sdk_client { "sdk" } else { "relay" },
        "bus": if cli.custom_bus { "custom" } else { "classic" },
        "requests_per_batch": requests,
        "records": records,
        "forwarded_per_invocation": forwarded,
        "init_ms": ms(init),
        "first_ms": first_ms,
        "median_ms": median_ms,
        "records_per_s": records as f64 / (median_ms / 1000.0),
        "cpu_median_ms": median(&mut cpu),
        "spawn_to_first_ms": spawn_to_first_ms,
        "max_rss_kib": peak_rss_kib(),
        "iterations": cli.iterations,
    }))
}

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    // The runtime the relay runs on (`outbox_runtime::run`).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench(cli, started)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The process's peak resident set (`VmHWM`, KiB). Not `getrusage`'s `ru_maxrss`: Linux keeps
/// that across `execve`, so it reports the parent that forked this process (the benchmark's
/// Python) when that one was larger.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
