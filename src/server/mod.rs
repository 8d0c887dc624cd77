//! Wiring: one `Application::build` shared by `main` and the tests. It connects to the
//! database, applies migrations, binds the listener (port 0 allowed) and serves gRPC (with
//! reflection and health) and REST on it, a tracing span per call, until the shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tower_http::trace::TraceLayer;

mod background;
mod drain;
mod health;
mod import;
mod spans;
mod upkeep;

pub use import::{ImportReport, import_mme};

use background::Background;
use drain::CallsInProgress;
use health::SERVICES;
use spans::{record_end_of_stream, record_response, rpc_span};

use crate::agent::{Agent, AgentGrpc};
use crate::auth::{AuthSetupError, Authenticator, WatchedFile};
use crate::config::{
    DatabaseConfig, EventsConfig, GcConfig, LimitsConfig, RestProfile, ServeConfig, SweepConfig,
};
use crate::grpc::{
    ArtifactService, AuthenticateLayer, DeadlineLayer, DiscoveryService, EventService,
    RegistrationService, StreamLimits, overload_layers,
};
use crate::metrics::{MetricsEndpoint, RpcMetricsLayer};
use crate::objects::{Objects, OpenError};
use crate::pb::{
    self, agent_service_server::AgentServiceServer,
    model_artifact_service_server::ModelArtifactServiceServer,
    model_discovery_service_server::ModelDiscoveryServiceServer,
    model_event_service_server::ModelEventServiceServer,
    model_registration_service_server::ModelRegistrationServiceServer,
};
use crate::registry::Registry;
use crate::registry::SweepReport;
use crate::rest::{self, RestLayer};
use crate::store::Store;
use crate::transport::{TlsError, TlsIncoming, TlsServer, exposure_warning, plain_incoming};

