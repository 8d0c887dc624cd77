//! Authentication of callers: the consumers file of bearer tokens and client-certificate
//! identities, and the JWTs of an identity provider.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// How callers prove who they are. With none of these (and no client CA), every caller is an
/// anonymous administrator.
#[derive(Clone, Args)]
pub struct AuthConfig {
    /// The consumers file (TOML): each consumer's name, role, model scopes, and the SHA-256
    /// of its bearer token, or none for a client-certificate identity. Re-read when it changes.
    #[arg(long, env = "MODELREG_AUTH_TOKENS")]
    pub auth_tokens: Option<PathBuf>,

    /// How often the consumers file, and a JWKS file, are checked for changes.
    #[arg(long, env = "MODELREG_AUTH_RELOAD_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub auth_reload_interval: Duration,

    /// The keys that sign JWTs: a JWKS file, or an `http(s)://` URL fetched at start and again
    /// when a token names a key it does not hold.
    #[arg(long, env = "MODELREG_AUTH_JWKS", requires_all = ["auth_issuer", "auth_audience"])]
    pub auth_jwks: Option<String>,

    /// The `iss` every JWT must carry.
    #[arg(long, env = "MODELREG_AUTH_ISSUER", requires = "auth_jwks")]
    pub auth_issuer: Option<String>,

    /// The `aud` every JWT must carry (one of its values, when it is a list).
    #[arg(long, env = "MODELREG_AUTH_AUDIENCE", requires = "auth_jwks")]
    pub auth_audience: Option<String>,

    /// Clock skew allowed when checking a JWT's `exp` and `nbf`.
    #[arg(long, env = "MODELREG_AUTH_LEEWAY", default_value = "30s", value_parser = humantime::parse_duration)]
    pub auth_leeway: Duration,

    /// The JWT claim that holds the caller's role: `reader`, `writer` or `admin`.
    #[arg(long, env = "MODELREG_AUTH_ROLE_CLAIM", default_value = "role")]
    pub auth_role_claim: String,

    /// The JWT claim that holds the model-name patterns the caller may use: a list, or one
    /// space-separated string. Without it, every model.
    #[arg(
        long,
        env = "MODELREG_AUTH_SCOPES_CLAIM",
        default_value = "model_scopes"
    )]
    pub auth_scopes_claim: String,

    /// A JWKS URL is fetched again for an unknown key at most this often, however many tokens
    /// name unknown keys.
    #[arg(long, env = "MODELREG_AUTH_JWKS_REFRESH_MIN_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub auth_jwks_refresh_min_interval: Duration,

    /// Verified JWTs remembered (until they expire), so that a client's next calls skip the
    /// signature check.
    #[arg(
        long,
        env = "MODELREG_AUTH_JWT_CACHE_ENTRIES",
        default_value_t = 10_000
    )]
    pub auth_jwt_cache_entries: usize,

    /// Refuse every call (UNAVAILABLE) while the consumers file or a JWKS file cannot be read
    /// or does not parse, instead of keeping the last valid version in force: a revocation
    /// made by rewriting the file then never fails silently. Health reports NOT_SERVING
    /// meanwhile.
    #[arg(long, env = "MODELREG_AUTH_FAIL_CLOSED")]
    pub auth_fail_closed: bool,

    /// How often an open stream (WatchModels, Server-Sent Events) checks its caller's
    /// credentials again: a revoked consumer, an expired JWT or a changed role or scope ends
    /// the stream within this (plus `--auth-reload-interval` for a file change); "0s": never.
    #[arg(long, env = "MODELREG_AUTH_STREAM_CHECK_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub auth_stream_check_interval: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        super::defaults::of_flags()
    }
}

/// A JWKS URL may carry credentials (user-info, an `api_key` in its query).
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("auth_tokens", &self.auth_tokens)
            .field("auth_reload_interval", &self.auth_reload_interval)
            .field(
                "auth_jwks",
                &self.auth_jwks.as_deref().map(super::redact_url),
            )
            .field("auth_issuer", &self.auth_issuer)
            .field("auth_audience", &self.auth_audience)
            .field("auth_leeway", &self.auth_leeway)
            .field("auth_role_claim", &self.auth_role_claim)
            .field("auth_scopes_claim", &self.auth_scopes_claim)
            .field(
                "auth_jwks_refresh_min_interval",
                &self.auth_jwks_refresh_min_interval,
            )
            .field("auth_jwt_cache_entries", &self.auth_jwt_cache_entries)
            .field("auth_fail_closed", &self.auth_fail_closed)
            .field(
                "auth_stream_check_interval",
                &self.auth_stream_check_interval,
            )
            .finish()
    }
}

impl AuthConfig {
    /// Whether callers must prove who they are: as soon as any way to do so is configured.
    /// A client CA (`client_certificates_required`) is one of them.
    pub(crate) fn any_method(&self, client_certificates_required: bool) -> bool {
        self.auth_tokens.is_some() || self.auth_jwks.is_some() || client_certificates_required
    }
}
