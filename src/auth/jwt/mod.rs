//! JWTs signed by an identity provider: verified against the keys of a JWKS (a file re-read
//! when it changes, or a URL fetched again for unknown keys), checked for issuer, audience,
//! expiry and not-before with a small leeway, and made into a caller from their claims.
//! A verified token is remembered until it expires.

mod cache;
mod claims;
mod fetch;
mod keys;
mod remote;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation, decode, decode_header, get_current_timestamp};

use self::cache::VerifiedTokens;
use self::claims::{Claims, caller_from_claims, expiry};
use self::keys::KeySet;
use self::remote::{Refresh, RemoteKeys};
use super::AuthSetupError;
use super::current::Current;
use super::digest::TokenDigest;
use super::reload::WatchedFile;
use crate::config::redact_url;
use crate::domain::{AuthFailure, Caller, Error};

pub(crate) use claims::ClaimNames;

/// What a token must show, besides a valid signature.
pub(crate) struct JwtRules {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) leeway: Duration,
    pub(crate) claims: ClaimNames,
    pub(crate) cache_entries: usize,
    pub(crate) refresh_min_interval: Duration,
}

/// Where the keys are.
enum JwksLocation {
    File(PathBuf),
    Url(url::Url),
}

impl JwksLocation {
    /// `http(s)://…` is a URL; anything else a file. Keys fetched in clear could be swapped on
    /// the way, so plain `http` is accepted for loopback addresses only.
    fn parse(text: &str) -> Result<Self, AuthSetupError> {
        let lower = text.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Ok(Self::File(PathBuf::from(text)));
        }
        let invalid = |problem: String| AuthSetupError::JwksUrl { problem };
        let url = url::Url::parse(text).map_err(|err| invalid(err.to_string()))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if url.scheme() == "http" && !loopback {
            return Err(invalid(
                "plain http is accepted for loopback addresses only; use https".into(),
            ));
        }
        Ok(Self::Url(url))
    }
}

pub(crate) struct JwtVerifier {
    keys: Current<KeySet>,
    remote: Option<RemoteKeys>,
    /// One per supported algorithm: a key is used with its own algorithm only.
    validations: [(Algorithm, Validation); 3],
    claims: ClaimNames,
    verified: VerifiedTokens,
}

impl JwtVerifier {
    /// Loads the keys: a JWKS file must be valid now; a URL that cannot be fetched now leaves
    /// the server up, answering JWT calls UNAVAILABLE until a later fetch succeeds. Returns the
    /// file to watch, for a JWKS file.
    pub(crate) async fn start(
        location: &str,
        rules: JwtRules,
    ) -> Result<(Arc<Self>, Option<WatchedFile>), AuthSetupError> {
        // jsonwebtoken picks its crypto backend from its crate features; naming it here keeps
        // verification working whatever features other crates turn on. Already installed is fine.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let validations = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
            .map(|algorithm| (algorithm, validation(algorithm, &rules)));
        let verifier = |keys, remote| {
            Arc::new(Self {
                keys: Current::new(keys),
                remote,
                validations,
                claims: rules.claims,
                verified: VerifiedTokens::new(rules.cache_entries),
            })
        };
        match JwksLocation::parse(location)? {
            JwksLocation::File(path) => {
                let read_error = |source| AuthSetupError::ReadJwks {
                    path: path.clone(),
                    source,
                };
                let contents = tokio::fs::read(&path).await.map_err(read_error)?;
                let keys = KeySet::parse(&contents).map_err(|problem| AuthSetupError::Jwks {
                    path: path.clone(),
                    problem,
                })?;
                tracing::info!(path = %path.display(), keys = keys.len(), "JWKS file read");
                let verifier = verifier(keys, None);
                let reloaded = Arc::clone(&verifier);
                let watched = WatchedFile::new(
                    path,
                    "JWKS file",
                    contents,
                    Box::new(move |contents| {
                        reloaded.replace_keys(KeySet::parse(contents)?);
                        Ok(())
                    }),
                );
                Ok((verifier, Some(watched)))
            }
            JwksLocation::Url(url) => {
                let remote = RemoteKeys::new(url, rules.refresh_min_interval).map_err(|err| {
                    AuthSetupError::JwksUrl {
                        problem: err.to_string(),
                    }
                })?;
                let keys = match remote.refresh().await {
                    Refresh::Fetched(keys) => keys,
                    // Logged by `refresh`; calls will say UNAVAILABLE.
                    Refresh::Failed(_) | Refresh::TooSoon { .. } => KeySet::default(),
                };
                Ok((verifier(keys, Some(remote)), None))
            }
        }
    }

