//! Who is calling: bearer tokens of the consumers file, JWTs of an identity provider, and the
//! identities of client certificates, made into domain callers. Nothing here knows a protocol
//! beyond HTTP's `authorization` header: front-ends hand over the credentials a call brought,
//! and get a caller or the reason why not.

mod authenticator;
mod bearer;
mod consumers;
mod consumers_file;
mod current;
mod digest;
mod jwt;
mod reload;
mod revalidation;
mod tokens;

use std::path::PathBuf;

pub(crate) use authenticator::{Authenticator, Credentials};
pub(crate) use reload::{WatchedFile, watch_files};
pub(crate) use revalidation::Revalidation;
pub use tokens::{NewToken, NewTokenArgs, new_token};

/// A configuration of authentication that cannot be used; the server does not start.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("cannot read the consumers file {}: {source}", .path.display())]
    ReadConsumers {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("consumers file {}: {problem}", .path.display())]
    Consumers { path: PathBuf, problem: String },
    #[error("cannot read the JWKS file {}: {source}", .path.display())]
    ReadJwks {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("JWKS file {}: {problem}", .path.display())]
    Jwks { path: PathBuf, problem: String },
    #[error("--auth-jwks: {problem}")]
    JwksUrl { problem: String },
}
