//! A tracing span per RPC, with its method, status code and timings, in the caller's trace.

use std::time::Duration;

use tonic::codegen::http;
use tracing::{Span, field};

use crate::metrics::grpc_status;

/// The path prefix of the health service's calls.
const HEALTH: &str = "/grpc.health.v1.Health/";

/// The call's span: a child of the caller's span when it sends a W3C `traceparent`, named for
/// OpenTelemetry by its method.
pub(super) fn rpc_span(request: &http::Request<tonic::body::Body>) -> Span {
    let method = request.uri().path();
    if method.starts_with(HEALTH) {
        // Probes ask every few seconds: logged as calls, never a trace.
        return tracing::info_span!(
            "health",
            method = %method,
            principal = field::Empty,
            code = field::Empty,
            latency_us = field::Empty,
            stream_us = field::Empty,
        );
    }
    let span = tracing::info_span!(
        "rpc",
        method = %method,
        otel.name = method.trim_start_matches('/'),
        otel.kind = "server",
        // Recorded when traces are exported.
        trace_id = field::Empty,
        // Recorded once the call is authenticated.
        principal = field::Empty,
        code = field::Empty,
        latency_us = field::Empty,
        stream_us = field::Empty,
    );
    crate::telemetry::continue_trace(&span, request.headers());
    span
}

/// Records the time to the response headers. A failure before any message comes as a
/// trailers-only response, with `grpc-status` in the headers: then the call is over here.
/// Otherwise the status comes in the trailers, at the end of the stream.
pub(super) fn record_response<B>(response: &http::Response<B>, latency: Duration, span: &Span) {
    span.record("latency_us", latency.as_micros() as u64);
    if let Some(code) = grpc_status(response.headers()) {
        span.record("code", field::debug(code));
        tracing::info!("rpc finished");
    }
}

pub(super) fn record_end_of_stream(
    trailers: Option<&http::HeaderMap>,
    stream: Duration,
    span: &Span,
) {
    // No trailers: a trailers-only answer, already recorded, or a stream cut off.
    if let Some(code) = trailers.and_then(grpc_status) {
        span.record("code", field::debug(code));
        span.record("stream_us", stream.as_micros() as u64);
        tracing::info!("rpc finished");
    }
}
