//! Logging and traces. `RUST_LOG` sets the log's verbosity; by default our own events at info
//! and the transport and database crates quieted to warnings. With an OTLP endpoint, spans
//! also go to an OpenTelemetry collector (`traces`), continuing the caller's W3C trace
//! (`context`).

mod context;
mod escaping;
mod gate;
mod traces;

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub(crate) use context::{
    TRACE_ID, continue_trace, current_trace_id, describe_statement, tracing_enabled,
};
pub(crate) use traces::{TRACE_SPANS_DROPPED, TRACE_SPANS_EXPORTED};
pub use traces::{Telemetry, TracesError};

use crate::config::TracesConfig;

const DEFAULT_FILTER: &str = "info,h2=warn,tower=warn,hyper=warn,hyper_util=warn,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";

/// Logs to standard error. A second call (several tests in one process) keeps the first.
pub fn init() {
    let _ = tracing_subscriber::registry()
        .with(filter(None))
        .with(log_layer())
        .try_init();
}

/// Logs to standard error and, when an OTLP endpoint is configured, exports traces. The
/// returned guard flushes the spans still queued when the server stops.
pub fn init_with_traces(config: &TracesConfig) -> Result<Telemetry, TracesError> {
    let (tracer, collector, telemetry) = match traces::start(config) {
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
    let exporting = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_level(false)
        .with_target(false)
        // Nothing here reads OpenTelemetry's current context, and timing every poll of a
        // request's future is a cost per poll.
        .with_context_activation(false)
        .with_tracked_inactivity(false);
    let exporting = gate::Gate::new(exporting, collector);
    if tracing_subscriber::registry()
        .with(filter(Some(traces::STATEMENT_SPANS)))
        .with(log_layer())
        .with(exporting)
        .try_init()
        .is_ok()
    {
        context::enable();
        tracing::info!(endpoint = ?config.otlp_endpoint, "exporting traces over OTLP/gRPC");
    }
    Ok(telemetry)
}

/// One filter for every layer: `RUST_LOG` (or the default), and the statement spans that
/// traces need. Not a filter per layer: with those, a callsite that only asks whether it is
/// enabled (sqlx asks for every statement and notice) makes the next event vanish.
fn filter(also: Option<&str>) -> EnvFilter {
    let directives = std::env::var(EnvFilter::DEFAULT_ENV)
        .ok()
        .filter(|directives| !directives.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_FILTER.to_owned());
    let directives = match also {
        Some(also) => format!("{directives},{also}"),
        None => directives,
    };
    EnvFilter::try_new(&directives).unwrap_or_else(|err| {
        eprintln!("RUST_LOG: {err}; logging at the default levels");
        EnvFilter::new(DEFAULT_FILTER)
    })
}

fn log_layer<S>() -> impl Layer<S> + Send + Sync
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(escaping::EscapedFields)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
}
