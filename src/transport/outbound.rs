//! HTTPS clients for the server's own outbound calls (a JWKS URL, the agent's LLM). TLS names
//! its crypto provider (ring) explicitly: two providers are linked into this binary, and
//! rustls refuses to guess. Public CAs are the platform's.

use std::sync::Arc;
use std::time::Duration;

use rustls_platform_verifier::BuilderVerifierExt;

/// A client whose requests give up after `timeout`.
pub(crate) fn https_client(
    timeout: Duration,
) -> Result<reqwest::Client, Box<dyn std::error::Error + Send + Sync>> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_platform_verifier()?
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .build()?)
}
