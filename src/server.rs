//! Wiring: one `Application::build` shared by `main` and the tests. It connects to the
//! database, applies migrations, binds the listener (port 0 allowed) and serves gRPC with
//! reflection, health and a tracing span per RPC until the shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::codegen::http;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower_http::trace::TraceLayer;
use tracing::{Span, field};

use crate::config::{DatabaseConfig, ServeConfig};
use crate::grpc::{ArtifactService, DiscoveryService, RegistrationService};
use crate::metrics::{MetricsEndpoint, RpcMetricsLayer, grpc_status};
use crate::objects::{Objects, OpenError};
use crate::pb::{
    self, model_artifact_service_server::ModelArtifactServiceServer,
    model_discovery_service_server::ModelDiscoveryServiceServer,
    model_registration_service_server::ModelRegistrationServiceServer,
};
use crate::registry::Registry;
use crate::store::Store;

/// Names of the services whose health is reported; "" is the server as a whole.
const SERVICES: [&str; 4] = [
    "",
    "modelregistry.v1.ModelRegistrationService",
    "modelregistry.v1.ModelDiscoveryService",
    "modelregistry.v1.ModelArtifactService",
];

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot open the database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("cannot open the artifact store: {0}")]
    ArtifactStore(#[from] OpenError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server: {0}")]
    Serve(#[from] tonic::transport::Error),
}

pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    store: Store,
    registry: Registry,
    health_check_interval: Duration,
    metrics: Option<MetricsEndpoint>,
}

impl Application {
    pub async fn build(config: ServeConfig) -> Result<Self, ServerError> {
        let objects = Objects::open(&config.artifacts, &config.database.database_url)?;
        tracing::info!(location = %objects.location, "artifact store");
        let store = Store::connect(&config.database, config.statement_observer.as_ref()).await?;
        store.migrate().await?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let metrics = match config.metrics_listen {
            Some(addr) => Some(
                MetricsEndpoint::bind(addr)
                    .await
                    .map_err(|source| ServerError::Metrics { addr, source })?,
            ),
            None => None,
        };
        Ok(Self {
            listener,
            local_addr,
            registry: Registry::new(
                store.clone(),
                objects,
                config.artifacts.max_artifact_bytes.as_u64(),
            ),
            store,
            health_check_interval: config.health_check_interval,
            metrics,
        })
    }

    /// The bound address; its port is the real one when port 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The bound address of `/metrics`, when metrics are served.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsEndpoint::local_addr)
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight calls finish
    /// and closes the database pools.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        let reflection_v1 = reflection().build_v1()?;
        // grpcurl 1.8 speaks only v1alpha.
        let reflection_v1alpha = reflection().build_v1alpha()?;

        // The database answered the migrations a moment ago.
        for service in SERVICES {
            health_reporter
                .set_service_status(service, ServingStatus::Serving)
                .await;
        }
        let (stop_monitor, monitor_stopped) = watch::channel(());
        let monitor = tokio::spawn(monitor_database(
            self.store.clone(),
            health_reporter,
            self.health_check_interval,
            monitor_stopped,
        ));

        // The metrics endpoint stops with the gRPC server: when `shutdown` completes, or when
        // the server fails and drops `stop_metrics`.
        let (stop_metrics, metrics_stopped) = watch::channel(());
        let metrics = self.metrics.map(|endpoint| {
            let mut stopped = metrics_stopped;
            tokio::spawn(endpoint.serve(self.store.clone(), async move {
                let _ = stopped.changed().await;
            }))
        });
        let shutdown = async move {
            shutdown.await;
            drop(stop_metrics);
        };

        let result = Server::builder()
            .layer(RpcMetricsLayer)
            .layer(
                TraceLayer::new_for_grpc()
                    .make_span_with(rpc_span)
                    .on_request(())
                    .on_response(record_response)
                    .on_eos(record_end_of_stream)
                    .on_failure(()),
            )
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(ModelRegistrationServiceServer::new(
                RegistrationService::new(self.registry.clone()),
            ))
            .add_service(ModelDiscoveryServiceServer::new(DiscoveryService::new(
                self.registry.clone(),
            )))
            .add_service(ModelArtifactServiceServer::new(ArtifactService::new(
                self.registry,
            )))
            .serve_with_incoming_shutdown(
                // Small RPC answers must not wait for Nagle's algorithm.
                TcpIncoming::from(self.listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await;

        drop(stop_monitor);
        let _ = monitor.await;
        if let Some(metrics) = metrics {
            match metrics.await {
                Ok(Err(err)) => tracing::warn!(error = %err, "the metrics endpoint failed"),
                Err(err) => tracing::warn!(error = %err, "the metrics endpoint panicked"),
                Ok(Ok(())) => {}
            }
        }
        if let Err(err) = self.store.close().await {
            tracing::warn!(error = %err, "closing the database pool failed");
        }
        result.map_err(Into::into)
    }
}

/// Applies pending migrations to the configured database, as `serve` does at start.
pub async fn migrate(database: &DatabaseConfig) -> Result<(), ServerError> {
    let store = Store::connect(database, None).await?;
    store.migrate().await?;
    store.close().await?;
    Ok(())
}

fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        // google.rpc.ErrorInfo and BadRequest, so that clients can decode error details.
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        // Advertise only the public services.
        .include_reflection_service(false)
}

/// Reports SERVING while the database answers and NOT_SERVING while it does not.
async fn monitor_database(
    store: Store,
    reporter: HealthReporter,
    interval: Duration,
    mut stopped: watch::Receiver<()>,
) {
    let mut serving = true;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => return,
        }
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

fn rpc_span(request: &http::Request<tonic::body::Body>) -> Span {
    tracing::info_span!(
        "rpc",
        method = %request.uri().path(),
        code = field::Empty,
        latency_us = field::Empty,
        stream_us = field::Empty,
    )
}

/// Records the time to the response headers. A failure before any message comes as a
/// trailers-only response, with `grpc-status` in the headers: then the call is over here.
/// Otherwise the status comes in the trailers, at the end of the stream.
fn record_response<B>(response: &http::Response<B>, latency: Duration, span: &Span) {
    span.record("latency_us", latency.as_micros() as u64);
    if let Some(code) = grpc_status(response.headers()) {
        span.record("code", field::debug(code));
        tracing::info!("rpc finished");
    }
}

fn record_end_of_stream(trailers: Option<&http::HeaderMap>, stream: Duration, span: &Span) {
    // No trailers: a trailers-only answer, already recorded, or a stream cut off.
    if let Some(code) = trailers.and_then(grpc_status) {
        span.record("code", field::debug(code));
        span.record("stream_us", stream.as_micros() as u64);
        tracing::info!("rpc finished");
    }
}
