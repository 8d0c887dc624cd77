//! The read cache: each server's copy of the registrations, kept current by the event log.

use std::time::Duration;

use bytesize::ByteSize;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct CacheConfig {
    /// `on`: `get` and every page of discovery (filters and orders included) are answered
    /// from memory, exactly as the database would answer them at that moment (a read waits
    /// until every change committed before it is applied). `off`: every read is a database
    /// query.
    #[arg(long, env = "MODELREG_READ_CACHE", value_enum, default_value_t = CacheMode::On)]
    pub read_cache: CacheMode,

    /// The registrations the cache holds at most, in estimated bytes (about 4.8 KiB for a
    /// model with 3 target environments and 5 labels, with the protobuf and JSON pages keep of
    /// it: 512 MiB hold some 110,000); the ones
    /// beyond it are read from the database, and pages are then read from the database.
    #[arg(long, env = "MODELREG_READ_CACHE_BYTES", default_value = "512MiB")]
    pub read_cache_bytes: ByteSize,

    /// How long a read waits for the cache to apply the changes committed before it (by
    /// another replica, a moment earlier) before it reads from the database instead.
    #[arg(long, env = "MODELREG_READ_CACHE_MAX_WAIT", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub read_cache_max_wait: Duration,

    /// A fault for tests only: each round of the feed that keeps the cache current waits
    /// this long before it reads the log, so that the cache falls behind.
    #[arg(long, env = "MODELREG_READ_CACHE_FEED_DELAY", default_value = "0s", value_parser = humantime::parse_duration, hide = true)]
    pub read_cache_feed_delay: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CacheMode {
    On,
    Off,
}

impl Default for CacheConfig {
    fn default() -> Self {
        super::defaults::of_flags()
    }
}
