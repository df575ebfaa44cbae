//! One invocation: decode and map the records, publish the entries through a sliding window of
//! requests with bounded retries (the first request goes out as soon as it is mapped; mapping
//! goes on while requests are in flight), and answer with `batchItemFailures`
//! (ReportBatchItemFailures semantics for streams: the first failed record; everything before
//! it was published).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures_util::StreamExt;
use futures_util::future::Either;
use futures_util::stream::FuturesUnordered;
use serde::Serialize;

use crate::batch::{self, Limits};
use crate::entry::{Entry, ID_RESOURCE_PREFIX, MappedEvent, event_id};
use crate::error::{FailureKind, MapError, RecordError};
use crate::publish::{EntryOutcome, Publisher, RequestError, RetryPolicy};
use crate::record::Record;

/// The generated part of a relay: which events a record produces.
pub trait Mapper: Send + Sync {
    /// Appends the events `record` produces to `out` (none: the record is skipped).
    fn map(&self, record: &Record, out: &mut Vec<MappedEvent>) -> Result<(), MapError>;
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
    /// Request limits and concurrency.
    pub limits: Limits,
    /// Retries.
    pub retry: RetryPolicy,
    /// Poison records.
    pub poison: PoisonPolicy,
    /// `Source` of poison-record events.
    pub dead_letter_source: String,
    /// Check every detail against its event's schema before publishing.
    pub validate: bool,
}

impl Options {
    /// Defaults for the bus `bus`.
    pub fn new(bus: impl Into<String>) -> Self {
        Options {
            bus: bus.into(),
            limits: Limits::default(),
            retry: RetryPolicy::default(),
            poison: PoisonPolicy::Fail,
            dead_letter_source: "outbox.relay".into(),
            validate: true,
        }
    }
}

/// `DetailType` of poison-record events.
pub const POISON_DETAIL_TYPE: &str = "Outbox Poison Record";

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
    /// Records reported as failed (0 or 1: the first failure ends the batch).
    pub failed: usize,
    /// Poison records sent to the dead-letter destination.
    pub dead_lettered: usize,
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
    let mut preparer = Preparer::new(mapper, event, options, trace_header)?;
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

/// Records mapped per step while every slot of the window is busy (about 40 µs of work): small
/// enough that an answered request is replaced promptly (8 to 24 records per step measured
/// alike, 96 and more up to 15% slower one request at a time), large enough to keep yielding
/// cheap.
const STEP_RECORDS: usize = 16;

/// Records mapped per step while a slot is free: the next request waits on mapping, not on an
/// answer, so the connections are looked at less often (each look is a trip through the
/// runtime and the kernel; with 8 in flight, 128 records per step took 10-15% less CPU than 16
/// on the 10,000-record batch).
const STEP_RECORDS_SLOT_FREE: usize = 128;

/// A batch being decoded and mapped a few records at a time, so that publishing can start
/// with the first entries and mapping goes on while requests are in flight.
struct Preparer<'a, 'p, M> {
    mapper: &'p M,
    options: &'p Options,
    trace_header: Option<&'p str>,
    records: std::iter::Enumerate<crate::record::Records<'a>>,
    /// Scratch space for one record's events.
    mapped: Vec<MappedEvent>,
    /// Entries mapped and not sent yet (or to be retried), each item's in record order.
    entries: VecDeque<Entry>,
    /// Each record's sequence number (when it could be read), for the records mapped so far.
    sequence_numbers: Vec<Option<Cow<'a, str>>>,
    /// The first failed record so far: a poison record, or (while publishing) a record an
    /// entry of which could not be published.
    failure: Option<(usize, RecordError)>,
    stats: Stats,
    /// No record is left to map, or mapping stopped at a failure.
    done: bool,
}

impl<'a, 'p, M: Mapper> Preparer<'a, 'p, M> {
    fn new(
        mapper: &'p M,
        event: &'a str,
        options: &'p Options,
        trace_header: Option<&'p str>,
    ) -> Result<Self, BatchError> {
        let records = crate::record::decode_batch(event)?;
        Ok(Preparer {
            mapper,
            options,
            trace_header,
            stats: Stats {
                records: records.len(),
                ..Stats::default()
            },
            sequence_numbers: Vec::with_capacity(records.len()),
            records: records.enumerate(),
            mapped: Vec::new(),
            entries: VecDeque::new(),
            failure: None,
            done: false,
        })
    }

