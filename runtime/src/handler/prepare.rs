//! Decoding and mapping a batch a few records at a time, so that publishing can start with the
//! first entries: the entries in order, each record's sequence number, and poison records.

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};

use crate::entry::{
    Drift, Entry, ID_RESOURCE_PREFIX, MappedEvent, SystemMetadata, event_id, system_id,
};
use crate::error::{FailureKind, RecordError};
use crate::pack;
use crate::record::Record;

use super::{BatchError, Mapper, Options, POISON_DETAIL_TYPE, PoisonPolicy, Stats};

/// Records mapped per step while every slot of the window is busy (about 40 µs of work): small
/// enough that an answered request is replaced promptly (8 to 24 records per step measured
/// alike, 96 and more up to 15% slower one request at a time), large enough to keep yielding
/// cheap.
pub(super) const STEP_RECORDS: usize = 16;

/// Records mapped per step while a slot is free: the next request waits on mapping, not on an
/// answer, so the connections are looked at less often (each look is a trip through the
/// runtime and the kernel; with 8 in flight, 128 records per step took 10-15% less CPU than 16
/// on the 10,000-record batch).
pub(super) const STEP_RECORDS_SLOT_FREE: usize = 128;

/// A batch being decoded and mapped a few records at a time, so that publishing can start
/// with the first entries and mapping goes on while requests are in flight.
pub(super) struct Preparer<'a, 'p, M> {
    pub(super) mapper: &'p M,
    pub(super) options: &'p Options,
    pub(super) trace_header: Option<&'p str>,
    pub(super) records: std::iter::Enumerate<crate::record::Records<'a>>,
    /// Scratch space for one record's events.
    pub(super) mapped: Vec<MappedEvent>,
    /// Entries mapped and not sent yet (or to be retried), each item's in record order.
    pub(super) entries: VecDeque<Entry>,
    /// Each record's sequence number (when it could be read), for the records mapped so far.
    pub(super) sequence_numbers: Vec<Option<Cow<'a, str>>>,
    /// The first failed record so far: a poison record, or (while publishing) a record an
    /// entry of which could not be published.
    pub(super) failure: Option<(usize, RecordError)>,
    pub(super) stats: Stats,
    /// No record is left to map, or mapping stopped at a failure.
    pub(super) done: bool,
}

