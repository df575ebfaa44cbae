//! `outbox-ops`: the local stand-ins for what AWS runs around a relay, linked into the relay
//! binary by its `local` feature (the Lambda build leaves this crate out): the stream poller
//! behind `relay poll` (Lambda's event source mapping) and the local stack behind `relay dev`
//! (tables, bus, rules and queues on a local endpoint such as moto). [`run`] is the relay's
//! `main` with these subcommands beside `--event-file`.

pub mod backfill;
mod batch;
pub mod bus;
pub mod checkpoint;
mod cli;
pub mod compare;
pub mod dev;
pub mod event;
pub mod poll;
pub mod redrive;
pub mod replay;
pub mod subscriber_redrive;

use std::path::PathBuf;
use std::process::ExitCode;

use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata;
use clap::Parser;
use outbox_runtime::cli::EventFileArgs;
use outbox_runtime::{Defaults, Mapper};

use checkpoint::CheckpointError;
pub use outbox_stack::{Consumer, Key, LocalStack, StreamSettings, Table};

/// Handle DynamoDB Streams batches like the Lambda function does, locally; or stand in for
/// the event source mapping and the stack around the relay.
#[derive(Debug, Parser)]
#[command(
    name = "relay",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(flatten)]
    event: EventFileArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Read a table's stream as Lambda's event source mapping does and hand each batch to this
    /// relay.
    Poll(PollArgs),
    /// Stand the stack up on a local endpoint (moto by default), poll every table and print
    /// the events each consumer receives.
    Dev(DevArgs),
    /// Publish what the failure destinations hold (the failure queue's failed batches, the
    /// dead letters), read back from the stream or the table, through the current mappings,
    /// with the original event ids. Try `--dry-run` first.
    Redrive(RedriveArgs),
    /// Publish the snapshot events (`snapshot: true`) of every item a table holds, for consumers
    /// that need the current state; resumable from a checkpoint.
    Backfill(BackfillArgs),
    /// Send a time range of the Classic bus's archive to one consumer's rule again, and wait.
    Replay(ReplayArgs),
    /// Moving to a Custom Event Bus: compare what one consumer received from the Classic bus
    /// and from the Custom Event Bus (one queue each): events only one side received, bodies
    /// that differ, groups in another order. Exit 1 when they differ.
    Compare(CompareArgs),
}

/// The `main` of a relay built with the `local` feature: the Lambda loop under Lambda, else
/// `--event-file`, `poll` or `dev`.
pub fn run<M: Mapper + 'static>(mapper: M, defaults: Defaults) -> ExitCode {
    outbox_runtime::cli::block_on(async move {
        let (options, under_lambda) = outbox_runtime::cli::start(defaults);
        if under_lambda {
            return outbox_runtime::cli::lambda(mapper, options, defaults).await;
        }
        let cli = Cli::parse();
        let result = match cli.command {
            None => {
                return outbox_runtime::cli::event_file(cli.event, &mapper, defaults, &options)
                    .await;
            }
            Some(Command::Poll(args)) => cli::poll(args, &mapper, defaults, options).await,
            Some(Command::Dev(args)) => cli::dev(args, &mapper, defaults, options).await,
            Some(Command::Redrive(args)) => cli::redrive(args, &mapper, defaults, options).await,
            Some(Command::Backfill(args)) => cli::backfill(args, &mapper, defaults, options).await,
            Some(Command::Replay(args)) => cli::replay(args, defaults).await,
            Some(Command::Compare(args)) => cli::compare(args).await,
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(e.exit_code())
            }
        }
    })
}

/// `relay poll`.
#[derive(Debug, clap::Args)]
pub struct PollArgs {
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

/// `relay backfill`.
#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    /// The table to scan.
    #[arg(long, value_name = "NAME")]
    pub table: String,
    /// Where each segment's position is kept; run again with the same file to resume (and to
    /// keep the run's event ids).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// At most this many events per second (PutEvents throttling is retried either way).
    #[arg(long, value_name = "EVENTS_PER_S")]
    pub rate: Option<f64>,
    /// Parallel scan segments.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub segments: u32,
    /// Only this event (default: every event with a snapshot form).
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
    /// Only the events this consumer's rule matches. Other consumers of those events receive
    /// them too: the bus routes them.
    #[arg(long, value_name = "NAME")]
    pub consumer: Option<String>,
    /// Print the entries; publish nothing, keep no checkpoint.
    #[arg(long)]
    pub dry_run: bool,
    /// One endpoint for every AWS service (a local server); default: the SDK's standard
    /// settings.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
}

