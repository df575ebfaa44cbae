//! `relay replay`: sends what the Classic bus's archive holds for a time range to one consumer's
//! rule again (`StartReplay` with the rule as the only destination), waits for the replay and
//! reports. Replayed events carry `replay-name`; their `resources[0]` is the original event id,
//! so a consumer that deduplicates by it sees nothing twice unless it forgets on purpose.

use std::time::Duration;

use aws_sdk_eventbridge::primitives::{DateTime, DateTimeFormat};
use aws_sdk_eventbridge::types::{ReplayDestination, ReplayState};
use serde::Serialize;

use crate::{LocalError, LocalStack, aws_error};

/// What a replay did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplaySummary {
    /// The replay's name.
    pub replay: String,
    /// `COMPLETED`, `FAILED` or `CANCELLED`.
    pub state: String,
    /// The rule it sent to.
    pub rule: String,
    /// The range, as given.
    pub from: String,
    /// The end of the range.
    pub to: String,
    /// Why it failed, if it did.
    pub reason: Option<String>,
}

/// Parses an RFC 3339 time (`2026-12-01T00:00:00Z`).
pub fn parse_time(text: &str) -> Option<DateTime> {
    DateTime::from_str(text, DateTimeFormat::DateTime).ok()
}

/// Starts the replay of `[from, to)` to `consumer`'s rule and waits for it (progress on stderr).
pub async fn replay(
    config: &aws_config::SdkConfig,
    stack: &LocalStack,
    consumer: &str,
    from: DateTime,
    to: DateTime,
) -> Result<ReplaySummary, LocalError> {
    let events = aws_sdk_eventbridge::Client::new(config);
    let archive = stack.archive.as_ref().ok_or_else(|| LocalError::Aws {
        operation: "replay",
        message: "the bus has no archive (`bus.archive-days` is 0, or the bus is a Custom Event Bus: start a subscriber at a point in time with `start-at`)".into(),
    })?;
    let rule = stack
        .consumers
        .iter()
        .find(|c| c.name == consumer)
        .map(|c| c.rule_name.clone())
        .ok_or_else(|| LocalError::Aws {
            operation: "replay",
            message: format!("no consumer {consumer}"),
        })?;
    let bus = stack.bus_name();
    let rule_arn = events
        .describe_rule()
        .name(&rule)
        .event_bus_name(bus)
        .send()
        .await
        .map_err(aws_error("DescribeRule"))?
        .arn()
        .unwrap_or_default()
        .to_owned();
    let bus_arn = crate::dev::bus_arn(&events, bus).await?;
    let archive_arn = events
        .describe_archive()
        .archive_name(&archive.name)
        .send()
        .await
        .map_err(aws_error("DescribeArchive"))?
        .archive_arn()
        .unwrap_or_default()
        .to_owned();
    let stamp = DateTime::from(std::time::SystemTime::now()).secs();
    // Replay names: 64 characters at most; the consumer's rule and when it started.
    let mut name = format!("{rule}-{stamp}");
    name.truncate(64);
    let destination = ReplayDestination::builder()
        .arn(bus_arn)
        .filter_arns(rule_arn)
        .build()
        .map_err(|e| LocalError::Aws {
            operation: "StartReplay",
            message: e.to_string(),
        })?;
    events
        .start_replay()
        .replay_name(&name)
        .description(format!("outbox: {consumer} again"))
        .event_source_arn(archive_arn)
        .event_start_time(from)
        .event_end_time(to)
        .destination(destination)
        .send()
        .await
        .map_err(aws_error("StartReplay"))?;
    let text = |t: DateTime| t.fmt(DateTimeFormat::DateTime).unwrap_or_default();
    loop {
        let described = events
            .describe_replay()
            .replay_name(&name)
            .send()
            .await
            .map_err(aws_error("DescribeReplay"))?;
        let state = described.state().cloned().unwrap_or(ReplayState::Starting);
        let done = matches!(
            state,
            ReplayState::Completed | ReplayState::Failed | ReplayState::Cancelled
        );
        eprintln!(
            "replay {name}: {}{}",
            state.as_str(),
            described
                .event_last_replayed_time()
                .map(|t| format!(", replayed up to {}", text(*t)))
                .unwrap_or_default()
        );
        if done {
            return Ok(ReplaySummary {
                replay: name,
                state: state.as_str().to_owned(),
                rule,
                from: text(from),
                to: text(to),
                reason: described.state_reason().map(str::to_owned),
            });
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