impl<'a, 'p, M: Mapper> Preparer<'a, 'p, M> {
    pub(super) fn new(
        mapper: &'p M,
        event: &'a str,
        options: &'p Options,
        trace_header: Option<&'p str>,
    ) -> Result<Self, BatchError> {
        let records = crate::record::decode_batch(event, &|operation, keys| {
            mapper.reads_images(operation, keys)
        })?;
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
    pub(super) fn step(&mut self, count: usize) {
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
                    &mut self.stats,
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
                            self.entries.push_back(poison_entry(
                                index,
                                ids,
                                &error,
                                self.options,
                                None,
                            ));
                            self.stats.dead_lettered += 1;
                        }
                    }
                }
            }
        }
    }

    /// Takes the next request to send out of the mapped entries (see [`pack::next_request`]):
    /// a request that could take more entries waits while records are left to map. Entries of
    /// records at or after the failed record are dropped first: nothing after it is sent.
    pub(super) fn take_request(&mut self, busy: &HashSet<String>) -> Vec<Entry> {
        if let Some((failed, _)) = &self.failure {
            let failed = *failed;
            self.entries.retain(|e| e.record < failed);
        }
        let positions = pack::next_request(
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
    pub(super) fn fail(&mut self, entry: &Entry, reason: String, retryable: bool) {
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
    stats: &mut Stats,
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
    entries_for(record, index, mapped, options, trace_header, stats)
}

/// What a poison-record event says about where the record is.
#[derive(Debug, Default, serde::Deserialize)]
struct PoisonIds {
    #[serde(rename = "eventID")]
    event_id: Option<String>,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: Option<String>,
    #[serde(rename = "eventName")]
    event_name: Option<String>,
}

impl PoisonIds {
    /// From a record that decoded.
    fn of(record: &Record) -> Self {
        PoisonIds {
            event_id: Some(record.event_id.to_string()),
            event_source_arn: record.event_source_arn.as_deref().map(str::to_owned),
            event_name: Some(record.operation.as_str().to_owned()),
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
    stats: &mut Stats,
) -> Result<Vec<Entry>, RecordError> {
    if mapped.is_empty() {
        return Ok(Vec::new());
    }
    let item_key = format!(
        "{}/{}",
        record.table,
        serde_json::to_string(&crate::attribute::write::ItemExcept {
            item: &record.keys,
            except: &[]
        })
        .unwrap_or_default()
    );
    let mut entries = Vec::with_capacity(mapped.len());
    for event in mapped.drain(..) {
        if options.validate
            && let Err(reason) = event.check()
        {
            let error = RecordError {
                sequence_number: record.sequence_number_owned(),
                kind: FailureKind::Schema,
                retryable: false,
                reason,
            };
            match options.drift_override.unwrap_or(event.spec.drift) {
                Drift::Stop => return Err(error),
                Drift::Publish => {
                    tracing::warn!(record = index, sequence_number = ?error.sequence_number, reason = %error.reason, "drifted event published");
                    stats.drifted += 1;
                }
                Drift::DeadLetter => {
                    tracing::warn!(record = index, sequence_number = ?error.sequence_number, reason = %error.reason, "drifted event dead-lettered");
                    let ids = PoisonIds::of(record);
                    let keys = serde_json::to_value(crate::attribute::write::ItemExcept {
                        item: &record.keys,
                        except: &[],
                    })
                    .unwrap_or_default();
                    let drifted = Drifted {
                        event: event.spec.name,
                        keys,
                        id: event_id(&record.event_id, event.spec),
                        item_key: item_key.clone(),
                    };
                    let letter = poison_entry(index, ids, &error, options, Some(drifted));
                    entries.push(letter);
                    stats.dead_lettered += 1;
                    continue;
                }
            }
        }
        entries.push({
            let id = event_id(&record.event_id, event.spec);
            let (item_key, trace_header, system_metadata) = if options.system_metadata {
                // Ordered per group (the aggregate), which may span items; deduplicated by id.
                let group = system_id(
                    event
                        .spec
                        .group
                        .of(record)
                        .unwrap_or_else(|| item_key.clone()),
                );
                let metadata = SystemMetadata {
                    event_group_id: group.clone(),
                    deduplication_id: system_id(id.clone()),
                };
                (format!("group/{group}"), None, Some(metadata))
            } else {
                (item_key.clone(), trace_header.map(str::to_owned), None)
            };
            let entry = Entry {
                record: index,
                item_key,
                source: event.spec.source.to_owned(),
                detail_type: event.spec.detail_type.to_owned(),
                detail: event.detail,
                event_bus_name: options.bus.clone(),
                time: record.time,
                resources: std::iter::once(format!("{ID_RESOURCE_PREFIX}{id}"))
                    .chain(options.extra_resource.clone())
                    .collect(),
                trace_header,
                system_metadata,
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
            entry
        });
    }
    Ok(entries)
}

/// The dead-letter event for a poison record: where it is and why it failed, not its contents.
/// What a dead letter says of the drifted event it stands for.
struct Drifted {
    /// The event's name.
    event: &'static str,
    /// The item's keys.
    keys: serde_json::Value,
    /// The event's id.
    id: String,
    /// The item, so the letter keeps its place among the item's events.
    item_key: String,
}

/// The dead-letter event for a poison record or a drifted event: where the record is and why
/// it failed (for a drifted event, which event and the item's keys), never its contents.
fn poison_entry(
    index: usize,
    ids: PoisonIds,
    error: &RecordError,
    options: &Options,
    drifted: Option<Drifted>,
) -> Entry {
    let mut detail = serde_json::json!({
        "sequenceNumber": error.sequence_number,
        "eventID": ids.event_id,
        "eventSourceARN": ids.event_source_arn,
        "eventName": ids.event_name,
        "kind": error.kind,
        "reason": error.reason,
    });
    let (item_key, id) = match drifted {
        Some(drifted) => {
            detail["event"] = drifted.event.into();
            detail["keys"] = drifted.keys;
            (drifted.item_key, format!("{}:dead-letter", drifted.id))
        }
        None => (
            format!("poison/{index}"),
            format!(
                "{}:poison",
                ids.event_id.unwrap_or_else(|| format!("record-{index}"))
            ),
        ),
    };
    let system_metadata = options.system_metadata.then(|| SystemMetadata {
        event_group_id: system_id(item_key.clone()),
        deduplication_id: system_id(id.clone()),
    });
    Entry {
        record: index,
        item_key,
        source: options.dead_letter_source.clone(),
        detail_type: POISON_DETAIL_TYPE.to_owned(),
        detail: detail.to_string(),
        event_bus_name: options.bus.clone(),
        time: None,
        resources: vec![format!("{ID_RESOURCE_PREFIX}{id}")],
        trace_header: None,
        system_metadata,
    }
}
