//! A page of records handed to the relay's handler outside a stream, as `relay redrive` and
//! `relay backfill` do: the mappings narrowed to the events wanted, then published, or printed
//! as entries with `--dry-run`.

use serde_json::{Value, json};

use outbox_runtime::attribute::read::Item;
use outbox_runtime::handler::{self, Mapper, Options};
use outbox_runtime::publish::Publisher;
use outbox_runtime::{MapError, MappedEvent, Operation, Record};

/// The relay's mappings, keeping only the mapped events `keep` accepts.
pub(crate) struct Filtered<'m, M, F> {
    pub mapper: &'m M,
    pub keep: F,
}

impl<M: Mapper, F: Fn(&MappedEvent) -> bool + Send + Sync> Mapper for Filtered<'_, M, F> {
    fn map(&self, record: &Record, out: &mut Vec<MappedEvent>) -> Result<(), MapError> {
        let start = out.len();
        self.mapper.map(record, out)?;
        let kept: Vec<MappedEvent> = out.drain(start..).filter(|m| (self.keep)(m)).collect();
        out.extend(kept);
        Ok(())
    }

    fn reads_images(&self, operation: Operation, keys: &Item) -> bool {
        self.mapper.reads_images(operation, keys)
    }
}

/// Publishes the events of `records` (or, with `dry_run`, prints their entries, one JSON line
/// each); how many, or why not (`kind: reason` of the first failed record).
pub(crate) async fn publish_or_print(
    mapper: &impl Mapper,
    publisher: &impl Publisher,
    records: &[Value],
    relay: &Options,
    dry_run: bool,
) -> Result<usize, String> {
    let batch = json!({ "Records": records }).to_string();
    let failed = |failure: &outbox_runtime::error::RecordError| {
        let kind = serde_json::to_value(failure.kind).unwrap_or_default();
        format!("{}: {}", kind.as_str().unwrap_or("failed"), failure.reason)
    };
    if dry_run {
        let prepared = handler::prepare(mapper, &batch, relay, None).map_err(|e| e.to_string())?;
        if let Some((_, failure)) = &prepared.failure {
            return Err(failed(failure));
        }
        for entry in &prepared.entries {
            println!("{}", serde_json::to_string(entry).unwrap_or_default());
        }
        return Ok(prepared.entries.len());
    }
    let outcome = handler::handle(mapper, publisher, &batch, relay, None, None)
        .await
        .map_err(|e| e.to_string())?;
    match &outcome.failure {
        Some(failure) => Err(failed(failure)),
        None => Ok(outcome.stats.published),
    }
}
