//! The AWS SDK's EventBridge client behind the [`Publisher`] seam: the reference the relay's
//! own client is tested and benchmarked against.

use std::time::Duration;

use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_types::SdkConfig;

use super::{EntryOutcome, Publisher, RequestError, outcomes, retryable_answer};
use crate::entry::Entry;

/// Publishes through the AWS SDK client (`aws_sdk_eventbridge::Client`) with the SDK's
/// retries off: the same requests as [`super::EventBridgePublisher`], through the SDK's orchestrator.
/// The reference the relay's own client is tested and benchmarked against.
#[derive(Debug, Clone)]
pub struct SdkPublisher {
    client: aws_sdk_eventbridge::Client,
}

impl SdkPublisher {
    /// Wraps a client.
    pub fn new(client: aws_sdk_eventbridge::Client) -> Self {
        SdkPublisher { client }
    }

    /// A client from an SDK configuration, with SDK retries off and a per-attempt timeout. The
    /// SDK's stalled-stream protection is off too: the attempt timeout bounds a stalled attempt,
    /// and the protection costs a throughput check and a timer per request.
    pub fn from_sdk_config(config: &SdkConfig, attempt_timeout: Duration) -> Self {
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
        SdkPublisher::new(aws_sdk_eventbridge::Client::from_conf(config))
    }
}

impl Publisher for SdkPublisher {
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
        outcomes(
            entries.len(),
            results.iter().map(|r| {
                (
                    r.error_code().map(str::to_owned),
                    r.error_message().map(str::to_owned),
                )
            }),
        )
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
            retryable_answer(service.err().code().unwrap_or_default())
        }
        _ => false,
    };
    RequestError { retryable, message }
}
