//! Traces to an OpenTelemetry collector.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct TracesConfig {
    /// The OTLP/gRPC endpoint of an OpenTelemetry collector, e.g. "http://otel-collector:4317";
    /// every RPC's and REST request's span goes there, with its database statements and
    /// artifact-store calls. The standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_…`)
    /// does the same, and the other `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` variables apply.
    /// No traces are exported without either.
    #[arg(long, env = "MODELREG_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,

    /// Finished spans waiting for export at most; beyond it (a collector that is down or slow)
    /// spans are dropped and counted, never held or waited for.
    #[arg(long, env = "MODELREG_OTLP_MAX_QUEUE_SPANS", default_value_t = 2048)]
    pub otlp_max_queue_spans: usize,
}

impl Default for TracesConfig {
    fn default() -> Self {
        super::defaults::of_flags()
    }
}