    /// Maps up to `count` more records; stops at the end of the batch and at the first failed
    /// record (after it, nothing is published).
    fn step(&mut self, count: usize) {
        for _ in 0..count {
            if self.failure.is_some() {
                self.done = true;
                return;
            }
            let Some((index, (decoded, raw))) = self.records.next() else {
                self.done = true;
                return;
            };
            self.mapped.clear();
            // Where a poison record is, read only when there is one (not on the per-record path).
            let result = match decoded {
                Ok(record) => match map_record(
                    self.mapper,
                    &record,
                    index,
                    &mut self.mapped,
                    self.options,
                    self.trace_header,
                ) {
                    Ok(entries) => Ok((record.sequence_number, entries)),
                    Err(error) => Err((error, PoisonIds::of(&record))),
                },
                Err(error) => Err((error, PoisonIds::read(raw))),
            };
            match result {
                Ok((sequence_number, entries)) => {
                    self.sequence_numbers.push(sequence_number);
                    if entries.is_empty() {
                        self.stats.skipped += 1;
                    }
                    self.entries.extend(entries);
                }
                Err((error, ids)) => {
                    self.sequence_numbers
                        .push(error.sequence_number.clone().map(Cow::Owned));
                    tracing::warn!(record = index, sequence_number = ?error.sequence_number, kind = ?error.kind, reason = %error.reason, "poison record");
                    match self.options.poison {
                        PoisonPolicy::Fail => self.failure = Some((index, error)),
                        PoisonPolicy::DeadLetter => {
                            self.entries
                                .push_back(poison_entry(index, ids, &error, self.options));
                            self.stats.dead_lettered += 1;
                        }
                    }
                }
            }
        }
    }

    /// Takes the next request to send out of the mapped entries (see [`batch::next_request`]):
    /// a request that could take more entries waits while records are left to map. Entries of
    /// records at or after the failed record are dropped first: nothing after it is sent.
    fn take_request(&mut self, busy: &HashSet<String>) -> Vec<Entry> {
        if let Some((failed, _)) = &self.failure {
            let failed = *failed;
            self.entries.retain(|e| e.record < failed);
        }
        let positions = batch::next_request(
            &self.entries,
            |key| busy.contains(key),
            self.options.limits,
            self.done,
        );
        if positions.iter().enumerate().all(|(n, &p)| n == p) {
            return self.entries.drain(..positions.len()).collect();
        }
        // Entries held back behind their items stay queued, in order.
        let mut request: Vec<Entry> = positions
            .iter()
            .rev()
            .filter_map(|&p| self.entries.remove(p))
            .collect();
        request.reverse();
        request
    }

    /// Records that the record of `entry` failed to publish, keeping only the earliest failed
    /// record.
    fn fail(&mut self, entry: &Entry, reason: String, retryable: bool) {
        if self
            .failure
            .as_ref()
            .is_some_and(|(r, _)| *r <= entry.record)
        {
            return;
        }
        tracing::warn!(record = entry.record, event_id = entry.id(), %reason, "event not published");
        self.failure = Some((
            entry.record,
            RecordError {
                sequence_number: self
                    .sequence_numbers
                    .get(entry.record)
                    .and_then(|s| s.as_deref())
                    .map(str::to_owned),
                kind: FailureKind::Publish,
                retryable,
                reason,
            },
        ));
    }
}

/// The entries of one decoded record, or why it is poison.
fn map_record(
    mapper: &impl Mapper,
    record: &Record,
    index: usize,
    mapped: &mut Vec<MappedEvent>,
    options: &Options,
    trace_header: Option<&str>,
) -> Result<Vec<Entry>, RecordError> {
    let result = mapper.map(record, mapped);
    if let Some(error) = record.image_error() {
        return Err(RecordError::decode(
            record.sequence_number_owned(),
            format!("the record does not decode: {error}"),
        ));
    }
    result.map_err(|e| RecordError {
        sequence_number: record.sequence_number_owned(),
        kind: FailureKind::Map,
        retryable: false,
        reason: e.to_string(),
    })?;
    entries_for(record, index, mapped, options, trace_header)
}

/// What a poison-record event says about where the record is.
#[derive(Debug, Default, serde::Deserialize)]
struct PoisonIds {
    #[serde(rename = "eventID")]
    event_id: Option<String>,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: Option<String>,
}

impl PoisonIds {
    /// From a record that decoded.
    fn of(record: &Record) -> Self {
        PoisonIds {
            event_id: Some(record.event_id.to_string()),
            event_source_arn: record.event_source_arn.as_deref().map(str::to_owned),
        }
    }

    /// From the text of a record that did not decode, as far as it can be read.
    fn read(raw: Option<&serde_json::value::RawValue>) -> Self {
        raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default()
    }
}

