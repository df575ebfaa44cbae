//! The relay binary's entry point, shared by every generated relay: the `lambda_runtime` loop
//! under Lambda, and the local command line (`--event-file`, `--dry-run`) elsewhere.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Parser;
use lambda_runtime::tower::layer::layer_fn;
use lambda_runtime::{LambdaEvent, LambdaInvocation, Runtime, Service, layers, service_fn};

use crate::handler::{self, Mapper, Options, Outcome, PoisonPolicy, Stats};
use crate::publish::EventBridgePublisher;

/// What the generator knows about the relay's deployment.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// The service name (metrics dimension).
    pub service: &'static str,
    /// The bus, when `EVENT_BUS_NAME` is not set.
    pub bus: &'static str,
    /// The stack `relay dev` stands up and `relay poll` reads (JSON, see `local::LocalStack`).
    pub local_stack: &'static str,
}

/// Handle DynamoDB Streams batches like the Lambda function does, locally.
#[derive(Debug, Parser)]
#[command(
    name = "relay",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    /// A DynamoDB Streams Lambda event (JSON); prints the response (`batchItemFailures`).
    #[arg(long, value_name = "FILE", required = true)]
    event_file: Option<PathBuf>,
    /// Send nothing; print the PutEvents entries, one JSON object per line, in send order.
    #[arg(long)]
    dry_run: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Read a table's stream as Lambda's event source mapping does and hand each batch to this
    /// relay (built with the `local` feature).
    Poll(PollArgs),
    /// Stand the stack up on a local endpoint (moto by default), poll every table and print
    /// the events each consumer receives (built with the `local` feature).
    Dev(DevArgs),
}

/// `relay poll`.
#[derive(Debug, clap::Args)]
pub(crate) struct PollArgs {
    /// The table whose stream is read.
    #[arg(long, value_name = "NAME")]
    pub table: String,
    /// Where the position in each shard is kept, so a restart resumes (default: in memory).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Stop once the stream has been idle for `--idle-ms` and every batch is handled.
    #[arg(long)]
    pub until_idle: bool,
    /// How long `--until-idle` waits for new records.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub idle_ms: u64,
    /// One endpoint for every AWS service (a local server); default: the SDK's standard
    /// settings (`AWS_ENDPOINT_URL`, ...).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The on-failure destination queue, by name or URL (default: the local stack's).
    #[arg(long, value_name = "QUEUE")]
    pub failure_queue: Option<String>,
    /// Records per invocation (default: outbox.yaml's `relay.batch-size`).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Retries before a batch goes to the on-failure destination (default: outbox.yaml's).
    #[arg(long, value_name = "N")]
    pub maximum_retry_attempts: Option<u32>,
    /// Oldest record (seconds) still retried (default: outbox.yaml's).
    #[arg(long, value_name = "SECONDS")]
    pub maximum_record_age: Option<u64>,
}

/// `relay dev`.
#[derive(Debug, clap::Args)]
pub(crate) struct DevArgs {
    /// The local endpoint for every AWS service.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:5000")]
    pub endpoint: String,
    /// Create the tables, bus, rules and queues, then exit.
    #[arg(long)]
    pub provision_only: bool,
    /// Where the pollers keep their checkpoints (one file per table).
    #[arg(long, value_name = "DIR", default_value = ".outbox-dev")]
    pub checkpoint_dir: PathBuf,
}

