//! Protection of the server as a whole, as tower layers around every RPC: a server-wide limit
//! of requests in progress that sheds the excess at once (UNAVAILABLE with a RetryInfo, never a
//! queue that grows), and a default deadline for calls that bring none of their own (tonic's
//! `Server::timeout` caps the deadlines that calls do bring).

use std::collections::HashMap;
use std::future::{Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

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

/// At most `max` requests in progress in the whole server; the others are answered
/// UNAVAILABLE at once (tonic applies a `Server::layer` to each connection, so the limit is a
/// semaphore they share).
pub(crate) fn overload_layers(
    max: usize,
) -> (AnswerShedLayer, LoadShedLayer, GlobalConcurrencyLimitLayer) {
    (
        ThenLayer::new(answer_shed as fn(_) -> _),
        LoadShedLayer::new(),
        GlobalConcurrencyLimitLayer::new(max),
    )
}

/// A request the load shedder turned away becomes an answer rather than a broken stream.
fn answer_shed(result: Answered) -> Ready<Answered> {
    std::future::ready(match result {
        Err(err) if err.is::<Overloaded>() => Ok(overloaded().into_http()),
        other => other,
    })
}

fn overloaded() -> Status {
    let mut details = ErrorDetails::with_retry_info(Some(RETRY_AFTER));
    details.set_error_info("OVERLOADED", ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(
        tonic::Code::Unavailable,
        "the server is at its limit of requests in progress; retry shortly",
        details,
    )
}

/// Gives calls without a `grpc-timeout` of their own this deadline.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DefaultDeadlineLayer(pub(crate) Duration);

impl<S> Layer<S> for DefaultDeadlineLayer {
    type Service = DefaultDeadline<S>;

    fn layer(&self, inner: S) -> DefaultDeadline<S> {
        DefaultDeadline {
            inner,
            deadline: self.0,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct DefaultDeadline<S> {
    inner: S,
    deadline: Duration,
}

impl<S, B> Service<http::Request<B>> for DefaultDeadline<S>
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
        let bounded = !request.headers().contains_key("grpc-timeout");
        let deadline = self.deadline;
        let answer = self.inner.call(request);
        Box::pin(async move {
            if !bounded {
                return answer.await.map_err(Into::into);
            }
            match tokio::time::timeout(deadline, answer).await {
                Ok(answer) => answer.map_err(Into::into),
                Err(_) => {
                    let mut details = ErrorDetails::new();
                    details.set_error_info("DEADLINE_EXCEEDED", ERROR_DOMAIN, HashMap::new());
                    Ok(Status::with_error_details(
                        tonic::Code::DeadlineExceeded,
                        format!(
                            "the call took longer than the server's default deadline of {}; \
                             set a deadline of your own for longer calls",
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
