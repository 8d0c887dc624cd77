//! Gauges and counters of the service's state, for dashboards and alerts: readiness, the
//! database, the event log, watchers, shed requests, the served certificate, and the traces
//! exporter.

pub(crate) const HEALTH_SERVING: &str = "modelreg_health_serving";
pub(crate) const DATABASE_UP: &str = "modelreg_database_up";
pub(crate) const EVENTS_PENDING: &str = "modelreg_events_pending";
pub(crate) const EVENT_LOG_LAST_SEQUENCE: &str = "modelreg_event_log_last_sequence";
pub(crate) const EVENT_FEED_LAG: &str = "modelreg_event_feed_lag_events";
pub(crate) const OVERLOAD_SHED: &str = "modelreg_overload_shed_total";
// Recorded where they happen, named there (as `tasks::TASK_FAILURES`): modules below the
// front-ends record through the `metrics` facade, as they log through `tracing`.
use crate::registry::WATCHERS;
use crate::telemetry::{TRACE_SPANS_DROPPED, TRACE_SPANS_EXPORTED};
use crate::transport::TLS_CERTIFICATE_EXPIRY;

pub(super) fn describe() {
    metrics::describe_gauge!(
        HEALTH_SERVING,
        "1 while the server reports SERVING (readiness), 0 while NOT_SERVING or stopping"
    );
    metrics::describe_gauge!(
        DATABASE_UP,
        "1 when the last health check reached the database, 0 when it did not"
    );
    metrics::describe_gauge!(
        EVENTS_PENDING,
        "Committed events waiting for their sequence number (PostgreSQL; 0 elsewhere)"
    );
    metrics::describe_gauge!(
        EVENT_LOG_LAST_SEQUENCE,
        "The last sequence number of the event log, as this replica last read it"
    );
    metrics::describe_gauge!(
        EVENT_FEED_LAG,
        "Numbered events not yet published to this replica's watchers"
    );
    metrics::describe_gauge!(
        WATCHERS,
        "Open watch streams (gRPC WatchModels and REST Server-Sent Events)"
    );
    metrics::describe_counter!(
        OVERLOAD_SHED,
        "Requests refused at once at --max-concurrent-requests, by API (grpc, rest)"
    );
    metrics::describe_gauge!(
        TLS_CERTIFICATE_EXPIRY,
        metrics::Unit::Seconds,
        "When the served TLS certificate expires (its notAfter), in Unix seconds"
    );
    metrics::describe_counter!(
        TRACE_SPANS_EXPORTED,
        "Spans the OpenTelemetry exporter delivered to the collector"
    );
    metrics::describe_counter!(
        TRACE_SPANS_DROPPED,
        "Spans dropped: the exporter's queue was full or the collector refused or missed them"
    );
    // Counters with no sample are not rendered; alerts on them need a zero to start from.
    for api in ["grpc", "rest"] {
        metrics::counter!(OVERLOAD_SHED, "api" => api).increment(0);
    }
    metrics::counter!(TRACE_SPANS_EXPORTED).increment(0);
    metrics::counter!(super::ARTIFACT_RECEIVED_BYTES).increment(0);
    metrics::counter!(super::ARTIFACT_SENT_BYTES).increment(0);
    metrics::counter!(TRACE_SPANS_DROPPED).increment(0);
    metrics::gauge!(WATCHERS).increment(0.0);
}

pub(crate) fn health_serving(serving: bool) {
    metrics::gauge!(HEALTH_SERVING).set(f64::from(u8::from(serving)));
}

pub(crate) fn database_up(up: bool) {
    metrics::gauge!(DATABASE_UP).set(f64::from(u8::from(up)));
}

/// The event log as last read: its last sequence, the events still waiting for a number, and
/// how far this replica's watchers are behind it.
pub(crate) fn event_log(last_sequence: i64, pending: i64, feed_lag: i64) {
    metrics::gauge!(EVENT_LOG_LAST_SEQUENCE).set(last_sequence as f64);
    metrics::gauge!(EVENTS_PENDING).set(pending as f64);
    metrics::gauge!(EVENT_FEED_LAG).set(feed_lag.max(0) as f64);
}

/// One request refused at the limit of requests in progress.
pub(crate) fn shed(api: &'static str) {
    metrics::counter!(OVERLOAD_SHED, "api" => api).increment(1);
}
