//! Protection of the server as a whole, as one tower layer around every RPC: a server-wide
//! limit of requests in progress that sheds the excess at once (UNAVAILABLE with a RetryInfo,
//! never a queue that grows), and deadlines: a default for calls that bring none of their own,
//! and a maximum for those that do.
//!
//! Both are paid by every call, so both are cheap: the limit is one atomic counter (no lock to
//! take or release), and a call's timer is armed only once the call waits for something; a
//! call answered at once (a health check, a read from memory) never touches the timer wheel.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;
use tonic::Status;
use tonic::codegen::http;
use tonic_types::{ErrorDetails, StatusExt};
use tower::{BoxError, Layer, Service};

use super::status::ERROR_DOMAIN;

/// How long a shed client is asked to wait before it retries.
const RETRY_AFTER: Duration = Duration::from_secs(1);

type Response = http::Response<tonic::body::Body>;
type Answer = Pin<Box<dyn Future<Output = Result<Response, BoxError>> + Send>>;

/// Requests in progress in the whole server, gRPC and REST together, at most `max`.
#[derive(Clone, Debug)]
pub(crate) struct InProgress {
    counter: Arc<Counter>,
}

#[derive(Debug)]
struct Counter {
    count: AtomicUsize,
    max: usize,
}

/// One admitted request, counted until dropped.
#[derive(Debug)]
pub(crate) struct Admitted(Arc<Counter>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InProgress {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            counter: Arc::new(Counter {
                count: AtomicUsize::new(0),
                max,
            }),
        }
    }

    /// Counts a request in, unless `max` are in progress already.
    pub(crate) fn admit(&self) -> Option<Admitted> {
        let before = self.counter.count.fetch_add(1, Ordering::AcqRel);
        if before >= self.counter.max {
            self.counter.count.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Admitted(Arc::clone(&self.counter)))
    }
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

/// Every call's admission and deadline: at most `in_progress` calls at once (the others
/// answered UNAVAILABLE at once), and each call's own `grpc-timeout` cut to `max`, or
/// `default` when it brings none; a call past its deadline is answered DEADLINE_EXCEEDED.
/// `None` serves without them (benchmarks measure what they cost).
#[derive(Clone, Debug)]
pub(crate) struct CallLimitsLayer(pub(crate) Option<CallLimits>);

#[derive(Clone, Debug)]
pub(crate) struct CallLimits {
    pub(crate) in_progress: InProgress,
    pub(crate) default: Duration,
    pub(crate) max: Duration,
}

impl<S> Layer<S> for CallLimitsLayer {
    type Service = Limited<S>;

    fn layer(&self, inner: S) -> Limited<S> {
        Limited {
            inner,
            limits: self.0.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Limited<S> {
    inner: S,
    limits: Option<CallLimits>,
}

impl<S, B> Service<http::Request<B>> for Limited<S>
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
        let Some(limits) = &self.limits else {
            let answer = self.inner.call(request);
            return Box::pin(async move { answer.await.map_err(Into::into) });
        };
        let Some(admitted) = limits.in_progress.admit() else {
            crate::metrics::shed("grpc");
            return Box::pin(std::future::ready(Ok(overloaded().into_http())));
        };
        let allowed = match request.headers().get("grpc-timeout").and_then(grpc_timeout) {
            Some(asked) => asked.min(limits.max),
            None => limits.default,
        };
        let deadline = Instant::now() + allowed;
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answered = within(deadline, answer).await;
            drop(admitted);
            match answered {
                Some(answer) => answer.map_err(Into::into),
                None => Ok(deadline_exceeded(allowed).into_http()),
            }
        })
    }
}

/// `answer`, or `None` once `deadline` passed. The timer is armed at the first poll that
/// finds the answer not ready: most calls never need one.
async fn within<F: Future>(deadline: Instant, answer: F) -> Option<F::Output> {
    let mut answer = std::pin::pin!(answer);
    let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(answered) = answer.as_mut().poll(cx) {
            return Poll::Ready(Some(answered));
        }
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

fn deadline_exceeded(allowed: Duration) -> Status {
    let mut details = ErrorDetails::new();
    let mut metadata = HashMap::new();
    super::status::with_trace_id(&mut metadata);
    details.set_error_info("DEADLINE_EXCEEDED", ERROR_DOMAIN, metadata);
    Status::with_error_details(
        tonic::Code::DeadlineExceeded,
        format!(
            "the call's deadline of {} passed (calls without one get the server's default; \
             longer ones are cut to its maximum)",
            humantime::format_duration(allowed)
        ),
        details,
    )
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

    #[test]
    fn requests_beyond_the_limit_are_not_admitted_until_one_ends() {
        let in_progress = InProgress::new(2);
        let first = in_progress.admit().expect("the first");
        let _second = in_progress.admit().expect("the second");
        assert!(in_progress.admit().is_none(), "a third is shed");
        drop(first);
        assert!(
            in_progress.admit().is_some(),
            "one ended: another is admitted"
        );
    }

    #[tokio::test]
    async fn a_call_answered_at_once_arms_no_timer_and_a_waiting_one_ends_at_its_deadline() {
        let deadline = Instant::now() + Duration::from_millis(50);
        assert_eq!(within(deadline, async { 7 }).await, Some(7));
        let waited = within(deadline, std::future::pending::<()>()).await;
        assert_eq!(waited, None);
        assert!(Instant::now() >= deadline);
    }
}
