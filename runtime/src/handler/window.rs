//! Publishing through a sliding window of requests: a new request goes out as soon as one is
//! answered, an entry only when no earlier entry of its item is unpublished; answers are
//! booked, refused entries fail their record, retryable ones go back to the queue.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::entry::Entry;
use crate::publish::limiter::{Blocked, Permit};
use crate::publish::{EntryOutcome, Publisher, RequestError, Signal};

use super::prepare::{Preparer, STEP_RECORDS, STEP_RECORDS_SLOT_FREE};
use super::{BatchError, Mapper, Outcome};

/// One request in flight: it owns its entries and its slot in the window, and hands them back
/// with the answer, so an entry to retry goes back to the queue.
async fn send<'w>(
    publisher: &impl Publisher,
    request: Vec<Entry>,
    permit: Permit<'w>,
) -> (
    Vec<Entry>,
    Result<Vec<EntryOutcome>, RequestError>,
    Permit<'w>,
) {
    let result = {
        let entries: Vec<&Entry> = request.iter().collect();
        publisher.put_events(&entries).await
    };
    (request, result, permit)
}

/// What an answer says about the window.
fn signal(result: &Result<Vec<EntryOutcome>, RequestError>) -> Signal {
    match result {
        Ok(outcomes) => {
            let throttled = outcomes.iter().any(|o| {
                matches!(o, EntryOutcome::Failed { code, .. } if crate::publish::is_throttling(code))
            });
            if throttled {
                Signal::Throttled
            } else if outcomes.iter().any(EntryOutcome::retryable) {
                Signal::Failed
            } else {
                Signal::Clean
            }
        }
        Err(error) if error.throttled() => Signal::Throttled,
        Err(error) if error.timed_out() => Signal::TimedOut,
        Err(error) if error.retryable => Signal::Failed,
        // Refused for what it holds: nothing about the window.
        Err(_) => Signal::Clean,
    }
}

