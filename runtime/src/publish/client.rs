//! The relay's PutEvents client, made of the AWS SDK's parts without the SDK client's
//! per-request orchestrator.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::SdkConfig;
use http_body_util::BodyExt;

use super::{EntryOutcome, Publisher, RequestError, outcomes, retryable_answer};
use crate::entry::Entry;

/// Publishes with the AWS SDK's own parts: its configuration (region, endpoint, credentials),
/// its SigV4 signer (`aws-sigv4`) and its HTTP connector (TLS, connection pool, connect
/// timeout), without the SDK client's per-request orchestrator, which cost 2-3 times the CPU of
/// the request itself (`docs/benchmarks.md`). The endpoint comes from the standard SDK
/// configuration (`AWS_ENDPOINT_URL_EVENTBRIDGE`, `AWS_ENDPOINT_URL`), resolved by the SDK's
/// endpoint rules, so it runs against a local server unchanged. Nothing is retried here:
/// [`super::RetryPolicy`] retries, entry by entry.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    inner: std::sync::Arc<Direct>,
}

#[derive(Debug)]
struct Direct {
    /// The endpoint's URL, or why there is none (every request fails with it).
    endpoint: Result<String, String>,
    /// The new Custom Event Bus's endpoint (`eventbridgev2`), likewise.
    endpoint_v2: Result<String, String>,
    region: String,
    credentials: Option<SharedCredentialsProvider>,
    /// Credentials until shortly before they expire.
    cached: std::sync::Mutex<Option<Credentials>>,
    connector: SharedHttpConnector,
    attempt_timeout: Duration,
}

/// Credentials are loaded again this long before they expire.
const CREDENTIALS_REFRESH_MARGIN: Duration = Duration::from_secs(60);

impl EventBridgePublisher {
    /// A publisher from the environment (the SDK's default chain), with a per-attempt timeout.
    pub async fn from_env(attempt_timeout: Duration) -> Self {
        Self::from_sdk_config(&load_config(None).await, attempt_timeout).await
    }

    /// A publisher from an SDK configuration, with a per-attempt timeout (connecting included).
    pub async fn from_sdk_config(config: &SdkConfig, attempt_timeout: Duration) -> Self {
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(attempt_timeout)
            .build();
        let sleep = config
            .sleep_impl()
            .unwrap_or_else(|| SharedAsyncSleep::new(TokioSleep::new()));
        let connector = aws_smithy_http_client::default_connector(&settings, Some(sleep))
            .expect("aws-smithy-http-client is built with rustls-aws-lc");
        EventBridgePublisher {
            inner: std::sync::Arc::new(Direct {
                endpoint: resolve_endpoint(config).await,
                endpoint_v2: resolve_endpoint_v2(config),
                region: config.region().map(|r| r.to_string()).unwrap_or_default(),
                credentials: config.credentials_provider(),
                cached: std::sync::Mutex::new(None),
                connector,
                attempt_timeout,
            }),
        }
    }
}

