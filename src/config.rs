//! Typed configuration from command-line flags and `MODELREG_*` environment variables.

use std::net::SocketAddr;
use std::time::Duration;

use bytesize::ByteSize;
use std::sync::Arc;

use clap::Args;

mod agent;
mod auth;
mod cache;
mod callbacks;
mod defaults;
mod events;
mod import;
mod tls;
mod traces;

pub use agent::{AgentConfig, AgentMode};
pub use auth::AuthConfig;
pub use cache::{CacheConfig, CacheMode};
pub use callbacks::CallbacksConfig;
pub use events::EventsConfig;
pub use import::ImportConfig;
pub use tls::TlsConfig;
pub use traces::TracesConfig;

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to serve gRPC and REST on; port 0 picks a free port.
    #[arg(long, env = "MODELREG_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub artifacts: ArtifactConfig,

    #[command(flatten)]
    pub limits: LimitsConfig,

    #[command(flatten)]
    pub sweep: SweepConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub tls: TlsConfig,

    #[command(flatten)]
    pub events: EventsConfig,

    #[command(flatten)]
    pub cache: CacheConfig,

    #[command(flatten)]
    pub callbacks: CallbacksConfig,

    #[command(flatten)]
    pub agent: AgentConfig,

    #[command(flatten)]
    pub traces: TracesConfig,

    /// How the REST API speaks: `r1ap`, the standard's JSON (O-RAN R1AP §10.1/§10.2), or
    /// `aimlfw`, as the Go model management service that AIMLFW's training manager and
    /// pipelines were written against (docs/aimlfw.md). gRPC is the same under both.
    #[arg(long, env = "MODELREG_REST_PROFILE", value_enum, default_value_t = RestProfile::R1ap)]
    pub rest_profile: RestProfile,

    /// Address to serve Prometheus metrics on, at `/metrics` (plain HTTP); none by default.
    #[arg(long, env = "MODELREG_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Address to serve `grpc.health.v1` on, in plaintext and nothing else, for probes that
    /// cannot speak TLS (Kubernetes' gRPC probes); none by default. It answers for the same
    /// service names as the main port, and for `liveness`, which ignores the database.
    #[arg(long, env = "MODELREG_HEALTH_LISTEN")]
    pub health_listen: Option<SocketAddr>,

    /// How often the health service checks that the database answers, e.g. "2s", "500ms".
    #[arg(long, env = "MODELREG_HEALTH_CHECK_INTERVAL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub health_check_interval: Duration,

    /// Sees the SQL text of every statement the server issues. Never set from the command
    /// line: tests install one to count statements; without one, nothing is recorded.
    #[arg(skip)]
    pub statement_observer: Option<StatementObserver>,
}

/// The JSON dialect of the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RestProfile {
    /// O-RAN R1AP's resources: data types as arrays, empty optional members left out,
    /// `200 []` for a discovery that matches nothing, unknown members refused.
    #[default]
    R1ap,
    /// The Go model management service's resources, without its defects: `id`, data types as
    /// the string the client sent, empty optional strings as `""`, 404 for a name and version
    /// that match nothing, unknown members ignored, `201 {"modelInfo": …}` from a
    /// registration.
    Aimlfw,
}

/// The sweeper, which removes artifact bytes that no record names (left by crashes).
#[derive(Debug, Clone, Args)]
pub struct SweepConfig {
    /// Bytes with no record are removed only once they are this old: an upload commits its
    /// record moments after its bytes are complete.
    #[arg(long, env = "MODELREG_GC_GRACE", default_value = "1h", value_parser = humantime::parse_duration)]
    pub gc_grace: Duration,

    /// How often the server sweeps, starting at start-up; "0s" leaves sweeping to `modelreg gc`.
    #[arg(long, env = "MODELREG_GC_INTERVAL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub gc_interval: Duration,
}

impl Default for SweepConfig {
    fn default() -> Self {
        defaults::of_flags()
    }
}

/// `modelreg gc`: one sweep of the artifact store, then exit.
#[derive(Debug, Clone, Args)]
pub struct GcConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub artifacts: ArtifactConfig,

    /// Bytes with no record are removed only once they are this old.
    #[arg(long, env = "MODELREG_GC_GRACE", default_value = "1h", value_parser = humantime::parse_duration)]
    pub gc_grace: Duration,

    /// List what would be removed, and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// What one client, or all of them together, may ask of the server.
