//! The `/metrics` endpoint: Prometheus text format over plain HTTP, on its own listener so that
//! it can stay off the public gRPC address. Pool gauges are read at scrape time.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use super::{DB_POOL_CONNECTIONS, DB_POOL_MAX_CONNECTIONS, DB_POOL_WAITERS};
use crate::store::Store;

/// How often recorded histogram samples are folded into their buckets between scrapes, so
/// that an unscraped server does not keep every sample.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(crate) struct MetricsEndpoint {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl MetricsEndpoint {
    /// Binds the endpoint's address (port 0 picks a free port) and installs the recorder.
    pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        super::recorder();
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            local_addr,
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves `/metrics` until `shutdown` completes.
    pub(crate) async fn serve(
        self,
        store: Store,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = super::recorder();
        let upkeep = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
            loop {
                ticks.tick().await;
                handle.run_upkeep();
            }
        });
        let app = Router::new().route(
            "/metrics",
            get(move || {
                let body = render(handle, &store);
                async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], body) }
            }),
        );
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        upkeep.abort();
        served
    }
}

fn render(handle: &PrometheusHandle, store: &Store) -> String {
    for pool in store.pool_stats() {
        let name = pool.name;
        let in_use = pool.size.saturating_sub(pool.idle);
        metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => name, "state" => "idle")
            .set(pool.idle as f64);
        metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => name, "state" => "in_use")
            .set(in_use as f64);
        metrics::gauge!(DB_POOL_MAX_CONNECTIONS, "pool" => name).set(pool.max as f64);
        metrics::gauge!(DB_POOL_WAITERS, "pool" => name).set(pool.waiters as f64);
    }
    handle.render()
}
