//! The server's background work, started under one supervisor (see `tasks`): health probing
//! and the plaintext health port, the consumers, JWKS and certificate file reloads, the event
//! log's feed, sequencer and pruner, the sweeper and the metrics endpoint.

use super::Application;
use super::health::monitor_health;
use super::upkeep::{prune_events_periodically, report_event_log, sweep_periodically};
use crate::auth::watch_files;
use crate::tasks::{CancellationToken, Supervisor};
use crate::transport::TlsServer;

pub(super) struct Background {
    pub(super) supervisor: Supervisor,
    /// The TLS acceptor, when TLS is served (its files are watched in the background).
    pub(super) tls_acceptor: Option<tokio_rustls::TlsAcceptor>,
    /// Cancel it at the shutdown signal: health checks stop changing readiness then.
    pub(super) draining: CancellationToken,
    /// Cancel it when serving ends: the metrics endpoint stops then.
    pub(super) serving_ends: CancellationToken,
}

impl Application {
    /// Starts every background task; the TLS files, the watched authentication files and the
    /// metrics endpoint are handed over to their tasks.
    pub(super) fn start_background(&mut self) -> Background {
        let supervisor = Supervisor::new();
        let stop = supervisor.stopping();
        let draining = stop.child_token();
        supervisor.spawn(
            "health",
            monitor_health(
                self.store.clone(),
                self.authenticator.clone(),
                self.readiness.clone(),
                self.health_check_interval,
                draining.clone(),
            ),
        );
        // Until everything else has stopped: probes see the whole shutdown.
        if let Some(port) = self.health_port.take() {
            let reporter = self.readiness.reporter().clone();
            supervisor.spawn("health port", port.serve(reporter, stop.clone()));
        }
        supervisor.spawn(
            "auth files",
            watch_files(
                std::mem::take(&mut self.auth_files),
                self.auth_reload_interval,
                stop.clone(),
            ),
        );
        let tls_acceptor =
            self.tls
                .take()
                .map(TlsServer::into_parts)
                .map(|(acceptor, reloader)| {
                    supervisor.spawn("tls files", reloader.run(stop.clone()));
                    acceptor
                });
        if !self.sweep.gc_interval.is_zero() {
            supervisor.spawn(
                "sweeper",
                sweep_periodically(self.registry.clone(), self.sweep.clone(), stop.clone()),
            );
        }
        let poll_interval = self.events.event_poll_interval;
        supervisor.spawn(
            "event feed",
            self.registry
                .feed()
                .clone()
                .run(self.store.clone(), poll_interval, stop.clone()),
        );
        supervisor.spawn(
            "event sequencer",
            self.store
                .clone()
                .number_events_continuously(poll_interval, stop.clone()),
        );
        supervisor.spawn(
            "event pruner",
            prune_events_periodically(
                self.registry.clone(),
                self.events.event_retention,
                self.events.event_prune_interval,
                stop.clone(),
            ),
        );
        supervisor.spawn(
            "callbacks",
            crate::callbacks::deliver_continuously(
                self.registry.clone(),
                self.callbacks.clone(),
                stop.clone(),
            ),
        );
        // The metrics endpoint stops when serving does: at the shutdown signal, or when the
        // server fails.
        let serving_ends = stop.child_token();
        if let Some(endpoint) = self.metrics.take() {
            supervisor.spawn(
                "event log gauges",
                report_event_log(
                    self.registry.clone(),
                    self.store.clone(),
                    self.health_check_interval,
                    stop.clone(),
                ),
            );
            let (store, ends) = (self.store.clone(), serving_ends.clone());
            supervisor.spawn("metrics endpoint", async move {
                if let Err(err) = endpoint.serve(store, ends.cancelled_owned()).await {
                    tracing::warn!(error = %err, "the metrics endpoint failed");
                }
            });
        }
        Background {
            supervisor,
            tls_acceptor,
            draining,
            serving_ends,
        }
    }
}
