//! Errors of the relay, each saying which record (sequence number) and field it concerns and
//! whether retrying can help.

use std::fmt;

/// A mapping could not produce its event from a record: a field has the wrong type, a required
/// attribute is missing, a number cannot be represented. Never retryable: the record is poison.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event}.{field}: {message}")]
pub struct MapError {
    /// The event being mapped.
    pub event: &'static str,
    /// The detail field (or `when` condition) that failed.
    pub field: &'static str,
    /// What was wrong with the record.
    pub message: String,
}

impl MapError {
    /// An error of `event`'s `field`.
    pub fn new(event: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        MapError {
            event,
            field,
            message: message.into(),
        }
    }
}

/// Why a record failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The record did not decode.
    Decode,
    /// A mapping failed on it.
    Map,
    /// An event built from it is larger than PutEvents accepts.
    TooLarge,
    /// An event built from it breaks the event's schema.
    Schema,
    /// EventBridge rejected one of its events, or kept failing until retries ran out.
    Publish,
}

/// A record that failed, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordError {
    /// The record's sequence number, when it could be read.
    pub sequence_number: Option<String>,
    /// What kind of failure.
    pub kind: FailureKind,
    /// Whether a later attempt could succeed (throttling, timeouts) or not (poison).
    pub retryable: bool,
    /// What went wrong, naming the field where one is concerned. Never item contents.
    pub reason: String,
}

impl RecordError {
    /// A record that does not decode.
    pub fn decode(sequence_number: Option<String>, reason: impl Into<String>) -> Self {
        RecordError {
            sequence_number,
            kind: FailureKind::Decode,
            retryable: false,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record {}: {} ({})",
            self.sequence_number.as_deref().unwrap_or("?"),
            self.reason,
            if self.retryable {
                "retryable"
            } else {
                "not retryable"
            }
        )
    }
}

impl std::error::Error for RecordError {}
