//! The local stand-in for Lambda's event source mapping on a DynamoDB stream: reads every shard
//! through the DynamoDB Streams API (parents before children), gathers batches (batch size,
//! batching window), invokes the relay's handler in process with the same Lambda event, and
//! honours its `batchItemFailures`: retry from the first failed record, bisect, a retry limit
//! and a record age limit, then the on-failure destination (an SQS queue). The position in
//! each shard is checkpointed after every batch, so a restart resumes without loss.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata as _;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use futures_util::FutureExt as _;
use serde::Serialize;
use serde_json::{Value, json};

use outbox_runtime::handler::{self, Mapper, Options};
use outbox_runtime::publish::Publisher;

use crate::checkpoint::CheckpointFile;
use crate::event::{failure_message, lambda_record, metrics_line, record_age, sequence_number};
use crate::{LocalError, StreamSettings, aws_error};

/// How the poller runs.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// The table whose stream is read.
    pub table: String,
    /// Batch size, window, retries, record age, starting position.
    pub settings: StreamSettings,
    /// The mapping's `FilterCriteria` (none: every record passes).
    pub filters: Vec<outbox_pattern::Pattern>,
    /// Stop once nothing has arrived for this long and every batch is handled.
    pub until_idle: Option<Duration>,
    /// The on-failure destination's queue URL.
    pub failure_queue_url: String,
    /// Pause between reads of a shard that had nothing new (Lambda polls four times a second).
    pub poll_interval: Duration,
    /// The first retry's delay; each further retry doubles it, up to [`MAX_RETRY_DELAY`].
    pub retry_delay: Duration,
    /// How long one invocation may take (the function's timeout).
    pub invocation_timeout: Duration,
    /// Print each invocation's metrics, what the deployed alarms watch (`relay dev`).
    pub print_metrics: bool,
}

/// How often the shard list is read again.
const REFRESH: Duration = Duration::from_secs(10);

/// The longest pause between two retries of a failing batch.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Counts of one run, printed when the poller stops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PollStats {
    /// Records read from the stream.
    pub records: usize,
    /// Records the mapping's filters dropped before the function (as `FilterCriteria` does).
    pub filtered_out: usize,
    /// Invocations of the handler.
    pub invocations: usize,
    /// Invocations that reported a failure or failed.
    pub failed_invocations: usize,
    /// Records handed to the on-failure destination.
    pub records_to_failure_destination: usize,
}

/// One shard being read.
#[derive(Debug, Default)]
struct Shard {
    parent: Option<String>,
    iterator: Option<String>,
    started: bool,
    finished: bool,
    buffer: VecDeque<Value>,
    /// When the oldest buffered record arrived (the batching window runs from it).
    since: Option<Instant>,
    /// The last record the filters dropped, while the checkpoint is still before it.
    dropped_to: Option<String>,
}

/// Reads a table's stream and hands it to the relay until stopped (or idle).
pub struct Poller<'a, M, P> {
    mapper: &'a M,
    publisher: &'a P,
    relay: &'a Options,
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    options: PollOptions,
    checkpoint: CheckpointFile,
    stream_arn: String,
    shards: BTreeMap<String, Shard>,
    shard_closed: bool,
    stats: PollStats,
}

/// What one invocation said about a batch.
enum Verdict {
    Done,
    FailedAt { index: usize, reason: String },
}

impl<'a, M: Mapper, P: Publisher> Poller<'a, M, P> {
    /// A poller for `options.table`'s latest stream.
    pub async fn new(
        mapper: &'a M,
        publisher: &'a P,
        relay: &'a Options,
        config: &aws_config::SdkConfig,
        options: PollOptions,
        checkpoint: CheckpointFile,
    ) -> Result<Self, LocalError> {
        let streams = aws_sdk_dynamodbstreams::Client::new(config);
        let listed = streams
            .list_streams()
            .table_name(&options.table)
            .send()
            .await
            .map_err(aws_error("ListStreams"))?;
        // Streams are listed oldest first; the latest is the table's current one.
        let stream_arn = listed
            .streams()
            .iter()
            .filter(|s| s.table_name() == Some(options.table.as_str()))
            .filter_map(|s| s.stream_arn())
            .next_back()
            .ok_or_else(|| LocalError::NoStream(options.table.clone()))?
            .to_owned();
        Ok(Poller {
            mapper,
            publisher,
            relay,
            streams,
            sqs: aws_sdk_sqs::Client::new(config),
            options,
            checkpoint,
            stream_arn,
            shards: BTreeMap::new(),
            shard_closed: false,
            stats: PollStats::default(),
        })
    }

