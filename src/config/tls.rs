//! TLS for the gRPC listener: the server's certificate, which is re-read when its files
//! change, and the CA that client certificates must chain to (mutual TLS).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct TlsConfig {
    /// PEM file with the server's certificate chain, leaf first; serves gRPC over TLS (with
    /// --tls-key). Plaintext without it.
    #[arg(
        long,
        env = "MODELREG_TLS_CERT",
        requires = "tls_key",
        value_name = "FILE"
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM file with the private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        env = "MODELREG_TLS_KEY",
        requires = "tls_cert",
        value_name = "FILE"
    )]
    pub tls_key: Option<PathBuf>,

    /// PEM file with the CA certificates that client certificates must chain to: clients
    /// without such a certificate are refused during the handshake (mutual TLS).
    #[arg(
        long,
        env = "MODELREG_TLS_CLIENT_CA",
        requires = "tls_cert",
        value_name = "FILE"
    )]
    pub tls_client_ca: Option<PathBuf>,

    /// How often the certificate, key and client CA files are checked for a rotation, e.g.
    /// "10s"; new connections get the new ones, open connections keep theirs. "0s" never checks.
    #[arg(long, env = "MODELREG_TLS_RELOAD_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub tls_reload_interval: Duration,
}

impl TlsConfig {
    /// Whether the listener serves TLS.
    pub fn enabled(&self) -> bool {
        self.tls_cert.is_some()
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        super::defaults::of_flags()
    }
}
