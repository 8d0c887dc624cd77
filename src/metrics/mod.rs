//! Prometheus metrics: their names, the process-wide recorder, the per-RPC layer (`rpc`), the
//! per-request REST middleware (`http`), the service's state (`state`) and the `/metrics`
//! endpoint (`endpoint`).
//!
//! The recorder is installed only when `--metrics-listen` is given. Without it every
//! `metrics::` call finds no recorder and does nothing.

mod agent;
mod callbacks;
mod endpoint;
mod http;
mod rpc;
mod state;

use std::sync::OnceLock;

use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub(crate) use agent::{agent_request, agent_tool_call, llm_call, llm_tokens};
pub(crate) use callbacks::{callback_delivery, callback_failing, callback_lag};
pub(crate) use endpoint::MetricsEndpoint;
pub(crate) use http::meter_http;
pub(crate) use rpc::RpcMetricsLayer;
pub(crate) use rpc::grpc_status;
pub(crate) use state::{database_up, event_log, health_serving, shed};

pub(crate) const RPC_REQUESTS: &str = "modelreg_rpc_requests_total";
pub(crate) const RPC_DURATION: &str = "modelreg_rpc_duration_seconds";
pub(crate) const RPC_IN_FLIGHT: &str = "modelreg_rpc_in_flight";
pub(crate) const HTTP_REQUESTS: &str = "modelreg_http_requests_total";
pub(crate) const HTTP_DURATION: &str = "modelreg_http_duration_seconds";
pub(crate) const HTTP_IN_FLIGHT: &str = "modelreg_http_in_flight";
pub(crate) const DB_POOL_CONNECTIONS: &str = "modelreg_db_pool_connections";
pub(crate) const DB_POOL_MAX_CONNECTIONS: &str = "modelreg_db_pool_max_connections";
pub(crate) const DB_POOL_WAITERS: &str = "modelreg_db_pool_waiters";
pub(crate) const ARTIFACT_RECEIVED_BYTES: &str = "modelreg_artifact_received_bytes_total";
pub(crate) const ARTIFACT_SENT_BYTES: &str = "modelreg_artifact_sent_bytes_total";
const REST_IGNORED_MEMBERS: &str = "modelreg_rest_ignored_members_total";

/// Histogram buckets for RPC and REST request durations, in seconds: 50 µs to 60 s. Registry
/// reads answer in tens to hundreds of microseconds; artifact streams can take minutes.
const DURATION_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder on first use and returns a handle that renders it. One
/// process has one recorder, so several servers in one process (tests) share it.
pub(crate) fn recorder() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(RPC_DURATION.to_owned()), DURATION_BUCKETS)
            .expect("the duration buckets are not empty")
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), DURATION_BUCKETS)
            .expect("the duration buckets are not empty")
            .set_buckets_for_metric(
                Matcher::Full(agent::LLM_DURATION.to_owned()),
                agent::LLM_BUCKETS,
            )
            .expect("the duration buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if let Err(err) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %err, "another metrics recorder is installed; /metrics stays empty");
        }
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_counter!(
        RPC_REQUESTS,
        "RPCs finished, by method and gRPC status code"
    );
    metrics::describe_histogram!(
        RPC_DURATION,
        Unit::Seconds,
        "RPC duration from request to the end of the response stream, by method"
    );
    metrics::describe_gauge!(RPC_IN_FLIGHT, "RPCs in progress, by method");
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "REST requests answered, by route, method and HTTP status"
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "REST request duration from request to the end of the response body, by route and method"
    );
    metrics::describe_gauge!(HTTP_IN_FLIGHT, "REST requests in progress, by route");
    metrics::describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Open database connections, by pool and state (idle, in_use)"
    );
    metrics::describe_gauge!(
        DB_POOL_MAX_CONNECTIONS,
        "Largest size of each database pool"
    );
    metrics::describe_gauge!(
        DB_POOL_WAITERS,
        "Transactions waiting for a database connection, by pool"
    );
    metrics::describe_counter!(
        ARTIFACT_RECEIVED_BYTES,
        Unit::Bytes,
        "Artifact bytes received by uploads (gRPC and REST)"
    );
    metrics::describe_counter!(
        ARTIFACT_SENT_BYTES,
        Unit::Bytes,
        "Artifact bytes sent by downloads (gRPC and REST)"
    );
    metrics::describe_counter!(
        REST_IGNORED_MEMBERS,
        "Unknown JSON members the aimlfw REST profile ignored, by route"
    );
    agent::describe();
    callbacks::describe();
    state::describe();
    metrics::describe_counter!(
        crate::tasks::TASK_FAILURES,
        "Background tasks that panicked, by task; the server stops after one"
    );
}

/// Counts artifact bytes received from clients.
pub(crate) fn artifact_bytes_received(bytes: usize) {
    metrics::counter!(ARTIFACT_RECEIVED_BYTES).increment(bytes as u64);
}

/// Counts unknown JSON members the `aimlfw` profile ignored in one request body.
pub(crate) fn rest_ignored_members(route: &'static str, members: usize) {
    metrics::counter!(REST_IGNORED_MEMBERS, "route" => route).increment(members as u64);
}

/// Counts artifact bytes sent to clients.
pub(crate) fn artifact_bytes_sent(bytes: usize) {
    metrics::counter!(ARTIFACT_SENT_BYTES).increment(bytes as u64);
}
