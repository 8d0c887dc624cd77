//! Background upkeep while serving: the artifact sweeper, the pruning of the event log, and
//! its gauges.

use std::time::Duration;

use crate::config::SweepConfig;
use crate::registry::{Registry, SweepReport};
use crate::store::Store;
use crate::tasks::{self, CancellationToken, First};

/// Sweeps at start and then every `gc_interval`, until `stop`.
pub(super) async fn sweep_periodically(
    registry: Registry,
    config: SweepConfig,
    stop: CancellationToken,
) {
    let mut every = tasks::every(config.gc_interval, First::Now, stop);
    while every.tick().await {
        match registry.sweep(config.gc_grace, false).await {
            Ok(report) => log_sweep(&report),
            Err(err) => {
                tracing::warn!(error = %err, "sweep failed; trying again at the next interval")
            }
        }
    }
}

/// A sweep that found nothing is logged at debug level: it repeats every interval.
fn log_sweep(report: &SweepReport) {
    let aborted = report.stalled_uploads.as_ref().map_or(0, Vec::len);
    if report.orphans.is_empty() && aborted == 0 {
        tracing::debug!(scanned = report.scanned, "sweep found nothing to remove");
    } else {
        tracing::info!(
            scanned = report.scanned,
            removed = report.orphans.len(),
            bytes = report.orphan_bytes,
            aborted_multipart_uploads = aborted,
            "sweep removed artifact bytes that no record names"
        );
    }
}

/// Deletes the events past `retention` every `interval` (the first time one interval after
/// the start), until `stop`.
pub(super) async fn prune_events_periodically(
    registry: Registry,
    retention: Duration,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut every = tasks::every(interval, First::AfterAnInterval, stop);
    while every.tick().await {
        match registry.prune_events(retention).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, ?retention, "events past their retention deleted"),
            Err(err) => {
                tracing::warn!(error = %err, "pruning the event log failed; trying again at the next interval")
            }
        }
    }
}

/// Reads where the event log is every `interval`, for its gauges (only while metrics are
/// served), until `stop`.
pub(super) async fn report_event_log(
    registry: Registry,
    store: Store,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut every = tasks::every(interval, First::Now, stop);
    while every.tick().await {
        match store.log_backlog().await {
            Ok((last, pending)) => {
                crate::metrics::event_log(last, pending, registry.feed().lag_behind(last));
            }
            Err(err) => tracing::debug!(error = %err, "reading the event log's position failed"),
        }
    }
}