/// Runs [`relay_main`] on a new Tokio runtime: the whole `main` of a generated relay.
///
/// One thread: an invocation maps its batch, then waits on PutEvents requests, and a Lambda
/// function of the default size has a fraction of one vCPU. Worker threads only added wakeups
/// across threads (10-15% more CPU per record in `bench/run.py`'s end-to-end runs).
pub fn run<M: Mapper + 'static>(mapper: M, defaults: Defaults) -> std::process::ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(relay_main(mapper, defaults)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the relay: the Lambda loop when `AWS_LAMBDA_RUNTIME_API` is set, the command line
/// otherwise.
pub async fn relay_main<M: Mapper + 'static>(
    mapper: M,
    defaults: Defaults,
) -> std::process::ExitCode {
    let under_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    init_tracing(under_lambda);
    let options = options_from_env(defaults);
    if under_lambda {
        return match run_lambda(mapper, options, defaults).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "the Lambda runtime stopped");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let cli = Cli::parse();
    let event_file = match (cli.command, cli.event_file) {
        (Some(command), _) => return local_command(command, mapper, defaults, options).await,
        (None, Some(file)) => file,
        (None, None) => unreachable!("clap requires --event-file without a subcommand"),
    };
    let event = match std::fs::read_to_string(&event_file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", event_file.display());
            return std::process::ExitCode::from(2);
        }
    };
    let result = if cli.dry_run {
        dry_run(&mapper, &event, &options)
    } else {
        let publisher = EventBridgePublisher::from_env(attempt_timeout()).await;
        handler::handle(&mapper, &publisher, &event, &options, None, None)
            .await
            .map(|outcome| {
                if let Some(line) = metrics_line(defaults, &outcome.stats) {
                    eprintln!("{line}");
                }
                print_json(&outcome.response);
            })
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

#[cfg(feature = "local")]
async fn local_command<M: Mapper + 'static>(
    command: Command,
    mapper: M,
    defaults: Defaults,
    options: Options,
) -> std::process::ExitCode {
    let result = match command {
        Command::Poll(args) => crate::local::cli::poll(args, &mapper, defaults, options).await,
        Command::Dev(args) => crate::local::cli::dev(args, &mapper, defaults, options).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(not(feature = "local"))]
async fn local_command<M: Mapper + 'static>(
    command: Command,
    _: M,
    _: Defaults,
    _: Options,
) -> std::process::ExitCode {
    let name = match command {
        Command::Poll(_) => "poll",
        Command::Dev(_) => "dev",
    };
    eprintln!(
        "error: `relay {name}` needs the relay built with the `local` feature (the Lambda build \
         leaves it out): cargo run -p relay --features local -- {name} ..."
    );
    std::process::ExitCode::from(2)
}

fn dry_run(
    mapper: &impl Mapper,
    event: &str,
    options: &Options,
) -> Result<(), handler::BatchError> {
    let prepared = handler::prepare(mapper, event, options, None)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for entry in &prepared.entries {
        let _ = writeln!(out, "{}", serde_json::to_string(entry).unwrap_or_default());
    }
    if let Some((_, failure)) = &prepared.failure {
        eprintln!("dry run: {failure}; the batch would report it as its first failure");
    }
    Ok(())
}

async fn run_lambda<M: Mapper + 'static>(
    mapper: M,
    options: Options,
    defaults: Defaults,
) -> Result<(), lambda_runtime::Error> {
    let publisher = Arc::new(EventBridgePublisher::from_env(attempt_timeout()).await);
    let mapper = Arc::new(mapper);
    let options = Arc::new(options);
    let handler = service_fn(move |event: LambdaEvent<()>| {
        let (publisher, mapper, options) = (publisher.clone(), mapper.clone(), options.clone());
        async move {
            let body = BODY
                .try_with(Bytes::clone)
                .map_err(|_| lambda_runtime::Error::from("the invocation's body was not kept"))?;
            let text = std::str::from_utf8(&body).map_err(|e| {
                lambda_runtime::Error::from(format!("the event is not UTF-8 text: {e}"))
            })?;
            let deadline = deadline_instant(event.context.deadline);
            let trace = event.context.xray_trace_id.clone();
            let outcome: Outcome = handler::handle(
                mapper.as_ref(),
                publisher.as_ref(),
                text,
                &options,
                Some(deadline),
                trace.as_deref(),
            )
            .await
            .map_err(|e| lambda_runtime::Error::from(e.to_string()))?;
            if let Some(line) = metrics_line(defaults, &outcome.stats) {
                println!("{line}");
            }
            Ok::<_, lambda_runtime::Error>(outcome.response)
        }
    });
    // What `lambda_runtime::run` builds, with the body taken before it is deserialized.
    Runtime::new(handler)
        .layer(layers::TracingLayer::new())
        .layer(layer_fn(TakeBody))
        .run()
        .await
}

