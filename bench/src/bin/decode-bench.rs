//! `decode-bench EVENT_FILE [--iterations K] [--only READER]`: how fast serde_json, sonic-rs
//! and simd-json read a DynamoDB Streams batch, and whether each keeps the relay's guarantees.
//! Prints a Markdown table (medians over K runs; the last column against the first reader run)
//! and the checks. `--only` runs the readers whose name contains READER, alone: under callgrind,
//! a reader's instructions.
//!
//! Read into the same types by each parser (serde's `Deserialize`, so the comparison is the
//! parser, not the types): every record with its keys and both images as the relay's borrowed
//! `Item`s (`outbox_runtime::attribute::read`), and, for scale, an untyped value (each
//! parser's own DOM) and `IgnoredAny` (the scan alone). The relay's own one-pass read
//! (`record::decode_batch`: images decoded when read, in the one pass, or not at all) runs
//! beside them.
//! simd-json parses in place: its figures include copying the event into a buffer it may
//! change, as the relay would have to.

use std::borrow::Cow;
use std::hint::black_box;
use std::time::Instant;

use outbox_runtime::attribute::read::Item;
use outbox_runtime::record::{Image, ReadsImages, decode_batch};
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Deserialize)]
struct Batch<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<StreamRecord<'a>>,
}

#[derive(Deserialize)]
struct StreamRecord<'a> {
    #[serde(rename = "eventID", borrow)]
    event_id: Cow<'a, str>,
    #[serde(rename = "eventName", borrow)]
    event_name: Cow<'a, str>,
    #[serde(borrow)]
    dynamodb: Change<'a>,
}

#[derive(Deserialize)]
struct Change<'a> {
    #[serde(rename = "ApproximateCreationDateTime")]
    created: Option<f64>,
    #[serde(rename = "SequenceNumber", borrow)]
    sequence_number: Cow<'a, str>,
    #[serde(rename = "Keys", borrow)]
    keys: Item<'a>,
    #[serde(rename = "NewImage", default, borrow)]
    new_image: Option<Item<'a>>,
    #[serde(rename = "OldImage", default, borrow)]
    old_image: Option<Item<'a>>,
}

impl Batch<'_> {
    /// Something of every record, so nothing is optimized away.
    fn weight(&self) -> usize {
        self.records
            .iter()
            .map(|r| {
                r.event_id.len()
                    + r.event_name.len()
                    + r.dynamodb.sequence_number.len()
                    + r.dynamodb.created.map_or(0, |c| c as usize % 2)
                    + r.dynamodb.keys.len()
                    + r.dynamodb.new_image.as_ref().map_or(0, Item::len)
                    + r.dynamodb.old_image.as_ref().map_or(0, Item::len)
            })
            .sum()
    }
}

type Run<'t> = Box<dyn Fn(&'t str) -> Result<usize, String> + 't>;

/// The relay's read of the batch: the images `reads_images` picks decoded in the one pass, the
/// others when read (`read_images`: every image, else none).
fn relay_read(
    text: &str,
    reads_images: ReadsImages<'_>,
    read_images: bool,
) -> Result<usize, String> {
    let mut n = 0;
    for (record, _) in decode_batch(text, reads_images).map_err(|e| e.to_string())? {
        let record = record.map_err(|e| e.reason)?;
        n += record.keys.len();
        if read_images {
            n += record.image(Image::New).len() + record.image(Image::Old).len();
        }
    }
    Ok(n)
}