#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// Requests in progress in the whole server; more are answered UNAVAILABLE at once, with a
    /// RetryInfo.
    #[arg(long, env = "MODELREG_MAX_CONCURRENT_REQUESTS", default_value_t = 512)]
    pub max_concurrent_requests: usize,

    /// The deadline of a call that brings none of its own (no `grpc-timeout`).
    #[arg(long, env = "MODELREG_DEFAULT_DEADLINE", default_value = "60s", value_parser = humantime::parse_duration)]
    pub default_deadline: Duration,

    /// The longest deadline a call may have; longer ones are cut to it. Uploads of large
    /// artifacts must finish within it.
    #[arg(long, env = "MODELREG_MAX_DEADLINE", default_value = "1h", value_parser = humantime::parse_duration)]
    pub max_deadline: Duration,

    /// For benchmarks only: serve gRPC without the limit of requests in progress and without
    /// deadlines, to measure what they cost a call.
    #[arg(long, env = "MODELREG_BENCH_WITHOUT_CALL_LIMITS", hide = true)]
    pub bench_without_call_limits: bool,

    /// Concurrent streams (calls) per HTTP/2 connection.
    #[arg(long, env = "MODELREG_MAX_CONCURRENT_STREAMS", default_value_t = 256)]
    pub max_concurrent_streams: u32,

    /// Largest message a client may send, e.g. "4MiB" (gRPC's usual limit); artifact chunks
    /// must be smaller.
    #[arg(long, env = "MODELREG_MAX_MESSAGE_BYTES", default_value = "4MiB")]
    pub max_message_bytes: ByteSize,

    /// Largest header list of a request, e.g. "16KiB".
    #[arg(long, env = "MODELREG_MAX_HEADER_BYTES", default_value = "16KiB")]
    pub max_header_bytes: ByteSize,

    /// How often an idle connection is pinged (HTTP/2 keep-alive); a peer that does not answer
    /// within `--keepalive-timeout` is dropped.
    #[arg(long, env = "MODELREG_KEEPALIVE_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub keepalive_interval: Duration,

    /// How long a keep-alive ping may go unanswered before the connection is dropped: a peer
    /// that vanished without closing its connection (a crashed host, a dropped route) is found
    /// within `--keepalive-interval` plus this.
    #[arg(long, env = "MODELREG_KEEPALIVE_TIMEOUT", default_value = "20s", value_parser = humantime::parse_duration)]
    pub keepalive_timeout: Duration,

    /// Connections are closed (gracefully) after this age, so that load balancers can spread
    /// long-lived clients over new replicas.
    #[arg(long, env = "MODELREG_MAX_CONNECTION_AGE", default_value = "30m", value_parser = humantime::parse_duration)]
    pub max_connection_age: Duration,

    /// On SIGTERM, how long the server keeps accepting calls while its health already says
    /// NOT_SERVING, so that load balancers and readiness probes take it out of rotation
    /// before its listener closes; "0s" (the default) closes it at once.
    #[arg(long, env = "MODELREG_SHUTDOWN_DELAY", default_value = "0s", value_parser = humantime::parse_duration)]
    pub shutdown_delay: Duration,

    /// On SIGTERM, how long calls in progress may take to finish before the server exits.
    #[arg(long, env = "MODELREG_SHUTDOWN_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        defaults::of_flags()
    }
}

/// A callback for every SQL statement the store issues.
#[derive(Clone)]
pub struct StatementObserver {
    observe: Arc<dyn Fn(&str) + Send + Sync>,
    /// Whether the observer sees the bound values written into the statement (a statement one
    /// can run again, e.g. under EXPLAIN) rather than its placeholders.
    with_values: bool,
}

impl StatementObserver {
    /// Sees each statement's SQL, with placeholders where its values are bound.
    pub fn new(observe: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            observe: Arc::new(observe),
            with_values: false,
        }
    }

    /// Sees each statement with its values written in as literals.
    pub fn with_values(observe: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            observe: Arc::new(observe),
            with_values: true,
        }
    }

    pub(crate) fn observe(&self, statement: &sea_orm::Statement) {
        if self.with_values {
            (self.observe)(&statement.to_string())
        } else {
            (self.observe)(&statement.sql)
        }
    }
}

