//! The calls in progress other than watch streams. A stopping server lets them finish first,
//! and only then ends its watch streams: watchers move to another replica once this one has
//! committed everything it had accepted.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::watch;
use tonic::codegen::http;
use tower::{Layer, Service};

/// Calls with this path prefix never end by themselves, and are not counted.
const WATCH_PATH: &str = "/modelregistry.v1.ModelEventService/WatchModels";

#[derive(Clone, Debug)]
pub(crate) struct CallsInProgress {
    count: watch::Sender<usize>,
}

impl CallsInProgress {
    pub(crate) fn new() -> Self {
        Self {
            count: watch::Sender::new(0),
        }
    }

    /// Returns once no counted call is in progress.
    pub(crate) async fn drained(&self) {
        let mut count = self.count.subscribe();
        let _ = count.wait_for(|count| *count == 0).await;
    }

    fn enter(&self) -> InProgress {
        self.count.send_modify(|count| *count += 1);
        InProgress(self.count.clone())
    }
}

/// One counted call, until dropped.
struct InProgress(watch::Sender<usize>);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count -= 1);
    }
}

impl<S> Layer<S> for CallsInProgress {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            calls: self.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Counted<S> {
    inner: S,
    calls: CallsInProgress,
}

impl<S, B> Service<http::Request<B>> for Counted<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let counted = (request.uri().path() != WATCH_PATH).then(|| self.calls.enter());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            drop(counted);
            answer
        })
    }
}
