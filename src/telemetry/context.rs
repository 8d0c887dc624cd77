//! The trace a request belongs to: the caller's, when it sends a W3C `traceparent` (gRPC
//! metadata and HTTP headers alike), continued in the request's span; its id in the request's
//! log lines and in error details, so that a user can quote it.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::{Span, field};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The key of the trace id in `ErrorInfo.metadata` and in a problem document's `metadata`.
pub(crate) const TRACE_ID: &str = "traceId";

/// Whether spans are exported: without it there is no trace to continue or to quote.
static ENABLED: AtomicBool = AtomicBool::new(false);

pub(super) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

pub(crate) fn tracing_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Makes `span` (a request's, not yet entered) a child of the caller's span, and records the
/// trace id in its `trace_id` field.
pub(crate) fn continue_trace(span: &Span, headers: &http::HeaderMap) {
    if !tracing_enabled() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    if let Some(trace_id) = trace_id_of(span) {
        span.record("trace_id", field::display(trace_id));
    }
}

/// The trace id of the current request, as 32 hexadecimal digits, while traces are exported.
pub(crate) fn current_trace_id() -> Option<String> {
    if !tracing_enabled() {
        return None;
    }
    trace_id_of(&Span::current()).map(|id| id.to_string())
}

/// Annotates the current span (the database driver's span of one statement) with the
/// statement's text, its placeholders unfilled: bound values never leave the process.
pub(crate) fn describe_statement(statement: &str, system: &'static str) {
    if !tracing_enabled() {
        return;
    }
    let span = Span::current();
    span.set_attribute("db.system.name", system);
    span.set_attribute("db.query.text", statement.to_owned());
}

fn trace_id_of(span: &Span) -> Option<TraceId> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| span_context.trace_id())
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