fn runs<'t>() -> Vec<(&'static str, Run<'t>)> {
    vec![
        (
            "relay (serde_json, one pass, images read)",
            Box::new(|text: &'t str| relay_read(text, &|_, _| false, true)),
        ),
        (
            "relay: every image decoded in the one pass",
            Box::new(|text: &'t str| relay_read(text, &|_, _| true, true)),
        ),
        (
            "relay: the one pass alone (no image read)",
            Box::new(|text: &'t str| relay_read(text, &|_, _| false, false)),
        ),
        (
            "serde_json, typed",
            Box::new(|text: &'t str| {
                serde_json::from_str::<Batch>(text)
                    .map(|b| b.weight())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "sonic-rs, typed",
            Box::new(|text: &'t str| {
                sonic_rs::from_str::<Batch>(text)
                    .map(|b| b.weight())
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "simd-json, typed (copy included)",
            Box::new(|text: &'t str| {
                let mut buffer = text.as_bytes().to_vec();
                // Owned: simd-json's borrowed strings would borrow the local buffer.
                let batch: Result<usize, _> =
                    simd_json::serde::from_slice::<Batch>(&mut buffer).map(|b| b.weight());
                batch.map_err(|e| e.to_string())
            }),
        ),
        (
            "serde_json, DOM (serde_json::Value)",
            Box::new(|text: &'t str| {
                serde_json::from_str::<serde_json::Value>(text)
                    .map(|v| v.as_object().map_or(0, |o| o.len()))
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "sonic-rs, DOM (sonic_rs::Value)",
            Box::new(|text: &'t str| {
                sonic_rs::from_str::<sonic_rs::Value>(text)
                    .map(|v| usize::from(sonic_rs::JsonValueTrait::is_object(&v)))
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "simd-json, borrowed DOM (copy included)",
            Box::new(|text: &'t str| {
                let mut buffer = text.as_bytes().to_vec();
                simd_json::to_borrowed_value(&mut buffer)
                    .map(|v| usize::from(simd_json::prelude::ValueAsScalar::as_bool(&v).is_none()))
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "serde_json, scan only (IgnoredAny)",
            Box::new(|text: &'t str| {
                serde_json::from_str::<IgnoredAny>(text)
                    .map(|_| 1)
                    .map_err(|e| e.to_string())
            }),
        ),
        (
            "sonic-rs, scan only (IgnoredAny)",
            Box::new(|text: &'t str| {
                sonic_rs::from_str::<IgnoredAny>(text)
                    .map(|_| 1)
                    .map_err(|e| e.to_string())
            }),
        ),
    ]
}

/// Inputs a production table's stream can carry, and what the relay's guarantees say of each:
/// (what, the event, whether a reader must refuse it).
fn guarantees() -> Vec<(&'static str, Vec<u8>, bool)> {
    let record = |image: &str| {
        format!(
            r#"{{"Records":[{{"eventID":"1","eventName":"INSERT","dynamodb":{{"ApproximateCreationDateTime":1700000000,"SequenceNumber":"100","Keys":{{"pk":{{"S":"USER#1"}}}},"NewImage":{image}}}}}]}}"#
        )
    };
    let mut invalid_utf8 = record(r#"{"pk":{"S":"USER#1"},"name":{"S":"AB"}}"#).into_bytes();
    let at = invalid_utf8.windows(2).position(|w| w == b"AB").unwrap();
    invalid_utf8[at] = 0xC3; // a lead byte followed by an ASCII byte: not UTF-8
    vec![
        (
            "a 38-digit N, kept as its text",
            record(r#"{"pk":{"S":"USER#1"},"n":{"N":"12345678901234567890123456789012345678"}}"#)
                .into_bytes(),
            false,
        ),
        (
            "an internationalized string with escapes",
            record(r#"{"pk":{"S":"USER#1"},"email":{"S":"\u00e9l\u00e8ve@\u0645\u062b\u0627\u0644.\u0645\u0635\u0631 \ud83d\ude00"}}"#)
                .into_bytes(),
            false,
        ),
        ("invalid UTF-8 in a string", invalid_utf8, true),
        (
            "a lone surrogate escape",
            record(r#"{"pk":{"S":"USER#1"},"s":{"S":"\ud800"}}"#).into_bytes(),
            true,
        ),
        (
            "a truncated event",
            record(r#"{"pk":{"S":"USER#1"}}"#).into_bytes()[..120].to_vec(),
            true,
        ),
    ]
}

fn n_text(batch: &Batch<'_>) -> Option<String> {
    batch.records[0]
        .dynamodb
        .new_image
        .as_ref()
        .and_then(|image| image.get("n").or_else(|| image.get("email")))
        .map(|value| format!("{value:?}"))
}

fn check_guarantees() -> Vec<String> {
    let mut lines = Vec::new();
    for (what, bytes, refuse) in guarantees() {
        let serde = std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Batch>(t).map_err(|e| e.to_string()))
            .map(|b| n_text(&b));
        let sonic = sonic_rs::from_slice::<Batch>(&bytes)
            .map_err(|e| e.to_string())
            .map(|b| n_text(&b));
        let mut buffer = bytes.clone();
        let simd = simd_json::serde::from_slice::<Batch>(&mut buffer)
            .map_err(|e| e.to_string())
            .map(|b| n_text(&b));
        let verdict = |result: &Result<Option<String>, String>| match (result, refuse) {
            (Err(_), true) => "refused (as it must)".to_owned(),
            (Ok(_), true) => "ACCEPTED (must refuse)".to_owned(),
            (Err(e), false) => format!("REFUSED (must read): {e}"),
            (Ok(text), false) if *text == serde.clone().ok().flatten() => {
                "read, same value as serde_json".to_owned()
            }
            (Ok(text), false) => format!("read, DIFFERENT value: {text:?}"),
        };
        lines.push(format!(
            "| {what} | {} | {} | {} |",
            verdict(&serde),
            verdict(&sonic),
            verdict(&simd)
        ));
    }
    lines
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .ok_or("usage: decode-bench EVENT_FILE [--iterations K] [--only READER]")?;
    let mut iterations = 20;
    let mut only = None;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} takes a value"))?;
        match flag.as_str() {
            "--iterations" => {
                iterations = value.parse().map_err(|e| format!("--iterations: {e}"))?;
            }
            "--only" => only = Some(value),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let megabytes = text.len() as f64 / 1e6;
    println!(
        "{file}: {megabytes:.1} MB, {} on {}, {iterations} runs each (medians)\n",
        std::env::consts::ARCH,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| Reader | median | MB/s | vs the first |");
    println!("|---|---|---|---|");
    let mut relay_ms = None;
    for (name, run) in runs() {
        if only.as_deref().is_some_and(|only| !name.contains(only)) {
            continue;
        }
        let expected = run(&text)?;
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            let got = black_box(run(black_box(&text)))?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(got, expected, "{name}: the same result every run");
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let relay = *relay_ms.get_or_insert(median);
        println!(
            "| {name} | {median:.2} ms | {:.0} | {:.2}x |",
            megabytes / (median / 1000.0),
            relay / median
        );
    }
    println!("\n| Input | serde_json | sonic-rs | simd-json |");
    println!("|---|---|---|---|");
    for line in check_guarantees() {
        println!("{line}");
    }
    Ok(())
}
