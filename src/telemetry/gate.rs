//! Which spans the OpenTelemetry layer sees at all. Building a span for export costs a request
//! about as much as the request itself (the layer copies every field into an OpenTelemetry
//! builder, and times every poll), so the layer is shown only the spans of traces that will be
//! exported: a request's span when a trace is worth starting (see `Collector`), and the spans
//! beneath it. Health checks, background work and, while the collector is down, most requests
//! pass it by for the price of one look at their parent.

use std::any::TypeId;
use std::sync::Arc;

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::traces::Collector;

/// The names of the spans that begin a trace: a gRPC call's and a REST request's.
const REQUEST_SPANS: [&str; 2] = ["rpc", "http"];

/// Marks a span the inner layer was shown.
struct Traced;

pub(super) struct Gate<L> {
    inner: L,
    collector: Arc<Collector>,
}

impl<L> Gate<L> {
    pub(super) fn new(inner: L, collector: Arc<Collector>) -> Self {
        Self { inner, collector }
    }
}

fn traced<S>(id: &Id, ctx: &Context<'_, S>) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.span(id)
        .is_some_and(|span| span.extensions().get::<Traced>().is_some())
}

impl<S, L> Layer<S> for Gate<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let shown = match span.parent() {
            Some(parent) => parent.extensions().get::<Traced>().is_some(),
            None => {
                let metadata = attrs.metadata();
                metadata.target().starts_with("modelreg")
                    && REQUEST_SPANS.contains(&metadata.name())
                    && self.collector.worth_a_trace()
            }
        };
        if shown {
            span.extensions_mut().insert(Traced);
            drop(span);
            self.inner.on_new_span(attrs, id, ctx);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if traced(id, &ctx) {
            self.inner.on_record(id, values, ctx);
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        if traced(id, &ctx) && traced(follows, &ctx) {
            self.inner.on_follows_from(id, follows, ctx);
        }
    }

    /// Warnings and errors become events of their span; the rest of the log stays in the log.
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() <= Level::WARN
            && ctx
                .event_span(event)
                .is_some_and(|span| span.extensions().get::<Traced>().is_some())
        {
            self.inner.on_event(event, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if traced(id, &ctx) {
            self.inner.on_enter(id, ctx);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if traced(id, &ctx) {
            self.inner.on_exit(id, ctx);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if traced(&id, &ctx) {
            self.inner.on_close(id, ctx);
        }
    }

    fn register_callsite(
        &self,
        _metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::always()
    }

    /// What `OpenTelemetrySpanExt` looks for (the span's context, a parent set on it).
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarded as is; the inner layer answers for its own types.
        unsafe { self.inner.downcast_raw(id) }
    }
}
