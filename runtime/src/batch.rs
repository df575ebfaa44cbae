//! Packing entries into PutEvents requests.
//!
//! Requests go out in waves: the requests of one wave are in flight together, and the next wave
//! starts when the previous one is done (retries included). A wave never holds two entries of
//! the same item, so an item's events reach EventBridge in stream order even when an earlier
//! one has to be retried. Each request holds at most 10 entries and at most the request size
//! limit, counted the way EventBridge counts it.

use std::collections::HashSet;

use crate::entry::Entry;

/// PutEvents limits and how many requests may be in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries per request (PutEvents allows 10).
    pub max_entries: usize,
    /// Bytes per request (PutEvents allows 1 MB since 2026-01; we stay at 1,000,000).
    pub max_request_bytes: usize,
    /// Requests in flight at once.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10,
            max_request_bytes: 1_000_000,
            max_in_flight: 8,
        }
    }
}

/// A request: indexes into the entries.
pub type Request = Vec<usize>;

/// Requests sent together.
pub type Wave = Vec<Request>;

/// Packs `entries` (each no larger than a request) into waves of requests, in order.
pub fn waves(entries: &[Entry], limits: Limits) -> Vec<Wave> {
    let mut waves = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let (mut wave, _) = first_wave(&entries[start..], limits);
        let taken: usize = wave.iter().map(Vec::len).sum();
        wave.iter_mut().flatten().for_each(|index| *index += start);
        waves.push(wave);
        start += taken;
    }
    waves
}

/// The first wave of `entries` (indexes from the first entry), and whether it is complete: the
/// entry after it starts another wave. An incomplete wave took every entry and could take more.
pub fn first_wave<'e>(
    entries: impl IntoIterator<Item = &'e Entry>,
    limits: Limits,
) -> (Wave, bool) {
    let mut wave: Wave = Vec::new();
    let mut keys: HashSet<&str> = HashSet::new();
    let mut request: Request = Vec::new();
    let mut bytes = 0;
    for (index, entry) in entries.into_iter().enumerate() {
        let size = entry.size();
        let request_full = request.len() == limits.max_entries
            || (!request.is_empty() && bytes + size > limits.max_request_bytes);
        let repeats_key = keys.contains(entry.item_key.as_str());
        if repeats_key || (request_full && wave.len() + 1 == limits.max_in_flight) {
            if !request.is_empty() {
                wave.push(request);
            }
            return (wave, true);
        }
        if request_full {
            wave.push(std::mem::take(&mut request));
            bytes = 0;
        }
        request.push(index);
        bytes += size;
        keys.insert(&entry.item_key);
    }
    if !request.is_empty() {
        wave.push(request);
    }
    (wave, false)
}

/// Packs the entries at `indices` (in order, distinct items) into requests.
pub fn pack(indices: &[usize], entries: &[Entry], limits: Limits) -> Vec<Request> {
    let mut requests = Vec::new();
    let mut request: Request = Vec::new();
    let mut bytes = 0;
    for &index in indices {
        let size = entries[index].size();
        if request.len() == limits.max_entries
            || (!request.is_empty() && bytes + size > limits.max_request_bytes)
        {
            requests.push(std::mem::take(&mut request));
            bytes = 0;
        }
        request.push(index);
        bytes += size;
    }
    if !request.is_empty() {
        requests.push(request);
    }
    requests
}
