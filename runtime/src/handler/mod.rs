//! One invocation: decode and map the records, publish the entries through a sliding window of
//! requests with bounded retries (the first request goes out as soon as it is mapped; mapping
//! goes on while requests are in flight), and answer with `batchItemFailures`
//! (ReportBatchItemFailures semantics for streams: the first failed record; everything before
//! it was published).

mod prepare;
mod window;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::streams::DynamoDbEventResponse;
use serde::Serialize;

use crate::attribute::read::Item;
use crate::entry::{Entry, MappedEvent};
use crate::error::{MapError, RecordError};
use crate::pack::Limits;
use crate::publish::{Limiter, Publisher, RetryPolicy};
use crate::record::{Operation, Record};

/// The generated part of a relay: which events a record produces.
pub trait Mapper: Send + Sync {
    /// Appends the events `record` produces to `out` (none: the record is skipped).
    fn map(&self, record: &Record, out: &mut Vec<MappedEvent>) -> Result<(), MapError>;

    /// Whether the events of a record with this operation and these keys may read its images,
    /// in any table (a stream record names its table after its images): those images decode
    /// in the batch's one pass rather than being skimmed there and read again. Saying yes for
    /// a record no event selects costs decoding images nobody reads; the default, no, costs the
    /// images that are read a second scan.
    fn reads_images(&self, operation: Operation, keys: &Item) -> bool {
        let _ = (operation, keys);
        false
    }
}

/// What happens to a record that cannot be decoded or mapped, or whose event is too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoisonPolicy {
    /// Fail it: it becomes the batch item failure, and the event source mapping's bisect, retry
    /// limit and on-failure destination take over.
    Fail,
    /// Publish an `Outbox Poison Record` event with the reason (route it to a dead-letter
    /// queue with a rule) and go on with the next record.
    DeadLetter,
}

/// Settings of a relay.
#[derive(Debug, Clone)]
pub struct Options {
    /// The bus entries go to.
    pub bus: String,
    /// Request limits.
    pub limits: Limits,
    /// How many requests may be in flight: learned from the answers, shared by every batch
    /// handled with these options (and their clones).
    pub window: Arc<Limiter>,
    /// Retries.
    pub retry: RetryPolicy,
    /// Poison records.
    pub poison: PoisonPolicy,
    /// `Source` of poison-record events.
    pub dead_letter_source: String,
    /// Check every detail against its event's schema before publishing.
    pub validate: bool,
    /// The bus is the new Custom Event Bus: entries carry `SystemMetadata` (group and
    /// deduplication id), an item's order is kept per group, requests take up to 100 entries.
    pub system_metadata: bool,
    /// A resource every event entry carries after its id (`relay backfill`:
    /// `urn:outbox:backfill:<run>`, which tells a backfilled event from a live one).
    pub extra_resource: Option<String>,
    /// What a drifted event does instead of its event's `drift` policy (`relay redrive` has
    /// one that still drifts fail, rather than dead-letter it again).
    pub drift_override: Option<crate::entry::Drift>,
}

impl Options {
    /// Defaults for the bus `bus`.
    pub fn new(bus: impl Into<String>) -> Self {
        Options {
            bus: bus.into(),
            limits: Limits::default(),
            window: Arc::new(Limiter::default()),
            retry: RetryPolicy::default(),
            poison: PoisonPolicy::Fail,
            dead_letter_source: "outbox.relay".into(),
            validate: true,
            drift_override: None,
            system_metadata: false,
            extra_resource: None,
        }
    }

    /// Publishes to the new Custom Event Bus: `SystemMetadata` on every entry, up to 100
    /// entries per request.
    pub fn custom_bus(&mut self) {
        self.system_metadata = true;
        self.limits.max_entries = 100;
    }
}

/// `DetailType` of poison-record events.
pub use outbox_stack::POISON_DETAIL_TYPE;

/// Counts of one invocation, for logs and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Records in the batch.
    pub records: usize,
    /// Records no event selected.
    pub skipped: usize,
    /// Entries EventBridge accepted.
    pub published: usize,
    /// Entry sends after the first.
    pub retried: usize,
    /// Entry sends EventBridge throttled (each was retried or failed).
    pub throttled: usize,
    /// Requests the window allowed in flight when the batch was done.
    pub window: usize,
    /// Records reported as failed (0 or 1: the first failure ends the batch).
    pub failed: usize,
    /// Poison records and drifted events sent to the dead-letter destination.
    pub dead_lettered: usize,
    /// Drifted events published anyway (`Drift::Publish`).
    pub drifted: usize,
}

/// A batch mapped into entries, not yet sent.
#[derive(Debug, Default)]
pub struct Prepared<'a> {
    /// The entries, in record order.
    pub entries: Vec<Entry>,
    /// Each record's sequence number (when it could be read).
    pub sequence_numbers: Vec<Option<Cow<'a, str>>>,
    /// The first record that failed before publishing, with the reason.
    pub failure: Option<(usize, RecordError)>,
    /// Counts so far.
    pub stats: Stats,
}

/// The invocation cannot be answered record by record (the event is not a stream batch, or
/// the failed record has no readable sequence number): Lambda retries the whole batch.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The event is not a DynamoDB Streams batch.
    #[error("the event is not a DynamoDB Streams batch: {0}")]
    NotABatch(#[from] serde_json::Error),
    /// The first failed record's sequence number is unknown.
    #[error("{0}; its sequence number is unreadable, so the whole batch fails")]
    Unreportable(RecordError),
}

/// The result of one invocation.
#[derive(Debug)]
pub struct Outcome {
    /// The answer to Lambda.
    pub response: DynamoDbEventResponse,
    /// The failure reported, if any.
    pub failure: Option<RecordError>,
    /// Counts.
    pub stats: Stats,
}

/// Decodes and maps a batch (no I/O): the entries in order, or the first poison record under
/// [`PoisonPolicy::Fail`].
pub fn prepare<'a>(
    mapper: &impl Mapper,
    event: &'a str,
    options: &Options,
    trace_header: Option<&str>,
) -> Result<Prepared<'a>, BatchError> {
    let mut preparer = prepare::Preparer::new(mapper, event, options, trace_header)?;
    while !preparer.done {
        preparer.step(usize::MAX);
    }
    Ok(Prepared {
        entries: preparer.entries.into(),
        sequence_numbers: preparer.sequence_numbers,
        failure: preparer.failure,
        stats: preparer.stats,
    })
}

/// Decodes, maps and publishes one batch.
pub async fn handle(
    mapper: &impl Mapper,
    publisher: &impl Publisher,
    event: &str,
    options: &Options,
    deadline: Option<Instant>,
    trace_header: Option<&str>,
) -> Result<Outcome, BatchError> {
    let started = Instant::now();
    let preparer = prepare::Preparer::new(mapper, event, options, trace_header)?;
    let outcome = window::publish(publisher, preparer, deadline).await?;
    log_outcome(&outcome, started.elapsed());
    Ok(outcome)
}

fn log_outcome(outcome: &Outcome, elapsed: Duration) {
    let s = &outcome.stats;
    tracing::info!(
        records = s.records,
        skipped = s.skipped,
        published = s.published,
        retried = s.retried,
        throttled = s.throttled,
        window = s.window,
        failed = s.failed,
        dead_lettered = s.dead_lettered,
        elapsed_ms = elapsed.as_millis() as u64,
        failed_sequence_number = outcome
            .failure
            .as_ref()
            .and_then(|f| f.sequence_number.as_deref()),
        "batch handled"
    );
}