    /// The stream being read.
    pub fn stream_arn(&self) -> &str {
        &self.stream_arn
    }

    /// Polls until `stop` resolves or, with `until_idle`, the stream has been idle that long.
    pub async fn run(mut self, stop: impl Future<Output = ()>) -> Result<PollStats, LocalError> {
        let mut stop = std::pin::pin!(stop);
        let mut last_activity = Instant::now();
        let mut last_refresh: Option<Instant> = None;
        loop {
            if (&mut stop).now_or_never().is_some() {
                break;
            }
            // New shards appear when one closes (and every few hours on AWS).
            if self.shard_closed || last_refresh.is_none_or(|t| t.elapsed() > REFRESH) {
                self.refresh_shards().await?;
                self.shard_closed = false;
                last_refresh = Some(Instant::now());
            }
            let mut read_any = false;
            let ids: Vec<String> = self.shards.keys().cloned().collect();
            for id in ids {
                read_any |= self.step(&id).await?;
            }
            let buffered = self.shards.values().any(|s| !s.buffer.is_empty());
            if read_any || buffered {
                last_activity = Instant::now();
            } else if self
                .options
                .until_idle
                .is_some_and(|idle| last_activity.elapsed() >= idle)
            {
                break;
            }
            if !read_any {
                tokio::select! {
                    () = &mut stop => break,
                    () = tokio::time::sleep(self.options.poll_interval) => {}
                }
            }
        }
        Ok(self.stats)
    }

    /// Lists the stream's shards and adds the new ones (finished ones are kept as finished).
    async fn refresh_shards(&mut self) -> Result<(), LocalError> {
        let mut start: Option<String> = None;
        loop {
            let output = self
                .streams
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .map_err(aws_error("DescribeStream"))?;
            let Some(description) = output.stream_description() else {
                break;
            };
            for shard in description.shards() {
                let Some(id) = shard.shard_id() else { continue };
                let finished = self
                    .checkpoint
                    .position(&self.stream_arn, id)
                    .is_some_and(|p| p.finished);
                self.shards.entry(id.to_owned()).or_insert_with(|| Shard {
                    parent: shard.parent_shard_id().map(str::to_owned),
                    finished,
                    ..Shard::default()
                });
            }
            match description.last_evaluated_shard_id() {
                Some(last) => start = Some(last.to_owned()),
                None => break,
            }
        }
        Ok(())
    }

