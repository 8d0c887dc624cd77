//! The decision: which credentials count, and the caller they make.
//!
//! - No method configured: every caller is an anonymous administrator, as before
//!   authentication existed.
//! - A bearer token decides, when there is one (over a client certificate): a token shaped
//!   like a JWT goes to the JWT verifier when a JWKS is configured, any other to the
//!   consumers file.
//! - Otherwise a client certificate's identity names a consumer of the consumers file; with a
//!   client CA and no consumers file, the CA is the trust decision and every certified client
//!   is an administrator.
//! - Otherwise the call has no credentials.

use std::fmt;
use std::sync::Arc;

use super::AuthSetupError;
use super::consumers::Consumers;
use super::consumers_file::parse_consumers;
use super::current::Current;
use super::jwt::{ClaimNames, JwtRules, JwtVerifier};
use super::reload::WatchedFile;
use crate::config::AuthConfig;
use crate::domain::{AuthFailure, Caller, Error, Principal, Role, Scope};

/// What a call brought to prove who it is.
#[derive(Clone, Copy, Default)]
pub(crate) struct Credentials<'a> {
    /// The token of an `authorization: Bearer` header.
    pub(crate) bearer: Option<&'a str>,
    /// The identity of the verified client certificate of the connection.
    pub(crate) client_identity: Option<&'a str>,
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("bearer", &self.bearer.map(|_| "REDACTED"))
            .field("client_identity", &self.client_identity)
            .finish()
    }
}

/// Cheap to clone: every connection's service holds one.
#[derive(Clone)]
pub(crate) struct Authenticator {
    /// `None`: no method is configured.
    methods: Option<Arc<Methods>>,
}

struct Methods {
    consumers: Option<Arc<Current<Consumers>>>,
    jwt: Option<Arc<JwtVerifier>>,
    /// A client CA is configured: a certificate the TLS handshake verified is a credential.
    client_certificates: bool,
}

impl Authenticator {
    /// Every caller is an anonymous administrator.
    pub(crate) fn disabled() -> Self {
        Self { methods: None }
    }

    /// Reads the consumers file and the JWKS; returns the authenticator and the files to
    /// watch for changes.
    pub(crate) async fn start(
        config: &AuthConfig,
        client_certificates_required: bool,
    ) -> Result<(Self, Vec<WatchedFile>), AuthSetupError> {
        if !config.any_method(client_certificates_required) {
            return Ok((Self::disabled(), Vec::new()));
        }
        let mut watched = Vec::new();
        let consumers = match &config.auth_tokens {
            Some(path) => {
                let (consumers, file) = read_consumers(path.clone()).await?;
                watched.push(file);
                Some(consumers)
            }
            None => None,
        };
        let jwt = match &config.auth_jwks {
            Some(location) => {
                let (verifier, file) = JwtVerifier::start(location, jwt_rules(config)).await?;
                watched.extend(file);
                Some(verifier)
            }
            None => None,
        };
        let methods = Methods {
            consumers,
            jwt,
            client_certificates: client_certificates_required,
        };
        Ok((
            Self {
                methods: Some(Arc::new(methods)),
            },
            watched,
        ))
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.methods.is_some()
    }

    pub(crate) async fn authenticate(&self, credentials: Credentials<'_>) -> Result<Caller, Error> {
        let Some(methods) = &self.methods else {
            return Ok(Caller::anonymous_admin());
        };
        if let Some(token) = credentials.bearer {
            return methods.by_token(token).await;
        }
        if let Some(identity) = credentials.client_identity
            && methods.client_certificates
        {
            return methods.by_certificate(identity);
        }
        Err(Error::Unauthenticated(AuthFailure::Missing))
    }
}

impl Methods {
    async fn by_token(&self, token: &str) -> Result<Caller, Error> {
        if let Some(jwt) = &self.jwt
            && looks_like_jwt(token)
        {
            return jwt.verify(token).await;
        }
        let found = self
            .consumers
            .as_ref()
            .and_then(|c| c.get().by_token(token));
        found.ok_or_else(|| {
            tracing::debug!("bearer token refused: no consumer has it");
            Error::Unauthenticated(AuthFailure::Invalid)
        })
    }

    fn by_certificate(&self, identity: &str) -> Result<Caller, Error> {
        match &self.consumers {
            Some(consumers) => {
                consumers
                    .get()
                    .by_name(identity)
                    .ok_or_else(|| Error::UnknownConsumer {
                        principal: identity.to_owned(),
                    })
            }
            // The client CA vouches for every certificate it signed.
            None => Ok(Caller {
                principal: Principal::Named(identity.to_owned()),
                role: Role::Admin,
                scope: Scope::All,
            }),
        }
    }
}

/// Three non-empty base64url parts separated by dots: a JWS in compact form. Tokens made by
/// `modelreg tokens new` have no dot.
fn looks_like_jwt(token: &str) -> bool {
    let mut parts = 0;
    for part in token.split('.') {
        parts += 1;
        let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if part.is_empty() || !part.chars().all(base64url) {
            return false;
        }
    }
    parts == 3
}

async fn read_consumers(
    path: std::path::PathBuf,
) -> Result<(Arc<Current<Consumers>>, WatchedFile), AuthSetupError> {
    let contents =
        tokio::fs::read(&path)
            .await
            .map_err(|source| AuthSetupError::ReadConsumers {
                path: path.clone(),
                source,
            })?;
    let parsed = std::str::from_utf8(&contents)
        .map_err(|_| "not UTF-8 text".to_owned())
        .and_then(|text| parse_consumers(text).map_err(|err| err.to_string()));
    let consumers = parsed.map_err(|problem| AuthSetupError::Consumers {
        path: path.clone(),
        problem,
    })?;
    tracing::info!(path = %path.display(), consumers = consumers.len(), "consumers file read");
    let current = Arc::new(Current::new(consumers));
    let reloaded = Arc::clone(&current);
    let file = WatchedFile::new(
        path,
        "consumers file",
        contents,
        Box::new(move |contents| {
            let text = std::str::from_utf8(contents).map_err(|_| "not UTF-8 text".to_owned())?;
            let consumers = parse_consumers(text).map_err(|err| err.to_string())?;
            tracing::info!(consumers = consumers.len(), "consumers in force");
            reloaded.replace(consumers);
            Ok(())
        }),
    );
    Ok((current, file))
}

fn jwt_rules(config: &AuthConfig) -> JwtRules {
    JwtRules {
        // clap requires both with --auth-jwks; empty strings match no token.
        issuer: config.auth_issuer.clone().unwrap_or_default(),
        audience: config.auth_audience.clone().unwrap_or_default(),
        leeway: config.auth_leeway,
        claims: ClaimNames {
            role: config.auth_role_claim.clone(),
            scopes: config.auth_scopes_claim.clone(),
        },
        cache_entries: config.auth_jwt_cache_entries,
        refresh_min_interval: config.auth_jwks_refresh_min_interval,
    }
}

#[cfg(test)]
mod tests;
