//! Fetching a JWKS over HTTP(S). The TLS configuration names its crypto provider (ring)
//! explicitly: two providers are linked into this binary, and rustls refuses to guess.

use std::sync::Arc;
use std::time::Duration;

use rustls_platform_verifier::BuilderVerifierExt;

use super::keys::MAX_JWKS_BYTES;
use crate::domain::Cause;

/// A JWKS endpoint that takes longer than this counts as unreachable; a call waiting for it
/// keeps its own deadline too.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn http_client() -> Result<reqwest::Client, Cause> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_platform_verifier()?
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(FETCH_TIMEOUT)
        .build()?)
}

/// The body of a successful GET, at most `MAX_JWKS_BYTES` long. Errors do not repeat the URL,
/// which may hold credentials: the caller logs it redacted.
pub(crate) async fn fetch(client: &reqwest::Client, url: &url::Url) -> Result<Vec<u8>, Cause> {
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(reqwest::Error::without_url)?;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(reqwest::Error::without_url)?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!("the JWKS is larger than {MAX_JWKS_BYTES} bytes").into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