/// The SDK configuration from the environment, with the endpoint set explicitly when `endpoint`
/// is given.
pub async fn load_config(endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The endpoint the SDK's EventBridge client would call, chosen as it chooses it: an endpoint
/// URL set on the configuration, else the service's own setting
/// (`AWS_ENDPOINT_URL_EVENTBRIDGE`, `endpoint_url` in its profile section), else the general one,
/// then the SDK's endpoint rules (region, FIPS, dual stack).
async fn resolve_endpoint(config: &SdkConfig) -> Result<String, String> {
    use aws_sdk_eventbridge::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    let url = configured_endpoint(config, "EventBridge");
    let params = Params::builder()
        .set_region(config.region().map(|r| r.to_string()))
        .set_use_fips(config.use_fips())
        .set_use_dual_stack(config.use_dual_stack())
        .set_endpoint(url)
        .build()
        .map_err(|e| format!("no EventBridge endpoint: {e}"))?;
    DefaultResolver::new()
        .resolve_endpoint(&params)
        .await
        .map(|endpoint| endpoint.url().to_owned())
        .map_err(|e| format!("no EventBridge endpoint: {}", DisplayErrorContext(&*e)))
}

/// An endpoint URL configured as the SDK reads it for the service `service_id`: one set on the
/// configuration itself, else the service's own setting (`AWS_ENDPOINT_URL_<SERVICE>`,
/// `endpoint_url` in its profile section), else the general one.
fn configured_endpoint(config: &SdkConfig, service_id: &str) -> Option<String> {
    if config.get_origin("endpoint_url").is_client_config() {
        return config.endpoint_url().map(str::to_owned);
    }
    config
        .service_config()
        .and_then(|service| {
            service.load_config(
                aws_types::service_config::ServiceConfigKey::builder()
                    .service_id(service_id)
                    .env("AWS_ENDPOINT_URL")
                    .profile("endpoint_url")
                    .build()
                    .expect("every field is set"),
            )
        })
        .or_else(|| config.endpoint_url().map(str::to_owned))
}

/// The endpoint the SDK's `eventbridgev2` client would call: an endpoint URL set on the
/// configuration, else `AWS_ENDPOINT_URL_EVENTBRIDGEV2` (or `endpoint_url` in the profile's
/// service section), else the general one, else the regional host (FIPS and dual stack as the
/// endpoint rules spell them).
fn resolve_endpoint_v2(config: &SdkConfig) -> Result<String, String> {
    if let Some(url) = configured_endpoint(config, "EventBridgeV2") {
        return Ok(url);
    }
    let region = config
        .region()
        .ok_or("no eventbridgev2 endpoint: no region is configured")?;
    Ok(
        match (
            config.use_fips().unwrap_or(false),
            config.use_dual_stack().unwrap_or(false),
        ) {
            (false, false) => format!("https://eventsv2.{region}.amazonaws.com"),
            (true, false) => format!("https://eventsv2-fips.{region}.amazonaws.com"),
            (false, true) => format!("https://eventsv2.{region}.api.aws"),
            (true, true) => format!("https://eventsv2-fips.{region}.api.aws"),
        },
    )
}

/// The two wire protocols: Classic's AWS JSON 1.1, the new bus's Smithy RPC v2 CBOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Json,
    Cbor,
}

impl Direct {
    /// Credentials from the cache, or loaded when it holds none still valid for a while.
    async fn credentials(&self) -> Result<Credentials, RequestError> {
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|at| at > SystemTime::now() + CREDENTIALS_REFRESH_MARGIN)
        };
        if let Some(cached) = self.lock_cache().as_ref().filter(|c| fresh(c)) {
            return Ok(cached.clone());
        }
        let provider = self.credentials.as_ref().ok_or_else(|| RequestError {
            retryable: false,
            message: "no AWS credentials provider is configured".to_owned(),
        })?;
        let loaded = provider
            .provide_credentials()
            .await
            .map_err(|e| RequestError {
                retryable: true,
                message: format!(
                    "AWS credentials could not be loaded: {}",
                    DisplayErrorContext(&e)
                ),
            })?;
        *self.lock_cache() = Some(loaded.clone());
        Ok(loaded)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Option<Credentials>> {
        self.cached
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One signed PutEvents request with `body`: the answer.
    async fn call(&self, body: Vec<u8>, protocol: Protocol) -> Result<Answer, RequestError> {
        let endpoint = match protocol {
            Protocol::Json => &self.endpoint,
            Protocol::Cbor => &self.endpoint_v2,
        };
        let endpoint = endpoint.as_deref().map_err(|reason| RequestError {
            retryable: false,
            message: reason.clone(),
        })?;
        let credentials = self.credentials().await?;
        let uri = match protocol {
            Protocol::Json => endpoint.to_owned(),
            Protocol::Cbor => format!("{}{}", endpoint.trim_end_matches('/'), super::cbor::PATH),
        };
        let builder = http::Request::builder().method("POST").uri(&uri);
        let builder = match protocol {
            Protocol::Json => builder
                .header("content-type", "application/x-amz-json-1.1")
                .header("x-amz-target", "AWSEvents.PutEvents"),
            Protocol::Cbor => builder
                .header("content-type", "application/cbor")
                .header("accept", "application/cbor")
                .header("smithy-protocol", "rpc-v2-cbor"),
        };
        let mut request = builder
            .header("user-agent", USER_AGENT)
            .body(())
            .map_err(|e| RequestError {
                retryable: false,
                message: format!("the endpoint `{endpoint}` is not a URL: {e}"),
            })?;
        sign(&mut request, &uri, &body, credentials, &self.region).map_err(|message| {
            RequestError {
                retryable: false,
                message,
            }
        })?;
        let request =
            HttpRequest::try_from(request.map(|()| SdkBody::from(body))).map_err(|e| {
                RequestError {
                    retryable: false,
                    message: format!("the request cannot be sent: {e}"),
                }
            })?;
        let exchange = async {
            let response = self
                .connector
                .call(request)
                .await
                .map_err(|e| RequestError {
                    retryable: true,
                    message: format!("PutEvents did not complete: {}", DisplayErrorContext(&e)),
                })?;
            let status = response.status().as_u16();
            if status == 403 {
                // Credentials that stopped working are loaded again for the next attempt.
                *self.lock_cache() = None;
            }
            let error_type = response
                .headers()
                .get("x-amzn-errortype")
                .map(str::to_owned);
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| RequestError {
                    retryable: true,
                    message: format!("the PutEvents answer was cut off: {e}"),
                })?
                .to_bytes();
            Ok(Answer {
                status,
                error_type,
                body,
            })
        };
        tokio::time::timeout(self.attempt_timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(RequestError {
                    retryable: true,
                    message: format!("{} {:?}", super::NO_ANSWER, self.attempt_timeout),
                })
            })
    }
}

