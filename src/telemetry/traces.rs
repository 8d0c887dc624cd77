//! Spans to an OpenTelemetry collector over OTLP/gRPC: batched on the SDK's own thread, and
//! bounded. At most `--otlp-max-queue-spans` finished spans wait for export; a span beyond
//! them, and every span of a batch the collector did not take, is dropped and counted
//! (`modelreg_trace_spans_dropped_total`). A collector that is down therefore costs a
//! request no more than handing its spans over, and the server's memory no more than the
//! queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, Span, SpanData, SpanProcessor,
};
use tracing::Metadata;
use tracing_subscriber::filter::dynamic_filter_fn;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::{Layer, Registry};

use crate::config::TracesConfig;

/// The standard variables that name an endpoint, as `--otlp-endpoint` does.
const ENDPOINT_VARIABLES: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

#[derive(Debug, thiserror::Error)]
pub enum TracesError {
    #[error("the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The exporter, while traces are exported: stopping it exports what is queued.
#[must_use = "dropping it loses the spans still queued; call shutdown"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub(super) fn none() -> Self {
        Self { provider: None }
    }

    /// Exports the spans still queued (within the exporter's timeout) and stops.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "the last spans could not be exported");
        }
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The tracing layer that exports spans, when an endpoint is configured.
pub(super) fn start(config: &TracesConfig) -> Result<Option<(BoxedLayer, Telemetry)>, TracesError> {
    let from_environment = ENDPOINT_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
    if config.otlp_endpoint.is_none() && !from_environment {
        return Ok(None);
    }
    let mut exporter = SpanExporter::builder().with_tonic();
    if let Some(endpoint) = &config.otlp_endpoint {
        exporter = exporter.with_endpoint(endpoint.clone());
    }
    let queue = Arc::new(Queue {
        held: AtomicUsize::new(0),
        max: config.otlp_max_queue_spans,
    });
    let exporter = Counted {
        inner: exporter.build()?,
        queue: queue.clone(),
    };
    let batches = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(config.otlp_max_queue_spans.max(1))
                .build(),
        )
        .build();
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("modelreg");
    }
    let provider = SdkTracerProvider::builder()
        .with_span_processor(Bounded {
            inner: batches,
            queue,
        })
        .with_resource(resource.build())
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("modelreg"))
        .with_location(false)
        .with_threads(false)
        .with_filter(dynamic_filter_fn(exported))
        .boxed();
    tracing::info!(endpoint = ?config.otlp_endpoint, "exporting traces over OTLP/gRPC");
    Ok(Some((
        layer,
        Telemetry {
            provider: Some(provider),
        },
    )))
}

/// What becomes part of a trace: the service's own spans (every request's, the artifact
/// store's) and its warnings, and the database driver's spans of the statements a request
/// makes, which the store annotates with the statement's text. Not the statements of
/// background work (health checks, the event log's polls: a trace each, every few seconds),
/// nor any other crate's spans or events (SeaORM's debug events would carry bound values).
fn exported(metadata: &Metadata<'_>, context: &LayerContext<'_, Registry>) -> bool {
    let target = metadata.target();
    if target.starts_with("modelreg") {
        return metadata.is_span() && *metadata.level() <= tracing::Level::INFO
            || *metadata.level() <= tracing::Level::WARN;
    }
    metadata.is_span()
        && is_statement_span(target, metadata.name())
        && context.lookup_current().is_some()
}

/// SeaORM's spans around one statement (the driver's outside a transaction, the
/// transaction's inside one), and a transaction's end.
fn is_statement_span(target: &str, name: &str) -> bool {
    (target.starts_with("sea_orm::driver::") || target == "sea_orm::database::transaction")
        && matches!(
            name,
            "execute"
                | "execute_raw"
                | "execute_unprepared"
                | "query_one"
                | "query_one_raw"
                | "query_all"
                | "query_all_raw"
                | "stream"
                | "stream_raw"
                | "commit"
                | "rollback"
        )
}

/// Spans handed over and not yet exported or dropped.
#[derive(Debug)]
struct Queue {
    held: AtomicUsize,
    max: usize,
}

/// Takes a finished span only while the queue has room; the batch processor behind it, whose
/// own queue is as large, then never drops one uncounted.
#[derive(Debug)]
struct Bounded {
    inner: BatchSpanProcessor,
    queue: Arc<Queue>,
}

impl SpanProcessor for Bounded {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let admitted = self
            .queue
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < self.queue.max).then_some(held + 1)
            })
            .is_ok();
        if admitted {
            self.inner.on_end(span);
        } else {
            crate::metrics::spans_dropped(1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
}

/// Counts what each batch became: exported, or dropped when the collector did not take it.
#[derive(Debug)]
struct Counted {
    inner: SpanExporter,
    queue: Arc<Queue>,
}

impl opentelemetry_sdk::trace::SpanExporter for Counted {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let exported = self.inner.export(batch).await;
        self.queue.held.fetch_sub(spans, Ordering::AcqRel);
        match &exported {
            Ok(()) => crate::metrics::spans_exported(spans),
            Err(_) => crate::metrics::spans_dropped(spans),
        }
        exported
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
