//! Packing entries into PutEvents requests.
//!
//! Requests go out through a sliding window (as many in flight as the shared
//! [`crate::publish::Limiter`] allows), and a new one starts as soon as one is answered. An entry goes out only when no earlier entry of
//! its item is still unpublished (in flight, or waiting to be retried), and a request never
//! holds two entries of one item, so an item's events reach EventBridge in stream order even
//! when an earlier one has to be retried; other items do not wait for it. Each request holds
//! at most 10 entries and at most the request size limit, counted the way EventBridge counts it.

use crate::entry::Entry;

/// PutEvents limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries per request (PutEvents allows 10).
    pub max_entries: usize,
    /// Bytes per request (PutEvents allows 1 MB since 2026-01; we stay at 1,000,000).
    pub max_request_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10,
            max_request_bytes: 1_000_000,
        }
    }
}

/// A request: positions of entries in the queue they were taken from.
pub type Request = Vec<usize>;

/// Queued entries [`next_request`] looks at for one request: enough to fill it past a run of
/// entries held back behind their items, few enough that one hot item cannot make every pick
/// a scan of the whole batch.
pub const LOOKAHEAD: usize = 1_024;

/// The next request to send from `queue` (entries waiting to go out, each item's in stream
/// order), as positions in it, in order: up to `max_entries` entries within
/// `max_request_bytes`, at most one per item, none of an item `busy` says has an entry in
/// flight, and none behind a queued entry of its own item. An entry that no longer fits ends
/// the request. Unless `partial`, a request that could still take more entries is not taken
/// (empty): more are being mapped. With `partial` and the first entry's item not busy, the
/// request holds at least that entry.
pub fn next_request<'e>(
    queue: impl IntoIterator<Item = &'e Entry>,
    busy: impl Fn(&str) -> bool,
    limits: Limits,
    partial: bool,
) -> Request {
    let mut request = Request::with_capacity(limits.max_entries);
    // The items of the entries taken: a later entry of one waits for the next request.
    let mut taken: Vec<&str> = Vec::with_capacity(limits.max_entries);
    let mut bytes = 0;
    for (position, entry) in queue.into_iter().take(LOOKAHEAD).enumerate() {
        let key = entry.item_key.as_str();
        if taken.contains(&key) || busy(key) {
            continue;
        }
        let size = entry.size();
        if !request.is_empty() && bytes + size > limits.max_request_bytes {
            return request;
        }
        request.push(position);
        taken.push(key);
        bytes += size;
        if request.len() == limits.max_entries {
            return request;
        }
    }
    if !partial {
        request.clear();
    }
    request
}

/// The requests `entries` go out in when each is answered before the next is picked, every
/// entry accepted: the order the mapping benchmark serializes them in. Indexes into `entries`.
pub fn requests(entries: &[Entry], limits: Limits) -> Vec<Vec<usize>> {
    let mut queue: Vec<usize> = (0..entries.len()).collect();
    let mut requests = Vec::new();
    while !queue.is_empty() {
        let positions = next_request(queue.iter().map(|&i| &entries[i]), |_| false, limits, true);
        requests.push(positions.iter().map(|&p| queue[p]).collect());
        let mut taken = positions.into_iter().peekable();
        let mut position = 0;
        queue.retain(|_| {
            let keep = taken.next_if_eq(&position).is_none();
            position += 1;
            keep
        });
    }
    requests
}
