//! The decision: which credentials count, and the caller they make. Nothing admits an
//! identity that the configuration does not list:
//!
//! - No method configured: every caller is an anonymous administrator, as before
//!   authentication existed.
//! - A bearer token decides, when there is one (over a client certificate): a token shaped
//!   like a JWT goes to the JWT verifier when a JWKS is configured, any other to the
//!   consumers file.
//! - Otherwise a client certificate (with a client CA) is a credential only as the
//!   configuration says: with a consumers file, its identity must be the `certificate` of a
//!   consumer; with a client CA alone, the CA is the list, and every certificate it signed is
//!   an administrator; with JWTs and no consumers file, a certificate admits the connection
//!   but is no caller, and the call still needs a token.
//! - Otherwise the call has no credentials.
//!
//! With `--auth-fail-closed`, a watched file (the consumers file, a JWKS file) that cannot be
//! read or does not parse refuses every call until it is valid again.

use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;

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
    /// With `--auth-fail-closed`: whether each watched file is valid now.
    fail_closed: Option<Vec<watch::Receiver<bool>>>,
    /// How often an open stream's credentials are checked again.
    stream_check_interval: std::time::Duration,
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
        let fail_closed = config
            .auth_fail_closed
            .then(|| watched.iter().map(WatchedFile::validity).collect());
        let methods = Methods {
            consumers,
            jwt,
            client_certificates: client_certificates_required,
            fail_closed,
            stream_check_interval: config.auth_stream_check_interval,
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

    pub(super) fn stream_check_interval(&self) -> std::time::Duration {
        self.methods
            .as_ref()
            .map_or(std::time::Duration::ZERO, |methods| {
                methods.stream_check_interval
            })
    }

    /// Whether calls can be authenticated now: false while `--auth-fail-closed` refuses them
    /// because a watched file is not valid. Health reports it.
    pub(crate) fn is_ready(&self) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|methods| methods.files_valid())
    }

    pub(crate) async fn authenticate(&self, credentials: Credentials<'_>) -> Result<Caller, Error> {
        let Some(methods) = &self.methods else {
            return Ok(Caller::anonymous_admin());
        };
        if !methods.files_valid() {
            return Err(Error::AuthenticationUnavailable(
                "--auth-fail-closed: a consumers or JWKS file is not valid".into(),
            ));
        }
        if let Some(token) = credentials.bearer {
            return methods.by_token(token).await;
        }
        match credentials.client_identity {
            Some(identity) if methods.client_certificates => methods.by_certificate(identity),
            _ => Err(Error::Unauthenticated(AuthFailure::Missing)),
        }
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
        // The names of a certificate are the client's to choose, within what its CA signs:
        // one with a control character would forge log lines and audit records.
        let principal = Principal::named(identity).map_err(|problem| {
            tracing::debug!(identity = ?identity, %problem, "client certificate refused");
            Error::Unauthenticated(AuthFailure::Invalid)
        })?;
        match (&self.consumers, &self.jwt) {
            (Some(consumers), _) => {
                consumers
                    .get()
                    .by_certificate(identity)
                    .ok_or_else(|| Error::UnknownConsumer {
                        principal: identity.to_owned(),
                    })
            }
            // The client CA is the only method: it vouches for every certificate it signed.
            (None, None) => Ok(Caller {
                principal,
                role: Role::Admin,
                scope: Scope::All,
                via: None,
            }),
            // JWTs say who calls and what it may do; the certificate only admits the
            // connection.
            (None, Some(_)) => Err(Error::Unauthenticated(AuthFailure::Missing)),
        }
    }

    fn files_valid(&self) -> bool {
        self.fail_closed
            .as_ref()
            .is_none_or(|files| files.iter().all(|valid| *valid.borrow()))
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
