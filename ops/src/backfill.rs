//! `relay backfill`: the events the items of a table stand for, for consumers that need the
//! current state (a new read model, a search index). Scans the table in parallel segments; each
//! item becomes a record as if it had just been inserted, which the relay's own mappings turn
//! into the events declared with `snapshot: true`; they are published with ids of their own
//! (`backfill-<run>-<item hash>:<event>`: the same item in the same run gives the same id) and
//! a second resource, `urn:outbox:backfill:<run>`, so consumers tell them from live events.
//! After every page, each segment's position goes to the checkpoint file: a crashed run resumes
//! where it stopped (a page published but not checkpointed is published again, same ids).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest as _;

use outbox_runtime::MappedEvent;
use outbox_runtime::handler::{Mapper, Options};
use outbox_runtime::publish::Publisher;

use crate::batch::{Filtered, publish_or_print};
use crate::checkpoint::write_atomically;
use crate::{LocalError, Table, aws_error};

/// Items per scan page (one handler batch each).
const PAGE: i32 = 100;

/// What to backfill.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// The table.
    pub table: Table,
    /// Parallel scan segments.
    pub segments: u32,
    /// At most this many events per second, over all segments.
    pub rate: Option<f64>,
    /// Only this event.
    pub event: Option<String>,
    /// Only the events this pattern (a consumer's rule) matches.
    pub consumer: Option<outbox_pattern::Pattern>,
    /// Print the entries; publish nothing, keep no checkpoint.
    pub dry_run: bool,
    /// Where the positions are kept (resume by running again with the same file).
    pub checkpoint: Option<PathBuf>,
}

/// The checkpoint: the run, and each segment's position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackfillCheckpoint {
    /// The run's id: part of every event id, so a resumed run gives the same ids.
    pub run: String,
    /// The table.
    pub table: String,
    /// Each segment's position.
    pub segments: Vec<Segment>,
}

/// How far a segment is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Segment {
    /// The last key published (DynamoDB JSON); none: from the start.
    pub after: Option<Value>,
    /// Scanned to its end.
    pub done: bool,
}

/// Counts of a run, printed last.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackfillSummary {
    /// The run's id.
    pub run: String,
    /// Items scanned (this invocation).
    pub items: u64,
    /// Events published (or printed).
    pub events: u64,
    /// Seconds it took.
    pub seconds: f64,
    /// Nothing was published.
    pub dry_run: bool,
}

/// Whether a mapped event is one the backfill publishes: it has a snapshot form, and is the
/// `--event` and matches the `--consumer`'s rule, if given.
fn wanted(options: &BackfillOptions, event: &MappedEvent) -> bool {
    if !event.spec.snapshot
        || options
            .event
            .as_deref()
            .is_some_and(|e| event.spec.name != e)
    {
        return false;
    }
    let Some(pattern) = &options.consumer else {
        return true;
    };
    let envelope = json!({
        "source": event.spec.source,
        "detail-type": event.spec.detail_type,
        "detail": serde_json::from_str::<Value>(&event.detail).unwrap_or_default(),
    });
    pattern.matches(&envelope)
}

/// Runs a backfill.
pub struct Backfill<'a, M, P> {
    /// The relay's mappings.
    pub mapper: &'a M,
    /// Where events go.
    pub publisher: &'a P,
    /// The relay's settings; `extra_resource` is set to the run's marker.
    pub relay: Options,
    /// DynamoDB.
    pub config: &'a aws_config::SdkConfig,
    /// What to do.
    pub options: BackfillOptions,
}

/// Shared progress of the segments.
#[derive(Default)]
struct Progress {
    items: AtomicU64,
    events: AtomicU64,
}

