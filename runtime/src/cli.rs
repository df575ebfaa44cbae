//! The relay binary's entry point, shared by every generated relay: the Lambda loop under
//! Lambda, and elsewhere `relay --event-file FILE [--dry-run]`, which handles one stream event
//! exactly as the Lambda would. The local stand-ins (`relay poll`, `relay dev`) are the
//! `outbox-ops` crate's, which wraps this command line.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::handler::{self, Mapper, Options};
use crate::observe::{init_tracing, metrics_line};
use crate::publish::EventBridgePublisher;
use crate::settings::{Defaults, attempt_timeout, options_from_env};

/// `relay --event-file FILE [--dry-run]`.
#[derive(Debug, clap::Args)]
pub struct EventFileArgs {
    /// A DynamoDB Streams Lambda event (JSON); prints the response (`batchItemFailures`).
    #[arg(long, value_name = "FILE", required = true)]
    pub event_file: Option<PathBuf>,
    /// Send nothing; print the PutEvents entries, one JSON object per line, in send order.
    #[arg(long)]
    pub dry_run: bool,
}

/// Handle DynamoDB Streams batches like the Lambda function does, locally.
#[derive(Debug, Parser)]
#[command(name = "relay", version, about)]
struct Cli {
    #[command(flatten)]
    event: EventFileArgs,
}

/// Runs [`relay_main`] on a new Tokio runtime: the whole `main` of a generated relay.
///
/// One thread: an invocation maps its batch, then waits on PutEvents requests, and a Lambda
/// function of the default size has a fraction of one vCPU. Worker threads only added wakeups
/// across threads (10-15% more CPU per record in `bench/run.py`'s end-to-end runs).
pub fn run<M: Mapper + 'static>(mapper: M, defaults: Defaults) -> ExitCode {
    block_on(relay_main(mapper, defaults))
}

/// Runs `main` on a current-thread Tokio runtime (see [`run`]).
pub fn block_on(main: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(main),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The relay's settings, and whether it runs under Lambda (`AWS_LAMBDA_RUNTIME_API` set);
/// logging is set up for either.
pub fn start(defaults: Defaults) -> (Options, bool) {
    let under_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    init_tracing(under_lambda);
    (options_from_env(defaults), under_lambda)
}

/// Runs the relay: the Lambda loop when `AWS_LAMBDA_RUNTIME_API` is set, the command line
/// otherwise.
pub async fn relay_main<M: Mapper + 'static>(mapper: M, defaults: Defaults) -> ExitCode {
    let (options, under_lambda) = start(defaults);
    if under_lambda {
        return lambda(mapper, options, defaults).await;
    }
    if let Some(name) = std::env::args()
        .nth(1)
        .filter(|a| matches!(a.as_str(), "poll" | "dev"))
    {
        eprintln!(
            "error: `relay {name}` needs the relay built with the `local` feature (the Lambda build \
             leaves it out): cargo run -p relay --features local -- {name} ..."
        );
        return ExitCode::from(2);
    }
    event_file(Cli::parse().event, &mapper, defaults, &options).await
}

/// The Lambda loop until the runtime stops.
pub async fn lambda<M: Mapper + 'static>(
    mapper: M,
    options: Options,
    defaults: Defaults,
) -> ExitCode {
    match crate::lambda::run_lambda(mapper, options, defaults).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// `relay --event-file FILE [--dry-run]`: exit 0 handled (failures are in the response), 2
/// when the file cannot be read or is not a stream event.
pub async fn event_file(
    args: EventFileArgs,
    mapper: &impl Mapper,
    defaults: Defaults,
    options: &Options,
) -> ExitCode {
    let Some(event_file) = args.event_file else {
        eprintln!("error: --event-file is required");
        return ExitCode::from(2);
    };
    let event = match std::fs::read_to_string(&event_file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", event_file.display());
            return ExitCode::from(2);
        }
    };
    let result = if args.dry_run {
        dry_run(mapper, &event, options)
    } else {
        let publisher = EventBridgePublisher::from_env(attempt_timeout()).await;
        handler::handle(mapper, &publisher, &event, options, None, None)
            .await
            .map(|outcome| {
                if let Some(line) = metrics_line(defaults, &outcome.stats) {
                    eprintln!("{line}");
                }
                println!(
                    "{}",
                    serde_json::to_string(&outcome.response).unwrap_or_default()
                );
            })
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
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
