//! The relay under Lambda: the `lambda_runtime` loop, with each invocation's body handed to the
//! handler as Lambda sent it.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use lambda_runtime::tower::layer::layer_fn;
use lambda_runtime::{LambdaEvent, LambdaInvocation, Runtime, Service, layers, service_fn};

use crate::handler::{self, Mapper, Options, Outcome};
use crate::observe::metrics_line;
use crate::publish::EventBridgePublisher;
use crate::settings::{Defaults, attempt_timeout};

pub(crate) async fn run_lambda<M: Mapper + 'static>(
    mapper: M,
    options: Options,
    defaults: Defaults,
) -> Result<(), lambda_runtime::Error> {
    let publisher = Arc::new(EventBridgePublisher::from_env(attempt_timeout()).await);
    let mapper = Arc::new(mapper);
    let options = Arc::new(options);
    let handler = service_fn(move |event: LambdaEvent<()>| {
        let (publisher, mapper, options) = (publisher.clone(), mapper.clone(), options.clone());
        async move {
            let body = BODY
                .try_with(Bytes::clone)
                .map_err(|_| lambda_runtime::Error::from("the invocation's body was not kept"))?;
            let text = std::str::from_utf8(&body).map_err(|e| {
                lambda_runtime::Error::from(format!("the event is not UTF-8 text: {e}"))
            })?;
            let deadline = deadline_instant(event.context.deadline);
            let trace = event.context.xray_trace_id.clone();
            let outcome: Outcome = handler::handle(
                mapper.as_ref(),
                publisher.as_ref(),
                text,
                &options,
                Some(deadline),
                trace.as_deref(),
            )
            .await
            .map_err(|e| lambda_runtime::Error::from(e.to_string()))?;
            if let Some(line) = metrics_line(defaults, &outcome.stats) {
                println!("{line}");
            }
            Ok::<_, lambda_runtime::Error>(outcome.response)
        }
    });
    // What `lambda_runtime::run` builds, with the body taken before it is deserialized.
    Runtime::new(handler)
        .layer(layers::TracingLayer::new())
        .layer(layer_fn(TakeBody))
        .run()
        .await
}

tokio::task_local! {
    /// The body of the invocation being handled, as Lambda sent it ([`TakeBody`]).
    static BODY: Bytes;
}

/// Takes each invocation's body before `lambda_runtime` deserializes it (the handler's
/// payload is `()`, read from a `null` put in its place) and keeps it in [`BODY`] while the
/// invocation runs. The handler decodes the batch from the text in one pass; deserializing
/// the payload into a `Box<RawValue>`, as `lambda_runtime` would, scans and copies the whole
/// event once more first (up to 6 MB per invocation).
struct TakeBody<S>(S);

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for TakeBody<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = tokio::task::futures::TaskLocalFuture<Bytes, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        let body = std::mem::replace(&mut invocation.body, Bytes::from_static(b"null"));
        BODY.scope(body, self.0.call(invocation))
    }
}

/// Converts the invocation deadline (epoch milliseconds) to an `Instant`.
fn deadline_instant(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}
