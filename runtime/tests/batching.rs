//! Property tests of request packing: whatever the entry sizes, counts and keys, no request
//! exceeds 10 entries or the size limit, every entry is sent exactly once and in order, and a
//! wave never holds two entries of the same item.

use std::collections::HashSet;

use outbox_runtime::batch::{Limits, pack, waves};
use outbox_runtime::entry::Entry;
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
    }
}

fn entries() -> impl Strategy<Value = (Vec<Entry>, Limits)> {
    (1usize..12, 200usize..5_000, 1usize..6).prop_flat_map(|(keys, max_bytes, in_flight)| {
        let limits = Limits {
            max_entries: 10,
            max_request_bytes: max_bytes,
            max_in_flight: in_flight,
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

proptest! {
    #[test]
    fn waves_respect_every_limit((entries, limits) in entries()) {
        let waves = waves(&entries, limits);
        let mut sent = Vec::new();
        for wave in &waves {
            prop_assert!(!wave.is_empty());
            prop_assert!(wave.len() <= limits.max_in_flight);
            let mut keys = HashSet::new();
            for request in wave {
                prop_assert!(!request.is_empty());
                prop_assert!(request.len() <= limits.max_entries);
                let bytes: usize = request.iter().map(|&i| entries[i].size()).sum();
                prop_assert!(bytes <= limits.max_request_bytes, "{} bytes", bytes);
                for &i in request {
                    prop_assert!(keys.insert(entries[i].item_key.clone()), "item twice in a wave");
                    sent.push(i);
                }
            }
        }
        prop_assert_eq!(sent, (0..entries.len()).collect::<Vec<_>>());
    }

    #[test]
    fn retries_are_packed_within_limits((entries, limits) in entries(), keep in proptest::collection::vec(any::<bool>(), 300)) {
        let subset: Vec<usize> = (0..entries.len()).filter(|&i| keep[i]).collect();
        let requests = pack(&subset, &entries, limits);
        let flat: Vec<usize> = requests.iter().flatten().copied().collect();
        prop_assert_eq!(flat, subset);
        for request in &requests {
            prop_assert!(request.len() <= limits.max_entries);
            prop_assert!(request.iter().map(|&i| entries[i].size()).sum::<usize>() <= limits.max_request_bytes);
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