    /// Reads one shard once and hands over the batches that are ready; whether records arrived.
    async fn step(&mut self, id: &str) -> Result<bool, LocalError> {
        let Some(shard) = self.shards.get(id) else {
            return Ok(false);
        };
        // Children wait for their parent to be read to its end (per-item order).
        let parent_pending = shard
            .parent
            .as_ref()
            .and_then(|p| self.shards.get(p))
            .is_some_and(|p| !p.finished);
        if shard.finished || parent_pending {
            return Ok(false);
        }
        if !shard.started {
            let iterator = self.iterator(id, None).await?;
            let shard = self.shards.get_mut(id).expect("present");
            shard.iterator = iterator;
            shard.started = true;
        }
        let batch_size = self.options.settings.batch_size;
        let mut arrived = false;
        let shard = self.shards.get(id).expect("present");
        if let (Some(iterator), true) = (shard.iterator.clone(), shard.buffer.len() < batch_size) {
            let result = self
                .streams
                .get_records()
                .shard_iterator(iterator)
                .limit(1000)
                .send()
                .await;
            match result {
                Ok(output) => {
                    let records: Vec<Value> = output
                        .records()
                        .iter()
                        .map(|r| lambda_record(r, &self.stream_arn))
                        .collect();
                    arrived = !records.is_empty();
                    let read = records.len();
                    self.stats.records += read;
                    let last_read = records.last().and_then(sequence_number).map(str::to_owned);
                    // FilterCriteria: a record no filter matches never reaches the function.
                    let filters = &self.options.filters;
                    let passed: Vec<Value> = records
                        .into_iter()
                        .filter(|r| filters.is_empty() || filters.iter().any(|f| f.matches(r)))
                        .collect();
                    self.stats.filtered_out += read - passed.len();
                    let shard = self.shards.get_mut(id).expect("present");
                    shard.iterator = output.next_shard_iterator().map(str::to_owned);
                    if arrived {
                        // The last record read was dropped: the checkpoint may move past it
                        // once everything buffered before it is handled.
                        let dropped =
                            passed.last().and_then(sequence_number) != last_read.as_deref();
                        shard.dropped_to = if dropped { last_read } else { None };
                    }
                    if !passed.is_empty() {
                        shard.since.get_or_insert_with(Instant::now);
                    }
                    shard.buffer.extend(passed);
                }
                Err(e) if e.code() == Some("ExpiredIteratorException") => {
                    // Read on after what is already buffered (or handled).
                    let after = self
                        .shards
                        .get(id)
                        .and_then(|s| s.buffer.back())
                        .and_then(sequence_number)
                        .map(str::to_owned);
                    let iterator = self.iterator(id, after).await?;
                    self.shards.get_mut(id).expect("present").iterator = iterator;
                }
                Err(e) => return Err(aws_error("GetRecords")(e)),
            }
        }
        loop {
            let shard = self.shards.get_mut(id).expect("present");
            let window = Duration::from_secs(self.options.settings.batching_window);
            let ready = shard.buffer.len() >= batch_size
                || (!shard.buffer.is_empty()
                    && (shard.iterator.is_none()
                        || shard.since.is_some_and(|t| t.elapsed() >= window)));
            if !ready {
                break;
            }
            let take = batch_size.min(shard.buffer.len());
            let batch: Vec<Value> = shard.buffer.drain(..take).collect();
            shard.since = (!shard.buffer.is_empty()).then(Instant::now);
            self.deliver(id, batch).await?;
        }
        let shard = self.shards.get_mut(id).expect("present");
        if shard.buffer.is_empty()
            && let Some(dropped_to) = shard.dropped_to.take()
        {
            self.checkpoint.advance(&self.stream_arn, id, &dropped_to)?;
        }
        let shard = self.shards.get_mut(id).expect("present");
        if shard.iterator.is_none() && shard.buffer.is_empty() {
            shard.finished = true;
            self.shard_closed = true;
            self.checkpoint.finish(&self.stream_arn, id)?;
        }
        Ok(arrived)
    }