/// `relay replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The consumer to send the events to again.
    #[arg(long, value_name = "NAME")]
    pub consumer: String,
    /// The start of the range (RFC 3339, `2026-12-01T00:00:00Z`).
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// The end of the range (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub to: String,
    /// One endpoint for every AWS service (a local server); default: the SDK's standard
    /// settings.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
}

/// `relay compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The queue the Classic bus's rule delivers the consumer's events to (name or URL).
    #[arg(long, value_name = "QUEUE")]
    pub classic_queue: String,
    /// The queue the Custom Event Bus's subscriber delivers them to (name or URL).
    #[arg(long, value_name = "QUEUE")]
    pub custom_queue: String,
    /// A path into the event that names its group where a queue does not (a FIFO queue's
    /// message group), for example `$.detail.orderId`.
    #[arg(long, value_name = "PATH")]
    pub group: Option<String>,
    /// Stop reading a queue once it has delivered nothing for this long.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub idle_ms: u64,
    /// How long each message read stays hidden from the queue's consumer (messages are not
    /// deleted: they return after this).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub visibility_timeout: u64,
    /// One endpoint for every AWS service (a local server); default: the SDK's standard
    /// settings.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
}

/// `relay redrive`.
#[derive(Debug, clap::Args)]
pub struct RedriveArgs {
    /// Print the entries it would publish; publish and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// One endpoint for every AWS service (a local server); default: the SDK's standard
    /// settings.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The relay's on-failure queue, by name or URL (default: the local stack's name; for a
    /// deployed stack, its `RelayFailureQueueUrl` output).
    #[arg(long, value_name = "QUEUE")]
    pub failure_queue: Option<String>,
    /// The dead-lettered events' queue, by name or URL (default: `<service>-dead-letters`).
    #[arg(long, value_name = "QUEUE")]
    pub dead_letters: Option<String>,
    /// On a Custom Event Bus: deliver again what this consumer's subscriber recorded in its
    /// dead-letter queue, from the bus's retention, to its target alone (instead of the relay's
    /// failure queue and dead letters).
    #[arg(long, value_name = "CONSUMER")]
    pub subscriber: Option<String>,
    /// With --subscriber: its dead-letter queue, by name or URL (default: the local stack's;
    /// for a deployed stack, the queue its `OnFailureConfiguration` names).
    #[arg(long, value_name = "QUEUE", requires = "subscriber")]
    pub dead_letter_queue: Option<String>,
    /// With --subscriber: its ARN, when no record in the queue names it.
    #[arg(long, value_name = "ARN", requires = "subscriber")]
    pub subscriber_arn: Option<String>,
    /// With --subscriber: how long one batch may take to be delivered again.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub wait_seconds: u64,
}

/// `relay dev`.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
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

/// The SDK configuration: the standard environment, or `endpoint` for every service (then a
/// region and test credentials are filled in when the environment has none, as local servers
/// accept any). The SDK's standard retries stay on for the stream and queue calls; the
/// relay's publisher turns them off and retries entry by entry.
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            loader = loader.region(aws_config::Region::new("us-east-1"));
        }
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "outbox-ops",
            ));
        }
    }
    loader.load().await
}

/// The local stack or the poller cannot go on (nothing after the poller's last checkpoint is
/// lost; a restart resumes).
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The table has no stream.
    #[error(
        "table {0} has no stream; enable one (StreamSpecification) or run `relay dev --provision-only`"
    )]
    NoStream(String),
    /// A DynamoDB Streams or SQS call failed.
    #[error("{operation}: {message}")]
    Aws {
        /// The API call.
        operation: &'static str,
        /// What the service said.
        message: String,
    },
    /// The checkpoint file.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

pub(crate) fn aws_error<E: ProvideErrorMetadata + std::fmt::Display>(
    operation: &'static str,
) -> impl Fn(E) -> LocalError {
    move |e| LocalError::Aws {
        operation,
        message: match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => e.to_string(),
        },
    }
}
