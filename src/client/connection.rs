//! How every client reaches a server: the address, TLS (the CA to trust, a client certificate
//! for mutual TLS) and a bearer token sent with every call. One set of flags, shared by the
//! `models`, `artifacts` and `bench` subcommands.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

#[derive(Clone, Args)]
pub struct ConnectionArgs {
    /// The server to talk to: http://HOST:PORT, or https://HOST:PORT for TLS.
    #[arg(
        long,
        env = "MODELREG_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub server: String,

    /// PEM file with the CA certificates the server's certificate must chain to (https only).
    /// Without it, the public CAs of Mozilla's list are trusted.
    #[arg(long, env = "MODELREG_CA_CERT", global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// PEM file with a client certificate chain, for servers that ask for one (mutual TLS);
    /// with --client-key.
    #[arg(
        long,
        env = "MODELREG_CLIENT_CERT",
        requires = "client_key",
        global = true,
        value_name = "FILE"
    )]
    pub client_cert: Option<PathBuf>,

    /// PEM file with the private key of --client-cert.
    #[arg(
        long,
        env = "MODELREG_CLIENT_KEY",
        requires = "client_cert",
        global = true,
        value_name = "FILE"
    )]
    pub client_key: Option<PathBuf>,

    /// Bearer token sent with every call as `authorization: Bearer TOKEN`. Prefer the
    /// variable: a flag shows in the process list.
    #[arg(long, env = "MODELREG_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
}

impl ConnectionArgs {
    /// Plaintext to `server`, with no token: what tests and embedders start from.
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            ca_cert: None,
            client_cert: None,
            client_key: None,
            token: None,
        }
    }
}

/// The token must not reach logs or error reports.
impl fmt::Debug for ConnectionArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionArgs")
            .field("server", &self.server)
            .field("ca_cert", &self.ca_cert)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("token", &self.token.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

/// Why no connection could be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server did not answer, or the TLS handshake failed.
    #[error("cannot connect to {server}: {source}")]
    Unreachable {
        server: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{flag} needs an https:// server, not {server}")]
    TlsOverPlaintext { flag: &'static str, server: String },
    #[error("the token is not a valid HTTP header value")]
    InvalidToken,
}

/// A connection whose calls carry the bearer token, if one was given.
pub(crate) type Connection = InterceptedService<Channel, BearerToken>;

/// Adds `authorization: Bearer TOKEN` to every call.
#[derive(Clone)]
pub(crate) struct BearerToken(Option<MetadataValue<Ascii>>);

impl BearerToken {
    fn new(token: Option<&str>) -> Result<Self, ConnectError> {
        let Some(token) = token else {
            return Ok(Self(None));
        };
        let mut value = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| ConnectError::InvalidToken)?;
        // Kept out of HTTP/2 header compression tables, and out of Debug output.
        value.set_sensitive(true);
        Ok(Self(Some(value)))
    }
}

impl Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// One HTTP/2 connection to the server, opened now, so that a wrong address, CA or
/// certificate is reported before any work starts.
pub(crate) async fn open_channel(args: &ConnectionArgs) -> Result<Connection, ConnectError> {
    let token = BearerToken::new(args.token.as_deref())?;
    let unreachable = |source| ConnectError::Unreachable {
        server: args.server.clone(),
        source,
    };
    let mut endpoint = Endpoint::from_shared(args.server.clone())
        .map_err(unreachable)?
        .connect_timeout(Duration::from_secs(5))
        // Small RPCs must not wait for Nagle's algorithm.
        .tcp_nodelay(true);
    if let Some(tls) = tls_config(args)? {
        endpoint = endpoint.tls_config(tls).map_err(unreachable)?;
    }
    let channel = endpoint.connect().await.map_err(unreachable)?;
    Ok(InterceptedService::new(channel, token))
}

/// TLS for an https:// server; `None` for plaintext.
fn tls_config(args: &ConnectionArgs) -> Result<Option<ClientTlsConfig>, ConnectError> {
    if !is_https(&args.server) {
        let flag = match (&args.ca_cert, &args.client_cert) {
            (Some(_), _) => "--ca-cert",
            (None, Some(_)) => "--client-cert",
            (None, None) => return Ok(None),
        };
        return Err(ConnectError::TlsOverPlaintext {
            flag,
            server: args.server.clone(),
        });
    }
    let mut tls = ClientTlsConfig::new();
    tls = match &args.ca_cert {
        Some(path) => tls.ca_certificate(Certificate::from_pem(read(path)?)),
        None => tls.with_webpki_roots(),
    };
    if let (Some(cert), Some(key)) = (&args.client_cert, &args.client_key) {
        tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(Some(tls))
}

fn is_https(server: &str) -> bool {
    server
        .parse::<http::Uri>()
        .is_ok_and(|uri| uri.scheme() == Some(&http::uri::Scheme::HTTPS))
}

fn read(path: &Path) -> Result<Vec<u8>, ConnectError> {
    std::fs::read(path).map_err(|source| ConnectError::Read {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_token() {
        let mut args = ConnectionArgs::new("https://registry:50051");
        args.token = Some("s3cr3t-token".into());
        let shown = format!("{args:?}");
        assert!(!shown.contains("s3cr3t-token"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn every_call_carries_the_bearer_token() {
        let mut token = BearerToken::new(Some("s3cr3t-token")).unwrap();
        let request = token.call(tonic::Request::new(())).unwrap();
        let value = request.metadata().get("authorization").expect("a header");
        assert_eq!(value.to_str().unwrap(), "Bearer s3cr3t-token");
        assert!(!format!("{value:?}").contains("s3cr3t-token"));
    }

    #[test]
    fn without_a_token_calls_carry_no_authorization() {
        let mut token = BearerToken::new(None).unwrap();
        let request = token.call(tonic::Request::new(())).unwrap();
        assert!(request.metadata().get("authorization").is_none());
    }

    #[test]
    fn a_token_that_cannot_be_a_header_is_refused() {
        assert!(matches!(
            BearerToken::new(Some("line\nbreak")),
            Err(ConnectError::InvalidToken)
        ));
    }

    #[test]
    fn tls_files_with_a_plaintext_server_are_refused() {
        let mut args = ConnectionArgs::new("http://registry:50051");
        args.ca_cert = Some("ca.pem".into());
        assert!(matches!(
            tls_config(&args),
            Err(ConnectError::TlsOverPlaintext {
                flag: "--ca-cert",
                ..
            })
        ));
    }
}