fn entries_for(
    record: &Record,
    index: usize,
    mapped: &mut Vec<MappedEvent>,
    options: &Options,
    trace_header: Option<&str>,
) -> Result<Vec<Entry>, RecordError> {
    if mapped.is_empty() {
        return Ok(Vec::new());
    }
    let item_key = format!(
        "{}/{}",
        record.table,
        serde_json::to_string(&crate::attr::ItemExcept {
            item: &record.keys,
            except: &[]
        })
        .unwrap_or_default()
    );
    mapped
        .drain(..)
        .map(|event| {
            if options.validate {
                event.check().map_err(|reason| RecordError {
                    sequence_number: record.sequence_number_owned(),
                    kind: FailureKind::Schema,
                    retryable: false,
                    reason,
                })?;
            }
            let entry = Entry {
                record: index,
                item_key: item_key.clone(),
                source: event.spec.source.to_owned(),
                detail_type: event.spec.detail_type.to_owned(),
                detail: event.detail,
                event_bus_name: options.bus.clone(),
                time: record.time,
                resources: vec![format!(
                    "{ID_RESOURCE_PREFIX}{}",
                    event_id(&record.event_id, event.spec)
                )],
                trace_header: trace_header.map(str::to_owned),
            };
            if entry.size() > options.limits.max_request_bytes {
                return Err(RecordError {
                    sequence_number: record.sequence_number_owned(),
                    kind: FailureKind::TooLarge,
                    retryable: false,
                    reason: format!(
                        "{} is {} bytes, more than the {} a PutEvents request takes",
                        event.spec.name,
                        entry.size(),
                        options.limits.max_request_bytes
                    ),
                });
            }
            Ok(entry)
        })
        .collect()
}

/// The dead-letter event for a poison record: where it is and why it failed, not its contents.
fn poison_entry(index: usize, ids: PoisonIds, error: &RecordError, options: &Options) -> Entry {
    let event_id = ids.event_id;
    let detail = serde_json::json!({
        "sequenceNumber": error.sequence_number,
        "eventID": event_id,
        "eventSourceARN": ids.event_source_arn,
        "kind": error.kind,
        "reason": error.reason,
    });
    Entry {
        record: index,
        item_key: format!("poison/{index}"),
        source: options.dead_letter_source.clone(),
        detail_type: POISON_DETAIL_TYPE.to_owned(),
        detail: detail.to_string(),
        event_bus_name: options.bus.clone(),
        time: None,
        resources: vec![format!(
            "{ID_RESOURCE_PREFIX}{}:poison",
            event_id.unwrap_or_else(|| format!("record-{index}"))
        )],
        trace_header: None,
    }
}

/// One request in flight: it owns its entries and hands them back with the answer, so an
/// entry to retry goes back to the queue.
async fn send(
    publisher: &impl Publisher,
    request: Vec<Entry>,
) -> (Vec<Entry>, Result<Vec<EntryOutcome>, RequestError>) {
    let result = {
        let entries: Vec<&Entry> = request.iter().collect();
        publisher.put_events(&entries).await
    };
    (request, result)
}

