//! An axum middleware that meters every REST request as the RPC layer meters calls: a count by
//! route, method and status, a duration histogram and an in-flight gauge. A request lasts
//! until the end of its response body (a download, an event stream), or until the body is
//! dropped. Routes are the router's templates and unknown methods one label, so that a client
//! cannot grow the label set with made-up paths.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

use super::{HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS};

/// Meters one request; add it with `Router::layer`, which runs it after routing.
pub(crate) async fn meter_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", MatchedPath::as_str)
        .to_owned();
    let exchange = Exchange::start(route, method_label(request.method()));
    let response = next.run(request).await;
    let status = response.status();
    response.map(|body| {
        Body::new(MeteredBody {
            inner: body,
            exchange,
            status,
        })
    })
}

/// A response body that finishes its request's record at its end.
struct MeteredBody {
    inner: Body,
    exchange: Exchange,
    status: StatusCode,
}

impl http_body::Body for MeteredBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None | Some(Err(_))) = &polled {
            this.exchange.finish(this.status);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        // An empty body is never polled, and a client may go away mid-stream: either way the
        // status was decided, and the request is over.
        self.exchange.finish(self.status);
    }
}

/// One request in progress; recorded once.
struct Exchange {
    route: String,
    method: &'static str,
    /// The gauge the request was counted in (see `rpc::Call`).
    in_flight: metrics::Gauge,
    started: Instant,
    finished: bool,
}

impl Exchange {
    fn start(route: String, method: &'static str) -> Self {
        let in_flight = metrics::gauge!(HTTP_IN_FLIGHT, "route" => route.clone());
        in_flight.increment(1.0);
        Self {
            route,
            method,
            in_flight,
            started: Instant::now(),
            finished: false,
        }
    }

    fn finish(&mut self, status: StatusCode) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        self.in_flight.decrement(1.0);
        let (route, method) = (self.route.clone(), self.method);
        metrics::counter!(
            HTTP_REQUESTS,
            "route" => route.clone(),
            "method" => method,
            "status" => status.as_str().to_owned()
        )
        .increment(1);
        metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// The method label: the standard methods by name, any other as "other".
fn method_label(method: &Method) -> &'static str {
    static STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ];
    STANDARD
        .iter()
        .find(|standard| *standard == method)
        .map_or("other", Method::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_are_labelled_by_name_and_others_are_not() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::GET), "GET");
        let made_up = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "other");
    }
}
