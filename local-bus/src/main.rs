//! `outbox-local-bus`: runs the local EventBridge (with the faults asked for) until killed, printing its
//! endpoint URL on the first line of stdout.
//!
//! `outbox-local-bus [--port P] [--throttle F] [--throttle-requests F] [--fail-requests F] [--drop F] [--seed N]
//! [--latency-ms MIN[-MAX]] [--quota ENTRIES_PER_S] [--count-only] [--arrivals FILE]`
//!
//! `--latency-ms`: answer every request after MIN ms, or after a time drawn uniformly between MIN
//! and MAX ms (the latency of a real service, for benchmarks).
//! `--quota`: throttle entries beyond this many per second (a token bucket of a tenth of a
//! second), as EventBridge throttles a caller over its account's quota.
//! `--count-only`: count accepted entries instead of keeping them (benchmarks).
//! `--dedup-window-s S`: how long the new bus answers `DEDUPLICATED` to a repeated event
//! (default 300, as at AWS; 0 for benchmarks that publish the same batch again and again).
//! `--arrivals FILE`: a JSON line per accepted entry, when its request was answered (`ms` since
//! the epoch) and its `detail` (the write-to-consumer latency benchmark).

use std::time::Duration;

use outbox_local_bus::{Faults, LocalEventBridge};

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let number = |name: &str| {
        flag(&args, name)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // `--latency-ms 5-15`: from 5 to 15 ms; `--latency-ms 10`: 10 ms.
    let latency = flag(&args, "--latency-ms").map(|spec| {
        let (min, max) = spec.split_once('-').unwrap_or((&spec, &spec));
        let ms = |v: &str| Duration::from_secs_f64(v.parse::<f64>().unwrap_or(0.0) / 1000.0);
        (ms(min), ms(max).saturating_sub(ms(min)))
    });
    let faults = Faults {
        throttle_entries: number("--throttle"),
        throttle_requests: number("--throttle-requests"),
        quota: flag(&args, "--quota").and_then(|v| v.parse().ok()),
        fail_requests: number("--fail-requests"),
        drop_connections: number("--drop"),
        seed: number("--seed") as u64,
        slow_requests: if latency.is_some() { 1.0 } else { 0.0 },
        slow_delay: latency.map(|(min, _)| min).unwrap_or_default(),
        slow_jitter: latency.map(|(_, spread)| spread).unwrap_or_default(),
        count_only: args.iter().any(|a| a == "--count-only"),
        dedup_window: flag(&args, "--dedup-window-s")
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(300), Duration::from_secs),
        arrivals: flag(&args, "--arrivals").map(Into::into),
        ..Faults::default()
    };
    let port = flag(&args, "--port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let fake = LocalEventBridge::start_on(port, faults).await?;
    // Listening for SIGINT before the endpoint is out: one sent as soon as a request was
    // answered must not find the default action (exit, unreported) still in place.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    println!("{}", fake.endpoint());
    interrupt.recv().await;
    eprintln!(
        "accepted {} entries in {} requests",
        fake.log().accepted_count,
        fake.log().requests
    );
    Ok(())
}
