//! Property tests of request packing: whatever the entry sizes, counts and keys, no request
//! exceeds 10 entries or the size limit or holds an item twice, every entry is sent exactly
//! once, and an entry never goes out while an earlier one of its item is unpublished, in
//! whatever order the requests in flight are answered.

use std::collections::{HashMap, HashSet, VecDeque};

use outbox_runtime::entry::Entry;
use outbox_runtime::pack::{Limits, next_request, requests};
use proptest::prelude::*;

fn entry(record: usize, key: usize, detail_len: usize, with_time: bool) -> Entry {
    Entry {
        record,
        item_key: format!("t/{key}"),
        source: "s".into(),
        detail_type: "d".into(),
        detail: "x".repeat(detail_len),
        event_bus_name: "bus".into(),
        time: with_time.then_some(1),
        resources: vec![format!("urn:outbox:event:{record}")],
        trace_header: None,
        system_metadata: None,
    }
}

fn entries() -> impl Strategy<Value = (Vec<Entry>, Limits)> {
    (1usize..12, 200usize..5_000).prop_flat_map(|(keys, max_bytes)| {
        let limits = Limits {
            max_entries: 10,
            max_request_bytes: max_bytes,
        };
        let one = (0..keys, 0usize..(max_bytes - 40), any::<bool>());
        (proptest::collection::vec(one, 0..300), Just(limits)).prop_map(|(specs, limits)| {
            let entries = specs
                .into_iter()
                .enumerate()
                .map(|(i, (key, len, time))| entry(i, key, len, time))
                .collect();
            (entries, limits)
        })
    })
}

/// Checks one request against the limits: not empty, at most `max_entries` entries within the
/// size limit, no item twice.
fn check_request(request: &[&Entry], limits: Limits) -> Result<(), TestCaseError> {
    prop_assert!(!request.is_empty());
    prop_assert!(request.len() <= limits.max_entries);
    let bytes: usize = request.iter().map(|e| e.size()).sum();
    prop_assert!(bytes <= limits.max_request_bytes, "{} bytes", bytes);
    let keys: HashSet<&str> = request.iter().map(|e| e.item_key.as_str()).collect();
    prop_assert_eq!(keys.len(), request.len(), "an item twice in one request");
    Ok(())
}

proptest! {
    #[test]
    fn requests_respect_every_limit_and_keep_item_order((entries, limits) in entries()) {
        let requests = requests(&entries, limits);
        let mut sent = Vec::new();
        for request in &requests {
            check_request(&request.iter().map(|&i| &entries[i]).collect::<Vec<_>>(), limits)?;
            sent.extend(request);
        }
        // Every entry once; each item's in order.
        let mut sorted = sent.clone();
        sorted.sort_unstable();
        prop_assert_eq!(sorted, (0..entries.len()).collect::<Vec<_>>());
        let mut last: HashMap<&str, usize> = HashMap::new();
        for &i in &sent {
            let entry: &Entry = &entries[i];
            if let Some(previous) = last.insert(&entry.item_key, i) {
                prop_assert!(previous < i, "item {} out of order", entry.item_key);
            }
        }
    }

    /// The window as the handler drives it: requests answered in any order, some entries
    /// refused and queued again at the front. An entry never goes out while an earlier entry
    /// of its item is unpublished, and every entry is published once.
    #[test]
    fn a_window_answered_in_any_order_keeps_item_order(
        (entries, limits) in entries(),
        window in 1usize..64,
        choices in proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>(), any::<bool>()), 2_000),
    ) {
        let mut queue: VecDeque<usize> = (0..entries.len()).collect();
        let mut in_flight: Vec<Vec<usize>> = Vec::new();
        let mut published: Vec<usize> = Vec::new();
        let mut choices = choices.into_iter().cycle();
        while !(queue.is_empty() && in_flight.is_empty()) {
            let (pick, refuse, more) = choices.next().unwrap();
            let busy: HashSet<&str> = in_flight.iter().flatten().map(|&i| entries[i].item_key.as_str()).collect();
            if in_flight.len() < window && (more || in_flight.is_empty()) {
                let positions = next_request(queue.iter().map(|&i| &entries[i]), |k| busy.contains(k), limits, true);
                if !positions.is_empty() {
                    let request: Vec<usize> = positions.iter().map(|&p| queue[p]).collect();
                    check_request(&request.iter().map(|&i| &entries[i]).collect::<Vec<_>>(), limits)?;
                    for &i in &request {
                        let earlier_unpublished = (0..i).any(|j| {
                            entries[j].item_key == entries[i].item_key && !published.contains(&j)
                        });
                        prop_assert!(!earlier_unpublished, "entry {} went out before an earlier one of its item", i);
                    }
                    for &p in positions.iter().rev() {
                        queue.remove(p);
                    }
                    in_flight.push(request);
                    continue;
                }
            }
            prop_assert!(!in_flight.is_empty(), "nothing in flight and nothing to send");
            let answered = in_flight.swap_remove(pick.index(in_flight.len()));
            let (refused, accepted) = answered.split_at(if refuse { answered.len() / 2 } else { 0 });
            published.extend(accepted);
            for &i in refused.iter().rev() {
                queue.push_front(i);
            }
        }
        published.sort_unstable();
        prop_assert_eq!(published, (0..entries.len()).collect::<Vec<_>>());
    }

    #[test]
    fn a_request_waits_for_more_entries_unless_partial((entries, limits) in entries()) {
        let full = next_request(&entries, |_| false, limits, false);
        let any = next_request(&entries, |_| false, limits, true);
        prop_assert!(full.is_empty() || full == any);
        if !entries.is_empty() {
            prop_assert_eq!(any.first(), Some(&0));
        }
        if full.is_empty() {
            prop_assert!(any.len() < limits.max_entries, "a full request was held back");
        }
    }
}

#[test]
fn entry_size_is_counted_as_eventbridge_counts_it() {
    let e = entry(0, 0, 100, true);
    assert_eq!(e.size(), 14 + 1 + 1 + 100 + "urn:outbox:event:0".len());
    let mut unicode = entry(0, 0, 0, false);
    unicode.detail = "é".into();
    assert_eq!(
        unicode.size(),
        1 + 1 + 2 + "urn:outbox:event:0".len(),
        "UTF-8 bytes, not characters"
    );
}