    pub(crate) async fn verify(&self, token: &str) -> Result<Caller, Error> {
        let digest = TokenDigest::of(token);
        let now = get_current_timestamp();
        if let Some(caller) = self.verified.get(&digest, now) {
            return Ok(caller);
        }
        let header = decode_header(token).map_err(refused)?;
        let kid = header.kid.as_deref();
        let keys = self.keys_for(kid).await?;
        let Some(key) = keys.find(kid) else {
            tracing::debug!(?kid, "JWT refused: no key of the JWKS has its kid");
            return Err(Error::Unauthenticated(AuthFailure::Invalid));
        };
        let Some((_, validation)) = self.validations.iter().find(|(a, _)| *a == key.algorithm)
        else {
            return Err(Error::Unauthenticated(AuthFailure::Invalid));
        };
        // `decode` refuses a header `alg` other than the key's own.
        let claims = decode::<Claims>(token, &key.key, validation)
            .map_err(refused)?
            .claims;
        let caller = caller_from_claims(&claims, &self.claims).map_err(|problem| {
            tracing::debug!(%problem, "JWT refused");
            Error::Unauthenticated(AuthFailure::Invalid)
        })?;
        if let Some(expires) = expiry(&claims) {
            self.verified.insert(digest, caller.clone(), expires, now);
        }
        Ok(caller)
    }

    /// The keys, fetched again from a JWKS URL when none has the token's `kid`.
    async fn keys_for(&self, kid: Option<&str>) -> Result<Arc<KeySet>, Error> {
        let keys = self.keys.get();
        let Some(remote) = &self.remote else {
            return Ok(keys);
        };
        if keys.find(kid).is_some() {
            return Ok(keys);
        }
        match remote.refresh().await {
            Refresh::Fetched(fresh) => self.replace_keys(fresh),
            // Another call fetched a moment ago: its keys are in force now.
            Refresh::TooSoon { failed: false } => {}
            Refresh::TooSoon { failed: true } => {
                let keys = self.keys.get();
                if keys.find(kid).is_none() {
                    return Err(Error::AuthenticationUnavailable(
                        format!(
                            "the JWKS at {} could not be fetched",
                            redact_url(remote.url().as_str())
                        )
                        .into(),
                    ));
                }
            }
            Refresh::Failed(cause) => return Err(Error::AuthenticationUnavailable(cause)),
        }
        Ok(self.keys.get())
    }

    /// Tokens verified with the old keys are verified again: a key may have been withdrawn.
    fn replace_keys(&self, keys: KeySet) {
        self.keys.replace(keys);
        self.verified.clear();
    }
}

fn validation(algorithm: Algorithm, rules: &JwtRules) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = rules.leeway.as_secs();
    validation.validate_nbf = true;
    validation.set_issuer(&[&rules.issuer]);
    validation.set_audience(&[&rules.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

/// The failure a client is told; the details go to the debug log.
fn refused(err: jsonwebtoken::errors::Error) -> Error {
    tracing::debug!(error = %err, "JWT refused");
    let failure = match err.kind() {
        ErrorKind::ExpiredSignature => AuthFailure::Expired,
        ErrorKind::InvalidAudience => AuthFailure::WrongAudience,
        ErrorKind::InvalidIssuer => AuthFailure::WrongIssuer,
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => AuthFailure::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => AuthFailure::WrongIssuer,
        _ => AuthFailure::Invalid,
    };
    Error::Unauthenticated(failure)
}

#[cfg(test)]
mod tests;