/// The agent's REST routes get this beyond `--agent-max-duration`, so that the agent's own
/// bound (which names its flag) is what a client meets.
const AGENT_DEADLINE_SLACK: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot open the database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("cannot open the artifact store: {0}")]
    ArtifactStore(#[from] OpenError),
    #[error("authentication: {0}")]
    Authentication(#[from] AuthSetupError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
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
    #[error("reading the page-token key: {0}")]
    Secrets(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("import: {0}")]
    Import(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("sweeping the artifact store: {0}")]
    Sweep(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("gRPC server: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("the agent: {0}")]
    Agent(String),
    #[error("the background task {0} failed; the server stopped (see the log)")]
    BackgroundTask(&'static str),
}

pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    store: Store,
    registry: Registry,
    agent: Agent,
    /// `--agent-max-duration`: the REST deadline of the agent's routes.
    agent_max_duration: Duration,
    health_check_interval: Duration,
    limits: LimitsConfig,
    rest_profile: RestProfile,
    sweep: SweepConfig,
    events: EventsConfig,
    metrics: Option<MetricsEndpoint>,
    authenticator: Authenticator,
    /// The consumers file and a JWKS file, re-read when they change.
    auth_files: Vec<WatchedFile>,
    auth_reload_interval: Duration,
    /// `None` serves plaintext.
    tls: Option<TlsServer>,
}

impl Application {
    pub async fn build(config: ServeConfig) -> Result<Self, ServerError> {
        let tls = TlsServer::from_config(&config.tls)?;
        let client_certificates_required = config.tls.tls_client_ca.is_some();
        let (authenticator, auth_files) =
            Authenticator::start(&config.auth, client_certificates_required).await?;
        if let Some(warning) =
            exposure_warning(config.listen, tls.is_some(), authenticator.is_enabled())
        {
            tracing::warn!("{warning}");
        } else if !authenticator.is_enabled() {
            tracing::info!(
                "no authentication configured: every caller is an anonymous administrator"
            );
        }
        let objects = Objects::open(&config.artifacts, &config.database.database_url)?;
        tracing::info!(location = %objects.location, "artifact store");
        let store = Store::connect(&config.database, config.statement_observer.as_ref()).await?;
        store.migrate().await?;
        let page_token_key = store
            .page_token_key()
            .await
            .map_err(|err| ServerError::Secrets(err.into()))?;
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
        let registry = Registry::new(
            store.clone(),
            objects,
            config.artifacts.max_artifact_bytes.as_u64(),
        )
        .with_watches(
            config.events.watch_buffer as usize,
            config.events.watch_heartbeat,
        )
        .with_page_token_key(page_token_key);
        let agent = Agent::new(registry.clone(), &config.agent).map_err(ServerError::Agent)?;
        Ok(Self {
            listener,
            local_addr,
            registry,
            agent,
            agent_max_duration: config.agent.agent_max_duration,
            store,
            health_check_interval: config.health_check_interval,
            limits: config.limits,
            rest_profile: config.rest_profile,
            sweep: config.sweep,
            events: config.events,
            metrics,
            authenticator,
            auth_files,
            auth_reload_interval: config.auth.auth_reload_interval,
            tls,
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
    pub async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
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
        let Background {
            supervisor,
            tls_acceptor,
            serving_ends,
        } = self.start_background(health_reporter);
        let (grace_started, grace) = tokio::sync::oneshot::channel::<()>();
        let calls = CallsInProgress::new();
        let shutdown = {
            let (calls, registry) = (calls.clone(), self.registry.clone());
            let supervisor = supervisor.clone();
            async move {
                // The signal, or a background task that failed (see `tasks`).
                tokio::select! {
                    () = shutdown => {}
                    () = supervisor.failed() => {}
                }
                serving_ends.cancel();
                drop(grace_started);
                // Watch streams never end by themselves: once the other calls are done, they
                // end with UNAVAILABLE and their clients resume on another replica.
                tokio::spawn(async move {
                    calls.drained().await;
                    registry.close_watches().await;
                });
            }
        };
        let limits = &self.limits;
        let max_message = limits.max_message_bytes.as_u64() as usize;
        let in_progress = Arc::new(Semaphore::new(limits.max_concurrent_requests));
        let streams = StreamLimits {
            max_connection_age: limits.max_connection_age,
            max_deadline: limits.max_deadline,
        };
        let rest = rest::service(
            self.registry.clone(),
            self.agent.clone(),
            self.authenticator.clone(),
            rest::Settings {
                profile: self.rest_profile,
                max_body: max_message,
                max_header_bytes: limits.max_header_bytes.as_u64() as usize,
                deadlines: rest::Deadlines {
                    default: limits.default_deadline,
                    upload: limits.max_deadline,
                    agent: self.agent_max_duration + AGENT_DEADLINE_SLACK,
                },
                streams,
            },
            in_progress.clone(),
        );
        let (answer_shed, load_shed, concurrency_limit) = overload_layers(in_progress);

        let router = Server::builder()
            // REST clients speak HTTP/1.1 as well.
            .accept_http1(true)
            .max_concurrent_streams(limits.max_concurrent_streams)
            .http2_max_header_list_size(limits.max_header_bytes.as_u64() as u32)
            .http2_keepalive_interval(Some(limits.keepalive_interval))
            .http2_keepalive_timeout(Some(limits.keepalive_timeout))
            // No `max_connection_age_grace`: with one, tonic 0.14 sends no GOAWAY at the age
            // and only cuts the connection once the grace period has passed too. Without it,
            // the connection is closed gracefully at the age, and the deadline layer ends
            // every call in progress within `--max-deadline`.
            .max_connection_age(limits.max_connection_age)
            // First: requests that are not gRPC never meet the gRPC layers.
            .layer(RestLayer::new(rest))
            .layer(RpcMetricsLayer)
            .layer(calls)
            .layer(
                TraceLayer::new_for_grpc()
                    .make_span_with(rpc_span)
                    .on_request(())
                    .on_response(record_response)
                    .on_eos(record_end_of_stream)
                    .on_failure(()),
            )
            .layer(answer_shed)
            .layer(load_shed)
            .layer(concurrency_limit)
            .layer(DeadlineLayer {
                default: limits.default_deadline,
                max: limits.max_deadline,
            })
            // Inside the call's span (to record the principal) and its deadline (a JWKS fetch
            // cannot outlast the call).
            .layer(AuthenticateLayer::new(self.authenticator))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(
                ModelRegistrationServiceServer::new(RegistrationService::new(
                    self.registry.clone(),
                ))
                .max_decoding_message_size(max_message),
            )
            .add_service(
                ModelDiscoveryServiceServer::new(DiscoveryService::new(self.registry.clone()))
                    .max_decoding_message_size(max_message),
            )
            .add_service(
                ModelArtifactServiceServer::new(ArtifactService::new(self.registry.clone()))
                    .max_decoding_message_size(max_message),
            )
            .add_service(
                ModelEventServiceServer::new(EventService::new(self.registry, streams))
                    .max_decoding_message_size(max_message),
            )
            .add_service(
                AgentServiceServer::new(AgentGrpc::new(self.agent))
                    .max_decoding_message_size(max_message),
            );
        let listener = self.listener;
        let serve = async move {
            match tls_acceptor {
                None => {
                    let incoming = plain_incoming(listener);
                    router
                        .serve_with_incoming_shutdown(incoming, shutdown)
                        .await
                }
                Some(acceptor) => {
                    let incoming = TlsIncoming::new(listener, acceptor);
                    router
                        .serve_with_incoming_shutdown(incoming, shutdown)
                        .await
                }
            }
        };
        // After the shutdown signal, calls in progress get the grace period to finish.
        let grace_period = self.limits.shutdown_grace;
        let result = tokio::select! {
            result = serve => result,
            () = async {
                let _ = grace.await;
                tokio::time::sleep(grace_period).await;
            } => {
                tracing::warn!(?grace_period, "calls still in progress at the end of the shutdown grace period are cut off");
                Ok(())
            }
        };

        supervisor.stop().await;
        if let Err(err) = self.store.close().await {
            tracing::warn!(error = %err, "closing the database pool failed");
        }
        if let Some(task) = supervisor.failure() {
            return Err(ServerError::BackgroundTask(task));
        }
        result.map_err(Into::into)
    }
}

/// One sweep of the artifact store, as `serve` runs them: bytes older than the grace period
/// that no record names are listed, and removed unless it is a dry run.
pub async fn collect_garbage(config: &GcConfig) -> Result<SweepReport, ServerError> {
    let objects = Objects::open(&config.artifacts, &config.database.database_url)?;
    let store = Store::connect(&config.database, None).await?;
    let registry = Registry::new(
        store.clone(),
        objects,
        config.artifacts.max_artifact_bytes.as_u64(),
    );
    let report = registry.sweep(config.gc_grace, config.dry_run).await;
    store.close().await?;
    report.map_err(|err| ServerError::Sweep(err.into()))
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
