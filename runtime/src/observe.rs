//! What a relay tells its operators: structured logs (JSON under Lambda, never item contents)
//! and the per-invocation counts as CloudWatch metrics.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::handler::Stats;
use crate::settings::Defaults;

/// Logs go to stderr: JSON under Lambda (CloudWatch parses it), text elsewhere. Item contents
/// are never logged.
pub(crate) fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().without_time().try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}

/// With `OUTBOX_METRICS=emf`, the invocation's counts as a CloudWatch Embedded Metric Format
/// line (printed on stdout under Lambda, where CloudWatch reads it; on stderr locally, so stdout
/// stays the response).
pub(crate) fn metrics_line(defaults: Defaults, stats: &Stats) -> Option<String> {
    if std::env::var("OUTBOX_METRICS").as_deref() != Ok("emf") {
        return None;
    }
    let names = [
        "records",
        "skipped",
        "published",
        "retried",
        "throttled",
        "window",
        "failed",
        "deadLettered",
        "drifted",
    ];
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64,
            "CloudWatchMetrics": [{
                "Namespace": "Outbox",
                "Dimensions": [["Service"]],
                "Metrics": names.iter().map(|n| serde_json::json!({"Name": n, "Unit": "Count"})).collect::<Vec<_>>(),
            }],
        },
        "Service": defaults.service,
    });
    if let (Some(object), Ok(serde_json::Value::Object(counts))) =
        (line.as_object_mut(), serde_json::to_value(stats))
    {
        object.extend(counts);
    }
    Some(line.to_string())
}