/// What EventBridge answered.
struct Answer {
    status: u16,
    /// `x-amzn-ErrorType`, on an error.
    error_type: Option<String>,
    body: bytes::Bytes,
}

const USER_AGENT: &str = concat!("outbox-relay/", env!("CARGO_PKG_VERSION"));

/// Signs `request` with SigV4 for EventBridge in `region`, as the SDK signs it: every header
/// but those `aws-sigv4` leaves out (user agent, trace id), the body's SHA-256, the session
/// token when there is one.
fn sign(
    request: &mut http::Request<()>,
    uri: &str,
    body: &[u8],
    credentials: Credentials,
    region: &str,
) -> Result<(), String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    let identity = credentials.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("events")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("the request cannot be signed: {e}"))?
        .into();
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str(), value.to_str().unwrap_or_default()));
    let signable = SignableRequest::new("POST", uri, headers, SignableBody::Bytes(body))
        .map_err(|e| format!("the request cannot be signed: {e}"))?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| format!("the request cannot be signed: {e}"))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

/// The body of a PutEvents request: the entries as the API takes them.
pub fn request_body(entries: &[&Entry], body: &mut Vec<u8>) {
    body.extend_from_slice(b"{\"Entries\":[");
    for (n, entry) in entries.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut *body, entry).expect("an entry serializes");
    }
    body.extend_from_slice(b"]}");
}

/// A PutEvents answer (`FailedEntryCount` is the count of entries with an error code).
#[derive(serde::Deserialize)]
struct PutEventsOutput {
    #[serde(rename = "Entries", default)]
    entries: Vec<ResultEntry>,
}

#[derive(serde::Deserialize)]
struct ResultEntry {
    #[serde(rename = "ErrorCode")]
    error_code: Option<String>,
    #[serde(rename = "ErrorMessage")]
    error_message: Option<String>,
}

/// An error answer of the AWS JSON protocol: `{"__type": "...", "message": "..."}`.
#[derive(serde::Deserialize, Default)]
struct ErrorOutput {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(alias = "Message", default)]
    message: String,
}

