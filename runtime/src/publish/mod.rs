//! Sending entries to EventBridge: the [`Publisher`] seam (EventBridge in production, a loopback
//! server or a recorder in tests), what an answer means for each entry, and the bounded retry
//! policy around it. [`client`] is the relay's PutEvents client; [`sdk`] the AWS SDK's client,
//! kept as the reference it is tested and benchmarked against.

pub mod cbor;
pub mod client;
pub mod limiter;
mod retry;
pub mod sdk;

use std::future::Future;

use crate::entry::Entry;

pub use client::{EventBridgePublisher, load_config, request_body};
pub use limiter::{Limiter, Signal};
pub use retry::RetryPolicy;
pub use sdk::SdkPublisher;

/// What happened to one entry of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    /// EventBridge accepted it.
    Accepted,
    /// EventBridge refused it.
    Failed {
        /// `ErrorCode` (for example `ThrottlingException`).
        code: String,
        /// `ErrorMessage`.
        message: String,
    },
}

impl EntryOutcome {
    /// Whether sending the entry again can succeed: throttling and internal failures can.
    pub fn retryable(&self) -> bool {
        match self {
            EntryOutcome::Accepted => false,
            EntryOutcome::Failed { code, .. } => is_retryable_code(code),
        }
    }
}

/// Entry error codes worth retrying.
pub fn is_retryable_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException" | "InternalFailure" | "InternalException" | "ServiceUnavailable"
    )
}

/// Whether a request answered with error code `code` can succeed when sent again: the
/// retryable entry codes, any throttling, and an answer without a code.
pub(crate) fn retryable_answer(code: &str) -> bool {
    is_retryable_code(code) || is_throttling(code) || code.is_empty()
}

/// Whether an error code says EventBridge throttled the call (`ThrottlingException`, and the
/// other spellings AWS services use: `Throttling`, `ThrottledException`).
pub fn is_throttling(code: &str) -> bool {
    code.contains("Throttl")
}

/// A whole request failed: nothing is known about its entries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PutEvents failed ({}): {message}", if *retryable { "retryable" } else { "not retryable" })]
pub struct RequestError {
    /// Transport errors, timeouts, throttling and 5xx are retryable; validation errors are not.
    pub retryable: bool,
    /// What went wrong.
    pub message: String,
}

impl RequestError {
    /// Whether EventBridge throttled the request: an answer's error names its code first
    /// (`ThrottlingException (HTTP 400): ...`), or its status is 429.
    pub fn throttled(&self) -> bool {
        self.message
            .split_whitespace()
            .next()
            .is_some_and(is_throttling)
            || self.message.contains("(HTTP 429)")
    }

    /// Whether the request went unanswered within the attempt timeout.
    pub fn timed_out(&self) -> bool {
        self.message.starts_with(NO_ANSWER)
    }
}

/// How a request that went unanswered within the attempt timeout fails: `<this> 5s`.
pub(crate) const NO_ANSWER: &str = "PutEvents did not answer within";

/// Sends one PutEvents request.
pub trait Publisher: Send + Sync {
    /// Sends `entries` (at most 10, within the size limit) and returns one outcome per entry,
    /// in order.
    fn put_events(
        &self,
        entries: &[&Entry],
    ) -> impl Future<Output = Result<Vec<EntryOutcome>, RequestError>> + Send;
}

/// One outcome per entry from the answer's results, which must be as many as the entries.
pub(crate) fn outcomes(
    sent: usize,
    results: impl ExactSizeIterator<Item = (Option<String>, Option<String>)>,
) -> Result<Vec<EntryOutcome>, RequestError> {
    if results.len() != sent {
        return Err(RequestError {
            retryable: true,
            message: format!(
                "PutEvents answered {} results for {sent} entries",
                results.len()
            ),
        });
    }
    Ok(results
        .map(|(code, message)| match code {
            None => EntryOutcome::Accepted,
            Some(code) => EntryOutcome::Failed {
                code,
                message: message.unwrap_or_default(),
            },
        })
        .collect())
}
