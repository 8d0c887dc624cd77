//! The start-up warning for a listener that other machines can reach in plaintext: its
//! traffic, bearer tokens included, can be read on the way, and without authentication anyone
//! who reaches it may change the registry.

use std::net::SocketAddr;

/// The warning to log at start, if `listen` is reachable from other machines without TLS.
pub(crate) fn exposure_warning(
    listen: SocketAddr,
    tls: bool,
    authentication: bool,
) -> Option<String> {
    if tls || listen.ip().is_loopback() {
        return None;
    }
    let warning = if authentication {
        format!(
            "serving gRPC on {listen} without TLS: calls and their tokens cross the network \
             in plaintext; set --tls-cert/--tls-key"
        )
    } else {
        format!(
            "serving gRPC on {listen} without TLS or authentication: anyone who reaches it can \
             read and change the registry; set --tls-cert/--tls-key, and --auth-tokens or \
             --auth-jwks"
        )
    };
    Some(warning)
}

#[cfg(test)]
mod tests {
    use super::exposure_warning;

    fn warning(listen: &str, tls: bool, authentication: bool) -> Option<String> {
        exposure_warning(listen.parse().unwrap(), tls, authentication)
    }

    #[test]
    fn loopback_listeners_are_not_warned_about() {
        assert_eq!(warning("127.0.0.1:50051", false, false), None);
        assert_eq!(warning("[::1]:50051", false, false), None);
    }

    #[test]
    fn a_reachable_plaintext_listener_names_the_flags_that_protect_it() {
        for listen in ["0.0.0.0:50051", "[::]:50051", "10.0.0.7:50051"] {
            let shown = warning(listen, false, false).expect("a warning");
            for flag in ["--tls-cert/--tls-key", "--auth-tokens", "--auth-jwks"] {
                assert!(shown.contains(flag), "{shown}");
            }
        }
    }

    #[test]
    fn authentication_without_tls_still_warns_that_tokens_travel_in_plaintext() {
        let shown = warning("0.0.0.0:50051", false, true).expect("a warning");
        assert!(shown.contains("--tls-cert/--tls-key"), "{shown}");
        assert!(!shown.contains("--auth-tokens"), "{shown}");
    }

    #[test]
    fn tls_listeners_are_not_warned_about() {
        assert_eq!(warning("0.0.0.0:50051", true, false), None);
    }
}