/// What an answer other than 200 says: its error code (from `x-amzn-ErrorType` or `__type`,
/// without the namespace or URL AWS may add) and whether sending again can succeed (5xx,
/// throttling, or no code at all, as the SDK client classified it).
fn answer_error(status: u16, error_type: Option<&str>, body: &[u8]) -> RequestError {
    let output: ErrorOutput = serde_json::from_slice(body).unwrap_or_default();
    classify(status, error_type, output, body)
}

/// [`answer_error`] of the new bus, whose errors are CBOR.
fn answer_error_v2(status: u16, error_type: Option<&str>, body: &[u8]) -> RequestError {
    let (kind, message) = super::cbor::decode_error(body);
    classify(status, error_type, ErrorOutput { kind, message }, body)
}

fn classify(
    status: u16,
    error_type: Option<&str>,
    output: ErrorOutput,
    body: &[u8],
) -> RequestError {
    let raw = error_type.unwrap_or(&output.kind);
    let code = raw.split(':').next().unwrap_or_default();
    let code = code.rsplit('#').next().unwrap_or_default().trim();
    let retryable = status >= 500 || status == 429 || retryable_answer(code);
    let message = if output.message.is_empty() {
        String::from_utf8_lossy(body).chars().take(200).collect()
    } else {
        output.message
    };
    RequestError {
        retryable,
        message: format!("{code} (HTTP {status}): {message}"),
    }
}

impl Publisher for EventBridgePublisher {
    async fn put_events(&self, entries: &[&Entry]) -> Result<Vec<EntryOutcome>, RequestError> {
        let mut body = Vec::with_capacity(entries.iter().map(|e| e.detail.len() + 256).sum());
        if entries.first().is_some_and(|e| e.system_metadata.is_some()) {
            let bus = &entries[0].event_bus_name;
            return self.put_events_v2(bus, entries, body).await;
        }
        request_body(entries, &mut body);
        let answer = self.inner.call(body, Protocol::Json).await?;
        if answer.status != 200 {
            return Err(answer_error(
                answer.status,
                answer.error_type.as_deref(),
                &answer.body,
            ));
        }
        let output: PutEventsOutput =
            serde_json::from_slice(&answer.body).map_err(|e| RequestError {
                retryable: true,
                message: format!("the PutEvents answer does not decode: {e}"),
            })?;
        outcomes(
            entries.len(),
            output
                .entries
                .into_iter()
                .map(|r| (r.error_code, r.error_message)),
        )
    }
}

impl EventBridgePublisher {
    /// PutEvents on the new Custom Event Bus (entries with `SystemMetadata`): CBOR, up to 100
    /// entries; `PUBLISHED` and `DEDUPLICATED` are both accepted.
    async fn put_events_v2(
        &self,
        bus: &str,
        entries: &[&Entry],
        mut body: Vec<u8>,
    ) -> Result<Vec<EntryOutcome>, RequestError> {
        if !is_custom_bus_arn(bus) {
            return Err(RequestError {
                retryable: false,
                message: format!(
                    "the bus is `{bus}`, not the ARN of a Custom Event Bus (arn:aws:events:REGION:ACCOUNT:event-busv2/NAME/ID): set EVENT_BUS_ARN (the stack sets it)"
                ),
            });
        }
        super::cbor::request_body(bus, entries, &mut body);
        let answer = self.inner.call(body, Protocol::Cbor).await?;
        if answer.status != 200 {
            return Err(answer_error_v2(
                answer.status,
                answer.error_type.as_deref(),
                &answer.body,
            ));
        }
        let results = super::cbor::decode_output(&answer.body).map_err(|message| RequestError {
            retryable: true,
            message,
        })?;
        outcomes(entries.len(), results.into_iter())
    }
}

