//! Logging: `RUST_LOG` sets verbosity; by default our own events at info and the transport and
//! database crates quieted to warnings.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

const DEFAULT_FILTER: &str = "info,h2=warn,tower=warn,hyper=warn,hyper_util=warn,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";

pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // A second call (several tests in one process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
