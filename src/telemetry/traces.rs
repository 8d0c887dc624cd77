//! Spans to an OpenTelemetry collector over OTLP/gRPC: batched on the SDK's own thread, and
//! bounded. At most `--otlp-max-queue-spans` finished spans wait for export; a span beyond
//! them, and every span of a batch the collector did not take, is dropped and counted
//! (`modelreg_trace_spans_dropped_total`). A collector that is down therefore costs a
//! request no more than handing its spans over, and the server's memory no more than the
//! queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SamplingDecision, SamplingResult, SdkTracer,
    SdkTracerProvider, ShouldSample, Span, SpanData, SpanProcessor,
};

use crate::config::TracesConfig;

pub(crate) const TRACE_SPANS_EXPORTED: &str = "modelreg_trace_spans_exported_total";
pub(crate) const TRACE_SPANS_DROPPED: &str = "modelreg_trace_spans_dropped_total";

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

/// SeaORM's modules whose spans wrap one statement each (the driver's outside a transaction,
/// the transaction's inside one), admitted at trace level while traces are exported. They
/// emit no events (SeaORM's `debug-print` is off), so the log shows nothing more.
pub(super) const STATEMENT_SPANS: &str =
    "sea_orm::driver=trace,sea_orm::database::transaction=trace";

/// The tracer that exports spans, when an endpoint is configured.
pub(super) fn start(config: &TracesConfig) -> Result<Option<(SdkTracer, Telemetry)>, TracesError> {
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
        .with_sampler(Sampler::ParentBased(Box::new(RequestsOnly)))
        .with_span_processor(Bounded {
            inner: batches,
            queue,
        })
        .with_resource(resource.build())
        .build();
    tracing::info!(endpoint = ?config.otlp_endpoint, "exporting traces over OTLP/gRPC");
    let tracer = provider.tracer("modelreg");
    Ok(Some((
        tracer,
        Telemetry {
            provider: Some(provider),
        },
    )))
}

/// A trace begins with a request (a server span); spans of background work outside any request
/// (the health checks' and the event log's statements, every few seconds) are not recorded.
/// Within a trace, the parent decides (`Sampler::ParentBased`).
#[derive(Clone, Debug)]
struct RequestsOnly;

impl ShouldSample for RequestsOnly {
    fn should_sample(
        &self,
        parent: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let decision = if *kind == SpanKind::Server {
            SamplingDecision::RecordAndSample
        } else {
            SamplingDecision::Drop
        };
        SamplingResult {
            decision,
            attributes: Vec::new(),
            trace_state: parent
                .map(|parent| parent.span().span_context().trace_state().clone())
                .unwrap_or_default(),
        }
    }
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
            metrics::counter!(TRACE_SPANS_DROPPED).increment(1);
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
            Ok(()) => metrics::counter!(TRACE_SPANS_EXPORTED).increment(spans as u64),
            Err(_) => metrics::counter!(TRACE_SPANS_DROPPED).increment(spans as u64),
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