/// Whether `bus` is the ARN of a Custom Event Bus (`...:event-busv2/NAME/ID`).
pub fn is_custom_bus_arn(bus: &str) -> bool {
    bus.starts_with("arn:") && bus.contains(":event-busv2/")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_credential_types::provider::future::ProvideCredentials as CredentialsFuture;
    use aws_types::region::Region;

    use super::*;

    #[test]
    fn an_error_answer_is_classified_by_its_code_and_status() {
        let cases = [
            (
                400,
                None,
                r#"{"__type":"ValidationException","message":"too big"}"#,
                false,
                "ValidationException (HTTP 400): too big",
            ),
            (
                400,
                None,
                r#"{"__type":"com.amazonaws.events#ThrottlingException","message":"slow down"}"#,
                true,
                "ThrottlingException (HTTP 400): slow down",
            ),
            (
                400,
                Some("ThrottlingException:http://internal.amazon.com/coral/"),
                "{}",
                true,
                "ThrottlingException (HTTP 400): {}",
            ),
            (
                500,
                None,
                r#"{"__type":"InternalException","Message":"oops"}"#,
                true,
                "InternalException (HTTP 500): oops",
            ),
            (
                503,
                None,
                "<html>busy</html>",
                true,
                " (HTTP 503): <html>busy</html>",
            ),
            (
                403,
                None,
                r#"{"__type":"AccessDeniedException","message":"no"}"#,
                false,
                "AccessDeniedException (HTTP 403): no",
            ),
            (
                429,
                None,
                r#"{"__type":"TooManyRequests"}"#,
                true,
                "TooManyRequests (HTTP 429): {\"__type\":\"TooManyRequests\"}",
            ),
        ];
        for (status, error_type, body, retryable, message) in cases {
            let error = answer_error(status, error_type, body.as_bytes());
            assert_eq!(
                (error.retryable, error.message.as_str()),
                (retryable, message),
                "{body}"
            );
            // Throttling is counted apart (the relay's `throttled` metric).
            let throttled = message.starts_with("Throttling") || status == 429;
            assert_eq!(error.throttled(), throttled, "{message}");
        }
    }

    #[tokio::test]
    async fn the_endpoint_is_the_one_the_sdk_would_call() {
        let config =
            |build: fn(aws_types::sdk_config::Builder) -> aws_types::sdk_config::Builder| {
                build(SdkConfig::builder().region(Region::new("eu-west-1"))).build()
            };
        assert_eq!(
            resolve_endpoint(&config(|b| b)).await.as_deref(),
            Ok("https://events.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            resolve_endpoint(&config(|b| b.use_fips(true)))
                .await
                .as_deref(),
            Ok("https://events-fips.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            resolve_endpoint(&config(|b| b.endpoint_url("http://127.0.0.1:4010")))
                .await
                .as_deref(),
            Ok("http://127.0.0.1:4010")
        );
        let none = resolve_endpoint(&SdkConfig::builder().build())
            .await
            .unwrap_err();
        assert!(none.starts_with("no EventBridge endpoint"), "{none}");
    }

    /// Hands out credentials that expire `lifetime` from now, counting the loads.
    #[derive(Debug)]
    struct Counting {
        loads: Arc<AtomicUsize>,
        lifetime: Option<Duration>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> CredentialsFuture<'a>
        where
            Self: 'a,
        {
            self.loads.fetch_add(1, Ordering::SeqCst);
            let expiry = self.lifetime.map(|l| SystemTime::now() + l);
            CredentialsFuture::ready(Ok(Credentials::new("k", "s", None, expiry, "counting")))
        }
    }

    async fn loads_after_three_requests(lifetime: Option<Duration>) -> usize {
        let loads = Arc::new(AtomicUsize::new(0));
        let config = SdkConfig::builder()
            .region(Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Counting {
                loads: loads.clone(),
                lifetime,
            }))
            .build();
        let publisher =
            EventBridgePublisher::from_sdk_config(&config, Duration::from_secs(1)).await;
        for _ in 0..3 {
            publisher.inner.credentials().await.unwrap();
        }
        loads.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn credentials_are_loaded_once_and_again_before_they_expire() {
        assert_eq!(loads_after_three_requests(None).await, 1);
        assert_eq!(
            loads_after_three_requests(Some(Duration::from_secs(3600))).await,
            1
        );
        // Within the refresh margin of their expiry: loaded for every request.
        assert_eq!(
            loads_after_three_requests(Some(Duration::from_secs(30))).await,
            3
        );
    }
}