    /// A shard iterator after `after`, else after the checkpoint, else at the starting position.
    async fn iterator(
        &self,
        shard: &str,
        after: Option<String>,
    ) -> Result<Option<String>, LocalError> {
        let after = after.or_else(|| {
            self.checkpoint
                .position(&self.stream_arn, shard)
                .and_then(|p| p.sequence_number.clone())
        });
        let request = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard);
        let request = match after {
            Some(sequence_number) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence_number),
            None if self.options.settings.starting_position == "LATEST" => {
                request.shard_iterator_type(ShardIteratorType::Latest)
            }
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let output = request
            .send()
            .await
            .map_err(aws_error("GetShardIterator"))?;
        Ok(output.shard_iterator().map(str::to_owned))
    }

    /// Invokes the relay on a batch until every record is handled: published (or skipped),
    /// or, once retries or the record age run out, sent to the on-failure destination.
    async fn deliver(&mut self, shard: &str, records: Vec<Value>) -> Result<(), LocalError> {
        let settings = self.options.settings.clone();
        let mut queue = VecDeque::from([records]);
        let mut attempts = 0u32;
        let max_age = Duration::from_secs(settings.maximum_record_age);
        let too_old = |record: &Value| record_age(record).is_some_and(|age| age > max_age);
        while let Some(mut segment) = queue.pop_front() {
            // Records older than the maximum age never reach the function (stream order is
            // age order, so they lead the segment).
            let expired = segment.iter().take_while(|r| too_old(r)).count();
            if expired > 0 {
                let rest = segment.split_off(expired);
                let reason = format!(
                    "older than the maximum record age ({} s)",
                    settings.maximum_record_age
                );
                self.send_to_failure_destination(shard, &segment, &reason, 0, "RecordAgeExceeded")
                    .await?;
                self.commit(shard, segment.last().expect("expired records"))?;
                segment = rest;
            }
            let Some(last) = segment.last() else { continue };
            match self.invoke(&segment).await {
                Verdict::Done => {
                    self.commit(shard, last)?;
                    attempts = 0;
                }
                Verdict::FailedAt { index, reason } => {
                    self.stats.failed_invocations += 1;
                    if index > 0 {
                        self.commit(shard, &segment[index - 1])?;
                        attempts = 0;
                    }
                    let rest = segment[index..].to_vec();
                    attempts += 1;
                    let expired = too_old(&rest[0]);
                    if attempts > settings.maximum_retry_attempts || expired {
                        let condition = if expired {
                            "RecordAgeExceeded"
                        } else {
                            "RetryAttemptsExhausted"
                        };
                        self.send_to_failure_destination(
                            shard, &rest, &reason, attempts, condition,
                        )
                        .await?;
                        self.commit(shard, rest.last().unwrap_or(last))?;
                        attempts = 0;
                        continue;
                    }
                    tracing::warn!(shard, attempts, records = rest.len(), %reason, "retrying the batch from its first failed record");
                    let delay = self
                        .options
                        .retry_delay
                        .saturating_mul(2u32.saturating_pow(attempts - 1));
                    tokio::time::sleep(delay.min(MAX_RETRY_DELAY)).await;
                    if rest.len() > 1 {
                        // Bisect: the half with the failed record first, then the other.
                        let mut first = rest;
                        let second = first.split_off(first.len().div_ceil(2));
                        queue.push_front(second);
                        queue.push_front(first);
                    } else {
                        queue.push_front(rest);
                    }
                }
            }
        }
        Ok(())
    }

    async fn invoke(&mut self, records: &[Value]) -> Verdict {
        self.stats.invocations += 1;
        let event = json!({ "Records": records }).to_string();
        let deadline = Instant::now() + self.options.invocation_timeout;
        let outcome = handler::handle(
            self.mapper,
            self.publisher,
            &event,
            self.relay,
            Some(deadline),
            None,
        )
        .await;
        match outcome {
            Err(e) => Verdict::FailedAt {
                index: 0,
                reason: format!("the function failed: {e}"),
            },
            Ok(outcome) => {
                if self.options.print_metrics {
                    println!(
                        "{}",
                        metrics_line(&self.options.table, records, &outcome.stats)
                    );
                }
                let Some(failure) = outcome.response.batch_item_failures.first() else {
                    return Verdict::Done;
                };
                let reason = outcome.failure.map_or_else(
                    || "the function reported a failed record".to_owned(),
                    |f| {
                        let kind = serde_json::to_value(f.kind).unwrap_or_default();
                        format!("{}: {}", kind.as_str().unwrap_or("failed"), f.reason)
                    },
                );
                // Like Lambda: an identifier that is not in the batch fails the whole batch.
                let index = failure
                    .item_identifier
                    .as_deref()
                    .and_then(|id| records.iter().position(|r| sequence_number(r) == Some(id)));
                Verdict::FailedAt {
                    index: index.unwrap_or(0),
                    reason,
                }
            }
        }
    }

    fn commit(&mut self, shard: &str, record: &Value) -> Result<(), LocalError> {
        if let Some(sequence_number) = sequence_number(record) {
            self.checkpoint
                .advance(&self.stream_arn, shard, sequence_number)?;
        }
        Ok(())
    }

    /// Sends what Lambda sends to a stream mapping's on-failure destination (the batch's
    /// place in the stream, not its records), plus `outbox`: the reason and the records' ids,
    /// which the local poller knows because it ran the handler in process.
    async fn send_to_failure_destination(
        &mut self,
        shard: &str,
        records: &[Value],
        reason: &str,
        attempts: u32,
        condition: &str,
    ) -> Result<(), LocalError> {
        let body = failure_message(
            &self.stream_arn,
            shard,
            records,
            reason,
            attempts,
            condition,
        );
        self.sqs
            .send_message()
            .queue_url(&self.options.failure_queue_url)
            .message_body(body.to_string())
            .send()
            .await
            .map_err(aws_error("SendMessage (on-failure destination)"))?;
        tracing::error!(shard, records = records.len(), %reason, condition, "records sent to the on-failure destination");
        self.stats.records_to_failure_destination += records.len();
        Ok(())
    }
}