/// Publishes a batch while it is being mapped, through a sliding window of requests, and
/// answers for it.
async fn publish<M: Mapper>(
    publisher: &impl Publisher,
    mut preparer: Preparer<'_, '_, M>,
    deadline: Option<Instant>,
) -> Result<Outcome, BatchError> {
    let options = preparer.options;
    let mut in_flight = FuturesUnordered::new();
    // Items with an entry in flight: their later entries wait.
    let mut busy: HashSet<String> = HashSet::new();
    // Attempts so far of the entries that had to be retried, by event id.
    let mut attempts: HashMap<String, u32> = HashMap::new();
    // After a retryable failure nothing new goes out before its backoff is over, as a
    // throttled client should.
    let mut hold: Option<Instant> = None;
    loop {
        let held = hold.is_some_and(|until| Instant::now() < until);
        while !held && in_flight.len() < options.limits.max_in_flight {
            let request = preparer.take_request(&busy);
            if request.is_empty() {
                break;
            }
            busy.extend(request.iter().map(|e| e.item_key.clone()));
            in_flight.push(send(publisher, request));
        }
        let (request, result) = if !preparer.done {
            // Map more while requests are in flight; mapping is synchronous, so yield in
            // between, which moves the connections along.
            match futures_util::future::poll_immediate(in_flight.next()).await {
                Some(Some(answer)) => answer,
                _ => {
                    let slot_free =
                        !in_flight.is_empty() && in_flight.len() < options.limits.max_in_flight;
                    preparer.step(if slot_free {
                        STEP_RECORDS_SLOT_FREE
                    } else {
                        STEP_RECORDS
                    });
                    if !in_flight.is_empty() {
                        tokio::task::yield_now().await;
                    }
                    continue;
                }
            }
        } else if let (true, Some(until)) = (held, hold) {
            // Every record is mapped and retries wait: wait for an answer or the backoff.
            let wait = tokio::time::sleep_until(until.into());
            if in_flight.is_empty() {
                wait.await;
                continue;
            }
            match futures_util::future::select(in_flight.next(), std::pin::pin!(wait)).await {
                Either::Left((Some(answer), _)) => answer,
                _ => continue,
            }
        } else if let Some(answer) = in_flight.next().await {
            answer
        } else {
            // Nothing in flight, nothing held, every record mapped: the queue is empty, or
            // the pick above would have taken its first entry.
            debug_assert!(preparer.entries.is_empty());
            break;
        };
        for entry in &request {
            busy.remove(&entry.item_key);
        }
        if let Some(until) = settle(&mut preparer, &mut attempts, request, result, deadline) {
            hold = hold.max(Some(until));
        }
    }
    let Preparer {
        failure, mut stats, ..
    } = preparer;
    let mut response = DynamoDbEventResponse::default();
    let failure = match failure {
        None => None,
        Some((_, error)) if error.sequence_number.is_none() => {
            return Err(BatchError::Unreportable(error));
        }
        Some((_, error)) => {
            let mut item = DynamoDbBatchItemFailure::default();
            item.item_identifier = error.sequence_number.clone();
            response.batch_item_failures.push(item);
            stats.failed = 1;
            Some(error)
        }
    };
    Ok(Outcome {
        response,
        failure,
        stats,
    })
}

/// Books an answered request: accepted entries are published, refused ones fail their record,
/// and those to retry go back to the front of the queue. Returns when the backoff of a retry
/// is over: nothing new goes out before.
fn settle<M: Mapper>(
    preparer: &mut Preparer<'_, '_, M>,
    attempts: &mut HashMap<String, u32>,
    request: Vec<Entry>,
    result: Result<Vec<EntryOutcome>, RequestError>,
    deadline: Option<Instant>,
) -> Option<Instant> {
    let options = preparer.options;
    let mut retry = Vec::new();
    match result {
        Ok(outcomes) => {
            for (entry, outcome) in request.into_iter().zip(outcomes) {
                match outcome {
                    EntryOutcome::Accepted => preparer.stats.published += 1,
                    ref failed if failed.retryable() => retry.push(entry),
                    EntryOutcome::Failed { code, message } => preparer.fail(
                        &entry,
                        format!("EventBridge rejected the event: {code}: {message}"),
                        false,
                    ),
                }
            }
        }
        Err(error) if error.retryable => retry = request,
        Err(error) => {
            for entry in &request {
                preparer.fail(entry, error.to_string(), false);
            }
        }
    }
    retry.retain(|e| preparer.failure.as_ref().is_none_or(|(r, _)| e.record < *r));
    if retry.is_empty() {
        return None;
    }
    // The entries of one answer are retried together, after one backoff.
    let attempt_of = |e: &Entry| attempts.get(e.id()).copied().unwrap_or(1) + 1;
    let delay = options
        .retry
        .backoff(retry.iter().map(attempt_of).max().unwrap_or(2));
    let now = Instant::now();
    let out_of_time = deadline.is_some_and(|d| now + delay + options.retry.deadline_margin > d);
    let mut again = Vec::with_capacity(retry.len());
    for entry in retry {
        let attempt = attempt_of(&entry);
        if attempt > options.retry.max_attempts || out_of_time {
            let why = if out_of_time {
                "the invocation ran out of time"
            } else {
                "retries ran out"
            };
            let reason = format!("{why} after {} attempts", attempt - 1);
            preparer.fail(&entry, reason, true);
        } else {
            again.push((entry, attempt));
        }
    }
    if again.is_empty() {
        return None;
    }
    preparer.stats.retried += again.len();
    tracing::debug!(
        entries = again.len(),
        delay_ms = delay.as_millis() as u64,
        "retrying"
    );
    // Back to the front of the queue: each is its item's earliest entry not yet published.
    for (entry, attempt) in again.into_iter().rev() {
        attempts.insert(entry.id().to_owned(), attempt);
        preparer.entries.push_front(entry);
    }
    Some(now + delay)
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
    let preparer = Preparer::new(mapper, event, options, trace_header)?;
    let outcome = publish(publisher, preparer, deadline).await?;
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
