//! Sending entries to EventBridge: the [`Publisher`] seam (EventBridge in production, a loopback
//! server or a recorder in tests) and the bounded retry policy around it.

use std::future::Future;
use std::time::Duration;

use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::entry::Entry;

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

/// A whole request failed: nothing is known about its entries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PutEvents failed ({}): {message}", if *retryable { "retryable" } else { "not retryable" })]
pub struct RequestError {
    /// Transport errors, timeouts, throttling and 5xx are retryable; validation errors are not.
    pub retryable: bool,
    /// What went wrong.
    pub message: String,
}

/// Sends one PutEvents request.
pub trait Publisher: Send + Sync {
    /// Sends `entries` (at most 10, within the size limit) and returns one outcome per entry,
    /// in order.
    fn put_events(
        &self,
        entries: &[&Entry],
    ) -> impl Future<Output = Result<Vec<EntryOutcome>, RequestError>> + Send;
}

/// Publishes with the AWS SDK; the endpoint comes from the standard SDK configuration
/// (`AWS_ENDPOINT_URL_EVENTBRIDGE`, `AWS_ENDPOINT_URL`), so it runs against a local server
/// unchanged. The SDK's own retries are off: [`RetryPolicy`] retries, entry by entry.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: aws_sdk_eventbridge::Client,
}

impl EventBridgePublisher {
    /// Wraps a client.
    pub fn new(client: aws_sdk_eventbridge::Client) -> Self {
        EventBridgePublisher { client }
    }

    /// A client from the environment, with SDK retries off and a per-attempt timeout.
    pub async fn from_env(attempt_timeout: Duration) -> Self {
        Self::from_env_at(attempt_timeout, None).await
    }

    /// [`Self::from_env`], with the endpoint set explicitly when `endpoint` is given.
    pub async fn from_env_at(attempt_timeout: Duration, endpoint: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(url) = endpoint {
            loader = loader.endpoint_url(url);
        }
        Self::from_sdk_config(&loader.load().await, attempt_timeout)
    }

    /// A client from an SDK configuration, with SDK retries off and a per-attempt timeout. The
    /// SDK's stalled-stream protection is off too: the attempt timeout bounds a stalled attempt,
    /// and the protection costs a throughput check and a timer per request.
    pub fn from_sdk_config(config: &aws_config::SdkConfig, attempt_timeout: Duration) -> Self {
        let config = aws_sdk_eventbridge::config::Builder::from(config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .stalled_stream_protection(
                aws_sdk_eventbridge::config::StalledStreamProtectionConfig::disabled(),
            )
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(attempt_timeout)
                    .connect_timeout(attempt_timeout)
                    .build(),
            )
            .build();
        EventBridgePublisher::new(aws_sdk_eventbridge::Client::from_conf(config))
    }
}

impl Publisher for EventBridgePublisher {
    async fn put_events(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, RequestError> {
        let sdk_entries = entries
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .source(&e.source)
                    .detail_type(&e.detail_type)
                    .detail(&e.detail)
                    .event_bus_name(&e.event_bus_name)
                    .set_time(e.time.map(DateTime::from_secs))
                    .set_resources(Some(e.resources.clone()))
                    .set_trace_header(e.trace_header.clone())
                    .build()
            })
            .collect();
        let output = self
            .client
            .put_events()
            .set_entries(Some(sdk_entries))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        let results = output.entries();
        if results.len() != entries.len() {
            return Err(RequestError {
                retryable: true,
                message: format!(
                    "PutEvents answered {} results for {} entries",
                    results.len(),
                    entries.len()
                ),
            });
        }
        Ok(results
            .iter()
            .map(|r| match r.error_code() {
                None => EntryOutcome::Accepted,
                Some(code) => EntryOutcome::Failed {
                    code: code.to_owned(),
                    message: r.error_message().unwrap_or_default().to_owned(),
                },
            })
            .collect())
    }
}

fn classify_sdk_error<E, R>(error: aws_sdk_eventbridge::error::SdkError<E, R>) -> RequestError
where
    E: aws_sdk_eventbridge::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_eventbridge::error::SdkError;
    let message = aws_sdk_eventbridge::error::DisplayErrorContext(&error).to_string();
    let retryable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            is_retryable_code(code) || code.contains("Throttl") || code.is_empty()
        }
        _ => false,
    };
    RequestError { retryable, message }
}

/// How failed entries and requests are retried: exponential backoff with full jitter, bounded
/// by attempts and by the time the invocation has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per entry, the first included.
    pub max_attempts: u32,
    /// The backoff before the second attempt (doubles each time).
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// Time kept in reserve before the invocation's deadline, to answer in time.
    pub deadline_margin: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
            deadline_margin: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `attempt` (2 = the first retry): a random time up to
    /// `base * 2^(attempt-2)`, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(2).min(20);
        let cap = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        cap.mul_f64(fastrand::f64())
    }
}