impl std::fmt::Debug for StatementObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatementObserver")
    }
}

#[derive(Clone, Args)]
pub struct DatabaseConfig {
    /// `sqlite://PATH?mode=rwc` (embedded, the default), `postgres://USER@HOST/DB` or
    /// `mysql://USER@HOST/DB` (MySQL, MariaDB).
    #[arg(
        long,
        env = "MODELREG_DATABASE_URL",
        default_value = "sqlite://modelreg.db?mode=rwc"
    )]
    pub database_url: String,

    /// Largest number of pooled database connections (readers, on SQLite).
    #[arg(long, env = "MODELREG_DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
}

#[derive(Clone, Args)]
pub struct ArtifactConfig {
    /// Where artifact bytes are kept: `file:///ABS/PATH` or `s3://BUCKET/PREFIX` (configured by
    /// the usual AWS_* variables: AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP, …). Default: an `artifacts` folder beside the
    /// SQLite file, or in the working directory with another database.
    #[arg(long, env = "MODELREG_ARTIFACT_STORE")]
    pub artifact_store: Option<String>,

    /// Largest artifact accepted, e.g. "10GiB", "500MB" or a number of bytes.
    #[arg(long, env = "MODELREG_MAX_ARTIFACT_BYTES", default_value = "10GiB")]
    pub max_artifact_bytes: ByteSize,
}

impl Default for ArtifactConfig {
    fn default() -> Self {
        defaults::of_flags()
    }
}

impl ServeConfig {
    /// A configuration for the given address and database with every other setting at its
    /// default, as tests and embedders need it.
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> Self {
        let mut config: Self = defaults::of_flags();
        config.listen = listen;
        config.database.database_url = database_url.into();
        config
    }
}

/// Credentials in a database URL must not reach the logs.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .finish()
    }
}

/// An S3 location may carry credentials in its query.
impl std::fmt::Debug for ArtifactConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactConfig")
            .field(
                "artifact_store",
                &self.artifact_store.as_deref().map(redact_url),
            )
            .field("max_artifact_bytes", &self.max_artifact_bytes)
            .finish()
    }
}

const REDACTED: &str = "REDACTED";

/// A URL as logs and messages may show it. User names, passwords and query values carry
/// secrets as often as not (`postgres://app:pw@db/x`, `https://h/jwks?api_key=…`,
/// `postgres://db/x?password=…`): each is replaced, keeping the URL's shape and the names of
/// its parameters. Text that is not an absolute URL (a file path) is shown as it is, unless it
/// looks like a URL that did not parse, which is hidden whole.
pub(crate) fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return if text.contains("://") {
            format!("{REDACTED} (not a valid URL)")
        } else {
            text.to_owned()
        };
    };
    if !url.username().is_empty() {
        let _ = url.set_username(REDACTED);
    }
    if url.password().is_some() {
        let _ = url.set_password(Some(REDACTED));
    }
    if url.query().is_some() {
        let names: Vec<String> = url
            .query_pairs()
            .map(|(name, _)| name.into_owned())
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(names.iter().map(|name| (name, REDACTED)));
    }
    if url.fragment().is_some() {
        url.set_fragment(Some(REDACTED));
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_user_info_query_values_and_fragment() {
        assert_eq!(
            redact_url("https://user:pw@idp.example/jwks?api_key=s3cr3t&x=1#tok"),
            "https://REDACTED:REDACTED@idp.example/jwks?api_key=REDACTED&x=REDACTED#REDACTED"
        );
        assert_eq!(
            redact_url("postgres://u@db:5432/registry?password=hunter2"),
            "postgres://REDACTED@db:5432/registry?password=REDACTED"
        );
        assert_eq!(
            redact_url("s3://bucket/prefix"),
            "s3://bucket/prefix",
            "nothing secret, nothing hidden"
        );
        assert_eq!(
            redact_url("/etc/modelreg/jwks.json"),
            "/etc/modelreg/jwks.json"
        );
        assert!(!redact_url("postgres://u:pw@[bad/x").contains("pw"));
    }

    #[test]
    fn debug_output_hides_the_database_password() {
        let config = DatabaseConfig {
            database_url: "postgres://app:hunter2@db/registry".into(),
            database_max_connections: 4,
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }
}
