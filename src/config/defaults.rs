//! One source for every default: the `#[arg(default_value…)]` attributes. A configuration's
//! `Default` parses an empty command line with the environment ignored, so the default written
//! beside a flag is the default everywhere (main, tests, embedders) and cannot drift from a
//! restatement of it.

/// `T` as an empty command line makes it: every field at its flag's default.
pub(crate) fn of_flags<T: clap::Args + clap::FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("defaults").no_binary_name(true))
        // A MODELREG_* variable of the process is configuration, not a default.
        .mut_args(|arg| arg.env(None::<&str>));
    let matches = command
        .try_get_matches_from(std::iter::empty::<&str>())
        .expect("every flag has a default or is optional");
    T::from_arg_matches(&matches).expect("the defaults parse")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::{AgentMode, LimitsConfig, RestProfile, ServeConfig};

    #[test]
    fn a_default_is_the_flags_default() {
        let limits = LimitsConfig::default();
        assert_eq!(limits.default_deadline, Duration::from_secs(60));
        assert_eq!(limits.max_message_bytes.as_u64(), 4 * 1024 * 1024);
        let config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), "sqlite::memory:");
        assert_eq!(config.database.database_url, "sqlite::memory:");
        assert_eq!(config.database.database_max_connections, 16);
        assert_eq!(config.rest_profile, RestProfile::R1ap);
        assert_eq!(config.agent.agent_mode, AgentMode::ReadOnly);
        assert_eq!(config.agent.agent_max_duration, Duration::from_secs(120));
        assert!(config.statement_observer.is_none());
    }
}
