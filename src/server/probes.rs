//! `--health-listen`: `grpc.health.v1` alone, in plaintext, on an address of its own. Probes
//! that cannot speak TLS (Kubernetes' gRPC probes) reach it while the service port serves TLS,
//! and it answers until the very end of a shutdown, so that readiness is seen turning
//! NOT_SERVING while calls in progress still finish.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};

use crate::tasks::CancellationToken;

pub(super) struct HealthPort {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl HealthPort {
    /// Binds the address (port 0 picks a free port).
    pub(super) async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            local_addr,
        })
    }

    pub(super) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Answers health checks from `reporter` until `stop`.
    pub(super) async fn serve(self, reporter: HealthReporter, stop: CancellationToken) {
        let health = HealthServer::new(HealthService::from_health_reporter(reporter));
        let served = Server::builder()
            .add_service(health)
            .serve_with_incoming_shutdown(TcpIncoming::from(self.listener), stop.cancelled_owned())
            .await;
        if let Err(err) = served {
            tracing::warn!(error = %err, "the health port failed");
        }
    }
}
