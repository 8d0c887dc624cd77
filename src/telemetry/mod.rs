//! Logging and traces. `RUST_LOG` sets the log's verbosity; by default our own events at info
//! and the transport and database crates quieted to warnings. With an OTLP endpoint, spans
//! also go to an OpenTelemetry collector (`traces`), continuing the caller's W3C trace
//! (`context`).

mod context;
mod escaping;
mod traces;

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

pub(crate) use context::{
    TRACE_ID, continue_trace, current_trace_id, describe_statement, tracing_enabled,
};
pub use traces::{Telemetry, TracesError};

use crate::config::TracesConfig;

const DEFAULT_FILTER: &str = "info,h2=warn,tower=warn,hyper=warn,hyper_util=warn,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";

/// Logs to standard error. A second call (several tests in one process) keeps the first.
pub fn init() {
    let _ = tracing_subscriber::registry().with(log_layer()).try_init();
}

/// Logs to standard error and, when an OTLP endpoint is configured, exports traces. The
/// returned guard flushes the spans still queued when the server stops.
pub fn init_with_traces(config: &TracesConfig) -> Result<Telemetry, TracesError> {
    let (layer, telemetry) = match traces::start(config) {
        Ok(Some(exporter)) => exporter,
        Ok(None) => {
            init();
            return Ok(Telemetry::none());
        }
        Err(err) => {
            // The error is logged by the caller.
            init();
            return Err(err);
        }
    };
    if tracing_subscriber::registry()
        .with(vec![log_layer(), layer])
        .try_init()
        .is_ok()
    {
        context::enable();
    }
    Ok(telemetry)
}

fn log_layer() -> Box<dyn Layer<Registry> + Send + Sync> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    tracing_subscriber::fmt::layer()
        .fmt_fields(escaping::EscapedFields)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter)
        .boxed()
}
