//! The event log and its watchers: how long events are kept, and how watch streams behave.

use std::time::Duration;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct EventsConfig {
    /// How long the event log keeps events, e.g. "7d", "12h". A watch that resumes from an
    /// older sequence is answered OUT_OF_RANGE (list again and watch from the list's sequence).
    #[arg(long, env = "MODELREG_EVENT_RETENTION", default_value = "7d", value_parser = positive_duration)]
    pub event_retention: Duration,

    /// How often events past --event-retention are deleted.
    #[arg(long, env = "MODELREG_EVENT_PRUNE_INTERVAL", default_value = "1m", value_parser = positive_duration)]
    pub event_prune_interval: Duration,

    /// A watch stream with no event to send for this long sends a heartbeat with the current
    /// sequence.
    #[arg(long, env = "MODELREG_WATCH_HEARTBEAT", default_value = "10s", value_parser = positive_duration)]
    pub watch_heartbeat: Duration,

    /// Events a watch stream may fall behind the log before it ends with RESOURCE_EXHAUSTED
    /// (its client resumes from its last sequence). Writers never wait for watchers.
    #[arg(long, env = "MODELREG_WATCH_BUFFER", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub watch_buffer: u32,

    /// While anyone watches, the log is read at least this often: it catches the commits of
    /// replicas that cannot notify (SQLite files shared by processes, a lost PostgreSQL
    /// notification). Commits of this server and PostgreSQL notifications wake it at once. On
    /// PostgreSQL also how often each server numbers events that no commit of its own
    /// announced (those of a replica that stopped right after its commit).
    #[arg(long, env = "MODELREG_EVENT_POLL_INTERVAL", default_value = "1s", value_parser = positive_duration)]
    pub event_poll_interval: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        super::defaults::of_flags()
    }
}

/// A duration above zero: a zero interval would make a task spin, a zero retention would
/// delete every event at once.
pub(super) fn positive_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err("must be longer than 0".into()),
        Ok(duration) => Ok(duration),
        Err(err) => Err(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::positive_duration;

    #[test]
    fn durations_must_be_positive() {
        assert_eq!(
            positive_duration("1s"),
            Ok(std::time::Duration::from_secs(1))
        );
        assert!(positive_duration("0s").is_err());
        assert!(positive_duration("soon").is_err());
    }
}
