//! The connection a call arrived on: plaintext or TLS, and the identity a verified client
//! certificate proves; and the TLS of the server's own outbound HTTPS calls.

mod client_ca;
mod exposure;
mod identity;
mod incoming;
mod outbound;
mod reload;
mod tls;
mod versions;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

pub(crate) use exposure::exposure_warning;
pub(crate) use incoming::{TlsIncoming, plain_incoming};
pub(crate) use outbound::https_client;
pub use tls::TlsError;
pub(crate) use tls::{TLS_CERTIFICATE_EXPIRY, TlsServer};

/// What the server knows of a connection; tonic puts it in the extensions of every request
/// that arrives on it.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionInfo {
    pub(crate) remote_addr: Option<SocketAddr>,
    /// The identity of the verified client certificate (mutual TLS): its URI SAN (such as a
    /// SPIFFE id), else its DNS SAN, else its subject CN.
    pub(crate) client_identity: Option<Arc<str>>,
    /// When the connection was accepted (for TLS, when its handshake completed): streams end
    /// by its maximum age.
    pub(crate) accepted_at: Instant,
}

/// The identity of the client certificate of the connection a request arrived on.
pub(crate) fn client_identity(extensions: &http::Extensions) -> Option<&str> {
    extensions
        .get::<ConnectionInfo>()
        .and_then(|info| info.client_identity.as_deref())
}