tokio::task_local! {
    /// The body of the invocation being handled, as Lambda sent it ([`TakeBody`]).
    static BODY: Bytes;
}

/// Takes each invocation's body before `lambda_runtime` deserializes it (the handler's
/// payload is `()`, read from a `null` put in its place) and keeps it in [`BODY`] while the
/// invocation runs. The handler decodes the batch from the text in one pass; deserializing
/// the payload into a `Box<RawValue>`, as `lambda_runtime` would, scans and copies the whole
/// event once more first (up to 6 MB per invocation).
struct TakeBody<S>(S);

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for TakeBody<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = tokio::task::futures::TaskLocalFuture<Bytes, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        let body = std::mem::replace(&mut invocation.body, Bytes::from_static(b"null"));
        BODY.scope(body, self.0.call(invocation))
    }
}

/// Converts the invocation deadline (epoch milliseconds) to an `Instant`.
fn deadline_instant(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// The attempt timeout of PutEvents calls (`OUTBOX_ATTEMPT_TIMEOUT_MS`, default 5 s).
pub(crate) fn attempt_timeout() -> Duration {
    env_number("OUTBOX_ATTEMPT_TIMEOUT_MS").map_or(Duration::from_secs(5), Duration::from_millis)
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Settings from the environment the generated stacks set; defaults from outbox.yaml.
pub(crate) fn options_from_env(defaults: Defaults) -> Options {
    let mut options =
        Options::new(std::env::var("EVENT_BUS_NAME").unwrap_or_else(|_| defaults.bus.to_owned()));
    options.dead_letter_source = format!("{}.outbox", defaults.service);
    if std::env::var("OUTBOX_POISON_POLICY").as_deref() == Ok("dead-letter") {
        options.poison = PoisonPolicy::DeadLetter;
    }
    if std::env::var("OUTBOX_VALIDATE").as_deref() == Ok("off") {
        options.validate = false;
    }
    if let Some(n) = env_number("OUTBOX_MAX_IN_FLIGHT").filter(|n| *n > 0) {
        options.limits.max_in_flight = n as usize;
    }
    if let Some(n) = env_number("OUTBOX_MAX_ATTEMPTS").filter(|n| *n > 0) {
        options.retry.max_attempts = n as u32;
    }
    options
}

/// Logs go to stderr: JSON under Lambda (CloudWatch parses it), text elsewhere. Item contents
/// are never logged.
fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().without_time().try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}

/// With `OUTBOX_METRICS=emf`, the invocation's counts as a CloudWatch Embedded Metric Format
/// line (printed on stdout under Lambda, where CloudWatch reads it; on stderr locally, so stdout
/// stays the response).
fn metrics_line(defaults: Defaults, stats: &Stats) -> Option<String> {
    if std::env::var("OUTBOX_METRICS").as_deref() != Ok("emf") {
        return None;
    }
    let names = [
        "records",
        "skipped",
        "published",
        "retried",
        "failed",
        "deadLettered",
    ];
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64,
            "CloudWatchMetrics": [{
                "Namespace": "Outbox",
                "Dimensions": [["Service"]],
                "Metrics": names.iter().map(|n| serde_json::json!({"Name": n, "Unit": "Count"})).collect::<Vec<_>>(),
            }],
        },
        "Service": defaults.service,
    });
    if let (Some(object), Ok(serde_json::Value::Object(counts))) =
        (line.as_object_mut(), serde_json::to_value(stats))
    {
        object.extend(counts);
    }
    Some(line.to_string())
}

fn print_json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string(value).unwrap_or_default());
}
