//! A tower layer that meters every RPC: a count by method and status code, a duration
//! histogram, and an in-flight gauge. A call lasts until the end of its response stream (the
//! status in the trailers), or until its response is dropped: a client that goes away counts as
//! CANCELLED, so the in-flight gauge never leaks.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http_body::{Body, Frame, SizeHint};
use prost::Message;
use tonic::Code;
use tonic::codegen::http;
use tower::{Layer, Service};

use super::{RPC_DURATION, RPC_IN_FLIGHT, RPC_REQUESTS};
use crate::pb::code_name;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RpcMetricsLayer;

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics { inner }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct RpcMetrics<S> {
    inner: S,
}

impl<S, RequestBody, ResponseBody> Service<http::Request<RequestBody>> for RpcMetrics<S>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<MeteredBody<ResponseBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        let mut call = Call::start(request.uri().path());
        let response = self.inner.call(request);
        Box::pin(async move {
            let (parts, body) = response.await?.into_parts();
            // A failure before any message comes as a trailers-only response.
            if let Some(code) = grpc_status(&parts.headers) {
                call.finish(code);
            }
            Ok(http::Response::from_parts(
                parts,
                MeteredBody { inner: body, call },
            ))
        })
    }
}

/// A response body that finishes its call's record when the status trailer passes.
pub(crate) struct MeteredBody<B> {
    inner: B,
    call: Call,
}

impl<B: Body + Unpin> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(grpc_status) {
                    this.call.finish(code);
                }
            }
            Poll::Ready(Some(Err(_))) | Poll::Ready(None) => this.call.finish(Code::Unknown),
            Poll::Pending => {}
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

/// One RPC in progress; recorded once, when it finishes or is dropped.
struct Call {
    method: &'static str,
    /// The gauge the call was counted in: a call that started before the recorder was
    /// installed (it is installed with the metrics endpoint) must not be taken off it.
    in_flight: metrics::Gauge,
    started: Instant,
    finished: bool,
}

impl Call {
    fn start(path: &str) -> Self {
        let method = method_label(path);
        let in_flight = metrics::gauge!(RPC_IN_FLIGHT, "method" => method);
        in_flight.increment(1.0);
        Self {
            method,
            in_flight,
            started: Instant::now(),
            finished: false,
        }
    }

    fn finish(&mut self, code: Code) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let method = self.method;
        self.in_flight.decrement(1.0);
        metrics::counter!(RPC_REQUESTS, "method" => method, "code" => code_name(code)).increment(1);
        metrics::histogram!(RPC_DURATION, "method" => method)
            .record(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // Dropped unfinished: the client reset the stream or the connection closed.
        self.finish(Code::Cancelled);
    }
}

pub(crate) fn grpc_status(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i32>().ok())
        .map(Code::from)
}

/// The method label: the RPC's path when it names a method we serve, "other" for anything
/// else, so that a client cannot grow the label set with made-up paths.
fn method_label(path: &str) -> &'static str {
    static METHODS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let methods = METHODS.get_or_init(|| {
        [
            crate::pb::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ]
        .into_iter()
        .flat_map(served_methods)
        // Leaked once per process: a few dozen short strings.
        .map(|path| &*Box::leak(path.into_boxed_str()))
        .collect()
    });
    methods.get(path).copied().unwrap_or("other")
}

/// `/package.Service/Method` of every method in an encoded descriptor set.
fn served_methods(descriptor_set: &[u8]) -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(descriptor_set)
        .expect("the compiled-in descriptor sets decode");
    let mut paths = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                paths.push(format!(
                    "/{}.{}/{}",
                    file.package(),
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_methods_are_labelled_and_made_up_paths_are_not() {
        assert_eq!(
            method_label("/modelregistry.v1.ModelDiscoveryService/ListModels"),
            "/modelregistry.v1.ModelDiscoveryService/ListModels"
        );
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(
            method_label("/modelregistry.v1.ModelDiscoveryService/Nope"),
            "other"
        );
    }
}
