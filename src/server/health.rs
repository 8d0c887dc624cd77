//! Health (grpc.health.v1): readiness is SERVING while the database answers and calls can be
//! authenticated, NOT_SERVING while either fails (the second only with `--auth-fail-closed`
//! and a consumers or JWKS file that is not valid) and from the shutdown signal on, for the
//! server as a whole and for each registry service. Liveness (`liveness`) is SERVING while
//! the process answers at all: a restart cannot bring a database back.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::auth::Authenticator;
use crate::store::Store;
use crate::tasks::{self, CancellationToken, First};

/// The service name whose health ignores the database, for liveness probes.
pub(super) const LIVENESS: &str = "liveness";

/// Names of the services whose readiness is reported; "" is the server as a whole.
pub(super) const SERVICES: [&str; 6] = [
    "",
    "modelregistry.v1.ModelRegistrationService",
    "modelregistry.v1.ModelDiscoveryService",
    "modelregistry.v1.ModelArtifactService",
    "modelregistry.v1.ModelEventService",
    "modelregistry.v1.AgentService",
];

/// The readiness of every service: what the health monitor finds, until the server drains,
/// and NOT_SERVING from then on (a check that ends after the signal cannot undo it).
#[derive(Clone)]
pub(super) struct Readiness {
    reporter: HealthReporter,
    draining: Arc<Mutex<bool>>,
}

impl Readiness {
    /// Every service, liveness included, starts out serving: the database answered the
    /// migrations a moment ago.
    pub(super) async fn serving(reporter: HealthReporter) -> Self {
        reporter
            .set_service_status(LIVENESS, ServingStatus::Serving)
            .await;
        let readiness = Self {
            reporter,
            draining: Arc::default(),
        };
        readiness.set(ServingStatus::Serving).await;
        readiness
    }

    pub(super) fn reporter(&self) -> &HealthReporter {
        &self.reporter
    }

    /// NOT_SERVING for good: the server is stopping.
    pub(super) async fn drain(&self) {
        let mut draining = self.draining.lock().await;
        *draining = true;
        self.set_now(ServingStatus::NotServing).await;
    }

    async fn set(&self, status: ServingStatus) {
        let draining = self.draining.lock().await;
        if !*draining {
            self.set_now(status).await;
        }
    }

    async fn set_now(&self, status: ServingStatus) {
        crate::metrics::health_serving(status == ServingStatus::Serving);
        for service in SERVICES {
            self.reporter.set_service_status(service, status).await;
        }
    }
}

/// Reports SERVING while the database answers and the authenticator is ready, NOT_SERVING
/// while not, until `stop` (the shutdown signal, from which on it stays NOT_SERVING).
pub(super) async fn monitor_health(
    store: Store,
    authenticator: Authenticator,
    readiness: Readiness,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut serving = true;
    let mut was_authenticating = true;
    let mut every = tasks::every(interval, First::AfterAnInterval, stop);
    while every.tick().await {
        let healthy =
            match tokio::time::timeout(interval.max(Duration::from_secs(1)), store.ping()).await {
                Ok(Ok(())) => true,
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "database health check failed");
                    false
                }
                Err(_) => {
                    tracing::warn!("database health check timed out");
                    false
                }
            };
        let authenticating = authenticator.is_ready();
        if authenticating != was_authenticating {
            was_authenticating = authenticating;
            if authenticating {
                tracing::info!("--auth-fail-closed: the consumers and JWKS files are valid again");
            } else {
                tracing::warn!(
                    "--auth-fail-closed: every call is refused until the consumers and JWKS files are valid"
                );
            }
        }
        crate::metrics::database_up(healthy);
        let healthy = healthy && authenticating;
        if serving != healthy {
            serving = healthy;
            let status = if healthy {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            tracing::info!(?status, "health status changed");
            readiness.set(status).await;
        }
    }
}
