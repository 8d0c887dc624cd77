//! Protection of the server as a whole, as tower layers around every RPC: a server-wide limit
//! of requests in progress that sheds the excess at once (UNAVAILABLE with a RetryInfo, never a
//! queue that grows), and deadlines: a default for calls that bring none of their own, and a
//! maximum for those that do.

use std::collections::HashMap;
use std::future::{Future, Ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Semaphore;
use tonic::Status;
use tonic::codegen::http;
use tonic_types::{ErrorDetails, StatusExt};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::load_shed::error::Overloaded;
use tower::util::ThenLayer;
use tower::{BoxError, Layer, Service};

use super::status::ERROR_DOMAIN;

/// How long a shed client is asked to wait before it retries.
const RETRY_AFTER: Duration = Duration::from_secs(1);

type Response = http::Response<tonic::body::Body>;
type Answered = Result<Response, BoxError>;
/// Turns a shed request into an answer.
type AnswerShedLayer = ThenLayer<fn(Answered) -> Ready<Answered>>;
type Answer = Pin<Box<dyn Future<Output = Result<Response, BoxError>> + Send>>;

/// At most as many requests in progress in the whole server as `in_progress` has permits;
/// the others are answered UNAVAILABLE at once (tonic applies a `Server::layer` to each
/// connection, so the limit is a semaphore they share, and REST requests share it too).
pub(crate) fn overload_layers(
    in_progress: Arc<Semaphore>,
) -> (AnswerShedLayer, LoadShedLayer, GlobalConcurrencyLimitLayer) {
    (
        ThenLayer::new(answer_shed as fn(_) -> _),
        LoadShedLayer::new(),
        GlobalConcurrencyLimitLayer::with_semaphore(in_progress),
    )
}

/// A request the load shedder turned away becomes an answer rather than a broken stream.
fn answer_shed(result: Answered) -> Ready<Answered> {
    std::future::ready(match result {
        Err(err) if err.is::<Overloaded>() => {
            crate::metrics::shed("grpc");
            Ok(overloaded().into_http())
        }
        other => other,
    })
}

fn overloaded() -> Status {
    let mut details = ErrorDetails::with_retry_info(Some(RETRY_AFTER));
    let mut metadata = HashMap::new();
    super::status::with_trace_id(&mut metadata);
    details.set_error_info("OVERLOADED", ERROR_DOMAIN, metadata);
    Status::with_error_details(
        tonic::Code::Unavailable,
        "the server is at its limit of requests in progress; retry shortly",
        details,
    )
}

/// Every call's deadline, with one timer: its own `grpc-timeout` cut to `max`, or `default`
/// when it brings none. A call past its deadline is answered DEADLINE_EXCEEDED.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeadlineLayer {
    pub(crate) default: Duration,
    pub(crate) max: Duration,
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            limits: *self,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Deadline<S> {
    inner: S,
    limits: DeadlineLayer,
}

impl<S, B> Service<http::Request<B>> for Deadline<S>
where
    S: Service<http::Request<B>, Response = Response>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = BoxError;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<B>) -> Answer {
        let deadline = match request.headers().get("grpc-timeout").and_then(grpc_timeout) {
            Some(asked) => asked.min(self.limits.max),
            None => self.limits.default,
        };
        let answer = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(deadline, answer).await {
                Ok(answer) => answer.map_err(Into::into),
                Err(_) => {
                    let mut details = ErrorDetails::new();
                    let mut metadata = HashMap::new();
                    super::status::with_trace_id(&mut metadata);
                    details.set_error_info("DEADLINE_EXCEEDED", ERROR_DOMAIN, metadata);
                    Ok(Status::with_error_details(
                        tonic::Code::DeadlineExceeded,
                        format!(
                            "the call's deadline of {} passed (calls without one get the \
                             server's default; longer ones are cut to its maximum)",
                            humantime::format_duration(deadline)
                        ),
                        details,
                    )
                    .into_http())
                }
            }
        })
    }
}

/// A `grpc-timeout` header: at most 8 digits and a unit (gRPC over HTTP/2). A malformed one is
/// treated as absent.
fn grpc_timeout(value: &http::HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_are_read_in_every_unit() {
        let read = |text: &'static str| grpc_timeout(&http::HeaderValue::from_static(text));
        assert_eq!(read("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(read("3M"), Some(Duration::from_secs(180)));
        assert_eq!(read("10S"), Some(Duration::from_secs(10)));
        assert_eq!(read("250m"), Some(Duration::from_millis(250)));
        assert_eq!(read("7u"), Some(Duration::from_micros(7)));
        assert_eq!(read("9n"), Some(Duration::from_nanos(9)));
        for malformed in ["", "S", "123456789S", "10x", "-1S", "1.5S"] {
            assert_eq!(read(malformed), None, "{malformed}");
        }
    }
}