impl<M: Mapper, P: Publisher> Backfill<'_, M, P> {
    /// Scans, publishes, checkpoints; progress on stderr.
    pub async fn run(mut self) -> Result<BackfillSummary, LocalError> {
        let table = self.options.table.name.clone();
        let state = self.load_checkpoint()?;
        self.relay.extra_resource = Some(format!("urn:outbox:backfill:{}", state.run));
        let dynamodb = aws_sdk_dynamodb::Client::new(self.config);
        let total = dynamodb
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .map_err(aws_error("DescribeTable"))?
            .table()
            .and_then(|t| t.item_count())
            .unwrap_or(0);
        let stream_arn = format!(
            "arn:aws:dynamodb:us-east-1:000000000000:table/{table}/stream/backfill-{}",
            state.run
        );
        let started = Instant::now();
        let progress = Progress::default();
        let checkpoint = Mutex::new(state.clone());
        let segments = (0..state.segments.len()).map(|n| {
            self.segment(
                &dynamodb,
                n,
                &state.run,
                &stream_arn,
                &checkpoint,
                &progress,
                started,
            )
        });
        let report = async {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                eprintln!("{}", progress_line(&progress, total, started));
            }
        };
        tokio::select! {
            result = try_join_all(segments) => { result?; }
            () = report => {}
        }
        eprintln!("{}", progress_line(&progress, total, started));
        Ok(BackfillSummary {
            run: state.run,
            items: progress.items.load(Ordering::Relaxed),
            events: progress.events.load(Ordering::Relaxed),
            seconds: started.elapsed().as_secs_f64(),
            dry_run: self.options.dry_run,
        })
    }

    /// The checkpoint to resume from, or a new run's.
    fn load_checkpoint(&self) -> Result<BackfillCheckpoint, LocalError> {
        let table = &self.options.table.name;
        let fresh = || BackfillCheckpoint {
            run: run_id(),
            table: table.clone(),
            segments: (0..self.options.segments)
                .map(|_| Segment {
                    after: None,
                    done: false,
                })
                .collect(),
        };
        let Some(path) = self
            .options
            .checkpoint
            .as_ref()
            .filter(|_| !self.options.dry_run)
        else {
            return Ok(fresh());
        };
        let bad = |message: String| LocalError::Aws {
            operation: "the backfill checkpoint",
            message: format!("{}: {message}", path.display()),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let state: BackfillCheckpoint =
                    serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
                if state.table != *table {
                    return Err(bad(format!(
                        "it is the checkpoint of a backfill of {}, not {table}",
                        state.table
                    )));
                }
                Ok(state)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(fresh()),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    /// Scans segment `n` from its checkpointed position to its end.
    #[allow(clippy::too_many_arguments)]
    async fn segment(
        &self,
        dynamodb: &aws_sdk_dynamodb::Client,
        n: usize,
        run: &str,
        stream_arn: &str,
        checkpoint: &Mutex<BackfillCheckpoint>,
        progress: &Progress,
        started: Instant,
    ) -> Result<(), LocalError> {
        let (mut after, done) = {
            let state = checkpoint.lock().expect("checkpoint lock");
            (state.segments[n].after.clone(), state.segments[n].done)
        };
        if done {
            return Ok(());
        }
        let total = checkpoint.lock().expect("checkpoint lock").segments.len() as i32;
        let mapper = Filtered {
            mapper: self.mapper,
            keep: |m: &MappedEvent| wanted(&self.options, m),
        };
        loop {
            let start_key = after.as_ref().map(to_sdk).transpose()?;
            let page = dynamodb
                .scan()
                .table_name(&self.options.table.name)
                .segment(n as i32)
                .total_segments(total)
                .limit(PAGE)
                .consistent_read(true)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(aws_error("Scan"))?;
            let records: Vec<Value> = page
                .items()
                .iter()
                .enumerate()
                .map(|(i, item)| self.record(item, i, run, stream_arn))
                .collect();
            let mut total_events = progress.events.load(Ordering::Relaxed);
            if !records.is_empty() {
                let events = publish_or_print(
                    &mapper,
                    self.publisher,
                    &records,
                    &self.relay,
                    self.options.dry_run,
                )
                .await
                .map_err(|reason| LocalError::Aws {
                    operation: "backfill",
                    message: format!(
                        "a page of {} items: {reason}; run again to resume",
                        records.len()
                    ),
                })? as u64;
                progress
                    .items
                    .fetch_add(records.len() as u64, Ordering::Relaxed);
                total_events = progress.events.fetch_add(events, Ordering::Relaxed) + events;
            }
            after = page.last_evaluated_key().map(from_sdk);
            {
                let mut state = checkpoint.lock().expect("checkpoint lock");
                state.segments[n] = Segment {
                    after: after.clone(),
                    done: after.is_none(),
                };
                self.save(&state)?;
            }
            if let Some(rate) = self.options.rate.filter(|r| *r > 0.0) {
                // Keep the average at the rate, over all segments together (after the
                // checkpoint: a kill while waiting repeats nothing).
                let due = Duration::from_secs_f64(total_events as f64 / rate);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
            if after.is_none() {
                return Ok(());
            }
        }
    }

    /// An item as a stream record of its insertion, with an id of this run.
    fn record(
        &self,
        item: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
        index: usize,
        run: &str,
        stream_arn: &str,
    ) -> Value {
        let image: serde_json::Map<String, Value> = item
            .iter()
            .map(|(k, v)| {
                let value = serde_dynamo::AttributeValue::from(v.clone());
                (k.clone(), serde_json::to_value(value).unwrap_or_default())
            })
            .collect();
        let table = &self.options.table;
        let keys: serde_json::Map<String, Value> = std::iter::once(&table.partition_key)
            .chain(&table.sort_key)
            .filter_map(|k| image.get(&k.name).map(|v| (k.name.clone(), v.clone())))
            .collect();
        let key_text = serde_json::to_string(&keys).unwrap_or_default();
        let digest = sha2::Sha256::digest(format!("{}/{key_text}", table.name).as_bytes());
        let hash: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        json!({
            "eventID": format!("backfill-{run}-{hash}"),
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "eventSourceARN": stream_arn,
            "dynamodb": {
                "ApproximateCreationDateTime": now,
                "Keys": keys,
                "NewImage": image,
                // Its place in the page: a failure names its record.
                "SequenceNumber": format!("{:021}", index + 1),
                "StreamViewType": "NEW_IMAGE",
            },
        })
    }

    fn save(&self, state: &BackfillCheckpoint) -> Result<(), LocalError> {
        let Some(path) = self
            .options
            .checkpoint
            .as_ref()
            .filter(|_| !self.options.dry_run)
        else {
            return Ok(());
        };
        let text = serde_json::to_string_pretty(state).unwrap_or_default();
        write_atomically(path, &text).map_err(|e| LocalError::Aws {
            operation: "the backfill checkpoint",
            message: format!("{}: {e}", path.display()),
        })
    }
}

/// A new run's id: the time it started (UTC, to the second).
fn run_id() -> String {
    let now = aws_sdk_dynamodb::primitives::DateTime::from(std::time::SystemTime::now());
    let text = aws_sdk_dynamodb::primitives::DateTime::from_secs(now.secs())
        .fmt(aws_sdk_dynamodb::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default();
    text.replace([':', '-'], "")
        .trim_end_matches('Z')
        .to_owned()
}

/// `backfill: 1,200 of ~5,000 items (24%), 1,180 events, 850 events/s, ETA 4 s`.
fn progress_line(progress: &Progress, total: i64, started: Instant) -> String {
    let items = progress.items.load(Ordering::Relaxed);
    let events = progress.events.load(Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    let rate = items as f64 / seconds;
    let (share, eta) = if total > 0 {
        let left = (total as f64 - items as f64).max(0.0);
        (
            format!(" of ~{total} ({:.0}%)", 100.0 * items as f64 / total as f64),
            if rate > 0.0 {
                format!(", ETA {:.0} s", left / rate)
            } else {
                String::new()
            },
        )
    } else {
        (String::new(), String::new())
    };
    format!(
        "backfill: {items} items{share}, {events} events, {:.0} events/s{eta}",
        events as f64 / seconds
    )
}

/// A key in DynamoDB JSON, for the SDK.
fn to_sdk(
    key: &Value,
) -> Result<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>, LocalError> {
    let key: HashMap<String, serde_dynamo::AttributeValue> = serde_json::from_value(key.clone())
        .map_err(|e| LocalError::Aws {
            operation: "the backfill checkpoint",
            message: format!("a segment's key: {e}"),
        })?;
    Ok(key.into_iter().map(|(k, v)| (k, v.into())).collect())
}

/// A key from the SDK, in DynamoDB JSON.
fn from_sdk(key: &HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> Value {
    let key: HashMap<&String, serde_dynamo::AttributeValue> = key
        .iter()
        .map(|(k, v)| (k, serde_dynamo::AttributeValue::from(v.clone())))
        .collect();
    serde_json::to_value(key).unwrap_or_default()
}
