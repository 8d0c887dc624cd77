//! Wiring: one `Application::build` shared by `main` and the tests. It connects to the
//! database, applies migrations, binds the listener (port 0 allowed) and builds the whole
//! service: gRPC (with reflection and health) and REST on one port under one layer stack
//! (`service.rs`). `run_until` starts the background tasks under their supervisor
//! (`background.rs`), serves until the shutdown signal, and stops it all in order.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

mod background;
mod drain;
mod health;
mod import;
mod probes;
mod service;
mod spans;
mod upkeep;

pub use import::{ImportReport, import_mme};

use background::Background;
use drain::CallsInProgress;
use health::Readiness;
use probes::HealthPort;
use service::{Parts, Service};

use crate::agent::Agent;
use crate::auth::{AuthSetupError, Authenticator, WatchedFile};
use crate::config::{
    CacheConfig, CacheMode, CallbacksConfig, DatabaseConfig, EventsConfig, GcConfig, ServeConfig,
    SweepConfig,
};
use crate::metrics::MetricsEndpoint;
use crate::objects::{Objects, OpenError};
use crate::registry::SweepReport;
use crate::registry::{CacheSettings, ReadCache, Registry};
use crate::store::Store;
use crate::transport::{TlsError, TlsIncoming, TlsServer, exposure_warning, plain_incoming};

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
    #[error("cannot serve health on {addr}: {source}")]
    Health {
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
    /// Every service on the port under its layer stack, ready to serve.
    service: Service,
    readiness: Readiness,
    /// `--health-listen`.
    health_port: Option<HealthPort>,
    /// The calls in progress, which the shutdown waits for.
    calls: CallsInProgress,
    /// `--shutdown-delay`.
    shutdown_delay: Duration,
    /// `--shutdown-grace`.
    shutdown_grace: Duration,
    health_check_interval: Duration,
    sweep: SweepConfig,
    events: EventsConfig,
    callbacks: CallbacksConfig,
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
        if config.metrics_listen.is_some() {
            // Before anything records: the certificate's expiry is recorded as it is read.
            crate::metrics::recorder();
        }
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
        let health_port = match config.health_listen {
            Some(addr) => Some(
                HealthPort::bind(addr)
                    .await
                    .map_err(|source| ServerError::Health { addr, source })?,
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
        .with_page_token_key(page_token_key)
        .with_read_cache(read_cache(&store, &config.cache))
        .with_subscriptions(crate::callbacks::subscription_settings(&config.callbacks));
        let agent = Agent::new(registry.clone(), &config.agent).map_err(ServerError::Agent)?;
        let calls = CallsInProgress::new();
        let (service, readiness) = service::service(Parts {
            registry: &registry,
            agent: &agent,
            authenticator: &authenticator,
            limits: &config.limits,
            rest_profile: config.rest_profile,
            agent_max_duration: config.agent.agent_max_duration,
            calls: &calls,
        })
        .await?;
        Ok(Self {
            listener,
            local_addr,
            registry,
            service,
            readiness,
            health_port,
            calls,
            shutdown_delay: config.limits.shutdown_delay,
            shutdown_grace: config.limits.shutdown_grace,
            store,
            health_check_interval: config.health_check_interval,
            sweep: config.sweep,
            events: config.events,
            callbacks: config.callbacks,
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

    /// The bound address of the plaintext health port, when one is served.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health_port.as_ref().map(HealthPort::local_addr)
    }

    /// Serves until `shutdown` completes; then reports NOT_SERVING, keeps accepting calls for
    /// `--shutdown-delay`, stops accepting, lets in-flight calls finish and closes the
    /// database pools.
    pub async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServerError> {
        let Background {
            supervisor,
            tls_acceptor,
            draining,
            serving_ends,
        } = self.start_background();
        let (grace_started, grace) = tokio::sync::oneshot::channel::<()>();
        let shutdown = {
            let (calls, registry) = (self.calls.clone(), self.registry.clone());
            let (readiness, delay) = (self.readiness.clone(), self.shutdown_delay);
            let supervisor = supervisor.clone();
            async move {
                // The signal, or a background task that failed (see `tasks`).
                let failed = tokio::select! {
                    () = shutdown => false,
                    () = supervisor.failed() => true,
                };
                // Load balancers that watch health stop sending first; then the listener
                // closes.
                draining.cancel();
                readiness.drain().await;
                if !failed && !delay.is_zero() {
                    tracing::info!(
                        ?delay,
                        "not serving; the listener closes after the shutdown delay"
                    );
                    tokio::time::sleep(delay).await;
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
        let (service, listener) = (self.service, self.listener);
        let serve = async move {
            match tls_acceptor {
                None => {
                    let incoming = plain_incoming(listener);
                    service
                        .serve_with_incoming_shutdown(incoming, shutdown)
                        .await
                }
                Some(acceptor) => {
                    let incoming = TlsIncoming::new(listener, acceptor);
                    service
                        .serve_with_incoming_shutdown(incoming, shutdown)
                        .await
                }
            }
        };
        // After the shutdown signal, calls in progress get the grace period to finish.
        let grace_period = self.shutdown_grace;
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

/// The read cache `config` asks for.
fn read_cache(store: &Store, config: &CacheConfig) -> ReadCache {
    match config.read_cache {
        CacheMode::Off => ReadCache::default(),
        CacheMode::On => ReadCache::new(
            store,
            CacheSettings {
                max_bytes: usize::try_from(config.read_cache_bytes.as_u64()).unwrap_or(usize::MAX),
                max_wait: config.read_cache_max_wait,
                feed_delay: config.read_cache_feed_delay,
            },
        ),
    }
}
