//! Fetching a JWKS over HTTP(S), with the server's outbound TLS (`transport::https_client`).

use std::time::Duration;

use super::keys::MAX_JWKS_BYTES;
use crate::domain::Cause;

/// A JWKS endpoint that takes longer than this counts as unreachable; a call waiting for it
/// keeps its own deadline too.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn http_client() -> Result<reqwest::Client, Cause> {
    crate::transport::https_client(FETCH_TIMEOUT)
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
