//! Callbacks to subscribers: where they may go, how long an attempt may take, how retries
//! back off, and how long a replica's lease on a subscription lasts.

use std::time::Duration;

use clap::Args;
use ipnet::IpNet;

use super::events::positive_duration;

#[derive(Debug, Clone, Args)]
pub struct CallbacksConfig {
    /// Address ranges that notification destinations may resolve to although they are
    /// loopback, private, link-local or otherwise internal (refused by default, against
    /// server-side request forgery), e.g. "10.20.0.0/16"; repeat the flag, or separate ranges
    /// with commas.
    #[arg(long, env = "MODELREG_CALLBACK_ALLOW", value_delimiter = ',')]
    pub callback_allow: Vec<IpNet>,

    /// How long one notification may take, from connecting to the receiver's answer.
    #[arg(long, env = "MODELREG_CALLBACK_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub callback_timeout: Duration,

    /// The longest wait between two attempts: retries start after 500 ms and double, with
    /// jitter, up to this.
    #[arg(long, env = "MODELREG_CALLBACK_RETRY_MAX", default_value = "5m", value_parser = positive_duration)]
    pub callback_retry_max: Duration,

    /// A subscription whose deliveries have failed for this long is shown as FAILING (it keeps
    /// being retried, every --callback-retry-max).
    #[arg(long, env = "MODELREG_CALLBACK_FAILING_AFTER", default_value = "15m", value_parser = positive_duration)]
    pub callback_failing_after: Duration,

    /// How long a replica's claim to deliver a subscription lasts; it renews it every third
    /// of this. When a replica dies, another one delivers its subscriptions within this long
    /// and a third (at once when it stops normally).
    #[arg(long, env = "MODELREG_CALLBACK_LEASE", default_value = "15s", value_parser = positive_duration)]
    pub callback_lease: Duration,
}

impl Default for CallbacksConfig {
    fn default() -> Self {
        super::defaults::of_flags()
    }
}
