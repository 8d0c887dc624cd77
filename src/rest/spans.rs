//! A tracing span per REST request, with its method, path, caller, status and time to the
//! answer, and one log line when the answer starts, as each gRPC call has.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use tracing::{Span, field};

/// The request's span: a child of the caller's span when it sends a W3C `traceparent`.
pub(crate) fn request_span(request: &Request<Body>) -> Span {
    let span = tracing::info_span!(
        "http",
        method = %request.method(),
        path = %request.uri().path(),
        // The route's template is not known yet: OpenTelemetry's name for such a span.
        otel.name = request.method().as_str(),
        otel.kind = "server",
        // Recorded when traces are exported.
        trace_id = field::Empty,
        // Recorded once the request is authenticated.
        principal = field::Empty,
        status = field::Empty,
        latency_us = field::Empty,
    );
    crate::telemetry::continue_trace(&span, request.headers());
    span
}

pub(crate) fn record_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    span.record("status", response.status().as_u16());
    span.record("latency_us", latency.as_micros() as u64);
    tracing::info!("request answered");
}
