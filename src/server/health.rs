//! Health (grpc.health.v1): SERVING while the database answers and calls can be
//! authenticated, NOT_SERVING while either fails (the second only with `--auth-fail-closed`
//! and a consumers or JWKS file that is not valid), for the server as a whole and for each
//! registry service.

use std::time::Duration;

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::auth::Authenticator;
use crate::store::Store;
use crate::tasks::{self, CancellationToken, First};

/// Names of the services whose health is reported; "" is the server as a whole.
pub(super) const SERVICES: [&str; 6] = [
    "",
    "modelregistry.v1.ModelRegistrationService",
    "modelregistry.v1.ModelDiscoveryService",
    "modelregistry.v1.ModelArtifactService",
    "modelregistry.v1.ModelEventService",
    "modelregistry.v1.AgentService",
];

/// Reports SERVING while the database answers and the authenticator is ready, NOT_SERVING
/// while not.
pub(super) async fn monitor_health(
    store: Store,
    authenticator: Authenticator,
    reporter: HealthReporter,
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
        let healthy = healthy && authenticating;
        if serving != healthy {
            serving = healthy;
            let status = if healthy {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            tracing::info!(?status, "health status changed");
            for service in SERVICES {
                reporter.set_service_status(service, status).await;
            }
        }
    }
}
