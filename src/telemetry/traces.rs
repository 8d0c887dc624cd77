//! Spans to an OpenTelemetry collector over OTLP/gRPC: batched on the SDK's own thread, and
//! bounded. At most `--otlp-max-queue-spans` finished spans wait for export; a span beyond
//! them, and every span of a batch the collector did not take, is dropped and counted
//! (`modelreg_trace_spans_dropped_total`). A collector that is down therefore costs the
//! server's memory no more than the queue, and, since a failed export stops the tracing of
//! most requests (`Collector`, `gate`), a request next to nothing.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, Span, SpanData,
    SpanProcessor,
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

/// The tracer that exports spans, when an endpoint is configured, and what it knows of the
/// collector.
pub(super) fn start(
    config: &TracesConfig,
) -> Result<Option<(SdkTracer, Arc<Collector>, Telemetry)>, TracesError> {
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
    let collector = Arc::<Collector>::default();
    let queue = Arc::new(Queue {
        held: AtomicUsize::new(0),
        max: config.otlp_max_queue_spans,
        collector: collector.clone(),
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
        // Which requests are traced is decided before a span reaches OpenTelemetry (see
        // `gate`); within a trace, the caller's sampling decision holds.
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .with_span_processor(Bounded {
            inner: batches,
            queue,
        })
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("modelreg");
    Ok(Some((
        tracer,
        collector,
        Telemetry {
            provider: Some(provider),
        },
    )))
}

/// While the collector is down, at most one trace this often: the one that finds out when it
/// is back. The others record no spans, and each counts as one dropped span.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Whether the last export reached the collector.
#[derive(Debug, Default)]
pub(super) struct Collector {
    down: AtomicBool,
    /// While it is down: when the next trace may be recorded, in milliseconds since `epoch`.
    next_probe: AtomicU64,
    epoch: OnceLock<Instant>,
}

impl Collector {
    /// Whether to record a trace now: always while the collector takes them, once per
    /// `PROBE_INTERVAL` while it does not (each other one counts as a dropped span).
    pub(super) fn worth_a_trace(&self) -> bool {
        if !self.down.load(Ordering::Relaxed) {
            return true;
        }
        let now = self.epoch.get_or_init(Instant::now).elapsed().as_millis() as u64;
        let next = self.next_probe.load(Ordering::Relaxed);
        let probe = now >= next
            && self
                .next_probe
                .compare_exchange(
                    next,
                    now + PROBE_INTERVAL.as_millis() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        if !probe {
            metrics::counter!(TRACE_SPANS_DROPPED).increment(1);
        }
        probe
    }

    fn exported(&self, reached: bool) {
        self.down.store(!reached, Ordering::Relaxed);
    }
}

/// Spans handed over and not yet exported or dropped, and the collector that takes them.
#[derive(Debug)]
struct Queue {
    held: AtomicUsize,
    max: usize,
    collector: Arc<Collector>,
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
        self.queue.collector.exported(exported.is_ok());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collector_that_is_down_gets_one_trace_a_probe_interval_and_every_one_once_back() {
        let collector = Collector::default();
        assert!(
            (0..100).all(|_| collector.worth_a_trace()),
            "up: every request"
        );

        collector.exported(false);
        let traced = (0..100).filter(|_| collector.worth_a_trace()).count();
        assert_eq!(
            traced, 1,
            "down: one probe, then none until the interval has passed"
        );
        let later = collector.epoch.get().unwrap().elapsed().as_millis() as u64;
        collector
            .next_probe
            .store(later.saturating_sub(1), Ordering::Relaxed);
        assert!(
            collector.worth_a_trace(),
            "the next probe, an interval later"
        );
        assert!(!collector.worth_a_trace());

        collector.exported(true);
        assert!(
            (0..100).all(|_| collector.worth_a_trace()),
            "back: every request"
        );
    }
}