/// Publishes a batch while it is being mapped, through a sliding window of requests, and
/// answers for it.
pub(super) async fn publish<M: Mapper>(
    publisher: &impl Publisher,
    mut preparer: Preparer<'_, '_, M>,
    deadline: Option<Instant>,
) -> Result<Outcome, BatchError> {
    let options = preparer.options;
    let window = options.window.as_ref();
    let mut in_flight = FuturesUnordered::new();
    // Items with an entry in flight: their later entries wait.
    let mut busy: HashSet<String> = HashSet::new();
    // Attempts so far of the entries that had to be retried, by event id.
    let mut attempts: HashMap<String, u32> = HashMap::new();
    // Entries to retry, each answer's after its backoff: their items stay busy until then,
    // while other items go on.
    let mut waiting: Vec<(Instant, Vec<Entry>)> = Vec::new();
    // When an answer made the window back off (over the quota, a timeout, a server error),
    // nothing new goes out before its retries' backoff is over, as a throttled client should.
    let mut hold: Option<Instant> = None;
    loop {
        release_due(&mut waiting, &mut preparer, &mut busy);
        // Why the last request could not go out, when the window stopped it.
        let mut blocked = hold
            .filter(|until| Instant::now() < *until)
            .map(Blocked::Until);
        // Requests go out until the window, the quota share or the queue says stop.
        while blocked.is_none() {
            match window.try_acquire() {
                Err(why) => blocked = Some(why),
                Ok(mut permit) => {
                    let request = preparer.take_request(&busy);
                    if !request.is_empty() {
                        permit.spend(request.len());
                        busy.extend(request.iter().map(|e| e.item_key.clone()));
                        in_flight.push(send(publisher, request, permit));
                        continue;
                    }
                }
            }
            break;
        }
        let (request, result, permit) = if !preparer.done {
            // Map more while requests are in flight; mapping is synchronous, so yield in
            // between, which moves the connections along.
            match futures_util::future::poll_immediate(in_flight.next()).await {
                Some(Some(answer)) => answer,
                _ => {
                    let slot_free = !in_flight.is_empty() && blocked.is_none();
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
        } else {
            // Every record is mapped: wait for an answer, the end of a backoff or of the
            // quota share's wait, or a slot another batch frees.
            let backoff = waiting.iter().map(|(at, _)| *at).min();
            let wake = match blocked {
                Some(Blocked::Until(at)) => Some(backoff.map_or(at, |b| b.min(at))),
                _ => backoff,
            };
            let others = blocked == Some(Blocked::Full) && in_flight.is_empty();
            if in_flight.is_empty() && wake.is_none() && !others {
                // Nothing in flight, nothing waiting, every record mapped: the queue is
                // empty, or the pick above would have taken its first entry.
                debug_assert!(preparer.entries.is_empty());
                break;
            }
            let freed = window.freed();
            let mut freed = std::pin::pin!(freed);
            if others {
                freed.as_mut().enable();
                if window.has_room() {
                    continue;
                }
            }
            let sleep = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now).into());
            tokio::select! {
                Some(answer) = in_flight.next(), if !in_flight.is_empty() => answer,
                _ = sleep, if wake.is_some() => continue,
                _ = freed, if others => continue,
            }
        };
        let signal = signal(&result);
        let accepted = result.as_ref().map_or(0, |outcomes| {
            outcomes
                .iter()
                .filter(|o| **o == EntryOutcome::Accepted)
                .count()
        });
        let backed_off = permit.answered(signal, accepted);
        for entry in &request {
            busy.remove(&entry.item_key);
        }
        let answer = (request, result, signal);
        if let Some((at, again)) = settle(&mut preparer, &mut attempts, answer, deadline) {
            if backed_off {
                hold = hold.max(Some(at));
            }
            busy.extend(again.iter().map(|e| e.item_key.clone()));
            waiting.push((at, again));
        }
    }
    let Preparer {
        failure, mut stats, ..
    } = preparer;
    stats.window = window.window();
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

/// Puts the entries whose backoff is over back at the front of the queue (each is its item's
/// earliest entry not yet published), unless a failure before them ended the batch.
fn release_due<M: Mapper>(
    waiting: &mut Vec<(Instant, Vec<Entry>)>,
    preparer: &mut Preparer<'_, '_, M>,
    busy: &mut HashSet<String>,
) {
    if waiting.is_empty() {
        return;
    }
    let now = Instant::now();
    let mut index = 0;
    while index < waiting.len() {
        if waiting[index].0 > now {
            index += 1;
            continue;
        }
        let (_, entries) = waiting.swap_remove(index);
        for entry in entries.into_iter().rev() {
            busy.remove(&entry.item_key);
            if preparer
                .failure
                .as_ref()
                .is_none_or(|(r, _)| entry.record < *r)
            {
                preparer.entries.push_front(entry);
            }
        }
    }
}

/// Books an answered request: accepted entries are published, refused ones fail their record,
/// and those to retry are returned with the end of their backoff.
fn settle<M: Mapper>(
    preparer: &mut Preparer<'_, '_, M>,
    attempts: &mut HashMap<String, u32>,
    (request, result, signal): (Vec<Entry>, Result<Vec<EntryOutcome>, RequestError>, Signal),
    deadline: Option<Instant>,
) -> Option<(Instant, Vec<Entry>)> {
    let options = preparer.options;
    // The entries to retry, each with why this attempt failed.
    let mut retry: Vec<(Entry, String)> = Vec::new();
    match result {
        Ok(outcomes) => {
            for (entry, outcome) in request.into_iter().zip(outcomes) {
                if let EntryOutcome::Failed { code, .. } = &outcome
                    && crate::publish::is_throttling(code)
                {
                    preparer.stats.throttled += 1;
                }
                let retryable = outcome.retryable();
                match outcome {
                    EntryOutcome::Accepted => preparer.stats.published += 1,
                    EntryOutcome::Failed { code, message } if retryable => {
                        retry.push((entry, format!("{code}: {message}")));
                    }
                    EntryOutcome::Failed { code, message } => preparer.fail(
                        &entry,
                        format!("EventBridge rejected the event: {code}: {message}"),
                        false,
                    ),
                }
            }
        }
        Err(error) if error.retryable => {
            if error.throttled() {
                preparer.stats.throttled += request.len();
            }
            retry = request
                .into_iter()
                .map(|entry| (entry, error.message.clone()))
                .collect();
        }
        Err(error) => {
            for entry in &request {
                preparer.fail(entry, error.to_string(), false);
            }
        }
    }
    retry.retain(|(e, _)| preparer.failure.as_ref().is_none_or(|(r, _)| e.record < *r));
    if retry.is_empty() {
        return None;
    }
    // The entries of one answer are retried together, after one backoff.
    let attempt_of = |e: &Entry| attempts.get(e.id()).copied().unwrap_or(1) + 1;
    let attempt = retry.iter().map(|(e, _)| attempt_of(e)).max().unwrap_or(2);
    let delay = if signal == Signal::Throttled {
        options.retry.throttled_backoff(attempt)
    } else {
        options.retry.backoff(attempt)
    };
    let now = Instant::now();
    let out_of_time = deadline.is_some_and(|d| now + delay + options.retry.deadline_margin > d);
    let mut again = Vec::with_capacity(retry.len());
    for (entry, cause) in retry {
        let attempt = attempt_of(&entry);
        if attempt > options.retry.max_attempts || out_of_time {
            let why = if out_of_time {
                "the invocation ran out of time"
            } else {
                "retries ran out"
            };
            // The last attempt's cause says what to look at: a timeout, throttling, a status.
            let reason = format!("{why} after {} attempts; the last: {cause}", attempt - 1);
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
    let again = again
        .into_iter()
        .map(|(entry, attempt)| {
            attempts.insert(entry.id().to_owned(), attempt);
            entry
        })
        .collect();
    Some((now + delay, again))
}
