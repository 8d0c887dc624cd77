//! `modelreg import mme`: where the Go model management service's data comes from.

use clap::Args;

use super::DatabaseConfig;

#[derive(Clone, Args)]
pub struct ImportConfig {
    /// The Go model management service's PostgreSQL database, e.g.
    /// postgres://user:password@host:5432/aimlfw (its tables model_related_informations and
    /// target_environments are read, never written).
    #[arg(long = "from", env = "MODELREG_IMPORT_FROM", value_name = "URL")]
    pub from: String,

    /// The registry's own database: where the models go.
    #[command(flatten)]
    pub database: DatabaseConfig,

    /// Check every model and report what an import would do, writing nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Models read and written per transaction.
    #[arg(long, env = "MODELREG_IMPORT_BATCH_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch_size: u64,
}

/// Both URLs may carry passwords.
impl std::fmt::Debug for ImportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportConfig")
            .field("from", &super::redact_url(&self.from))
            .field("database", &self.database)
            .field("dry_run", &self.dry_run)
            .field("batch_size", &self.batch_size)
            .finish()
    }
}
