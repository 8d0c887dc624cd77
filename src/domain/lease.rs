//! How long a stream may go on. A watch stream holds a lease that its front-end makes: it
//! ends when the caller's credentials stop being valid (revoked, expired, changed) or when the
//! stream reaches the longest life the server allows, and the stream ends with it, telling its
//! client why and from where to resume.

use std::future::Future;
use std::pin::Pin;

use super::Error;

/// Why a stream's lease ended.
#[derive(Debug)]
pub(crate) enum LeaseEnd {
    /// The credentials the stream was opened with are refused now (a removed consumer, an
    /// expired token), or cannot be checked.
    Refused(Error),
    /// The credentials are valid but now make another caller: a changed role or scopes.
    CredentialsChanged,
    /// The stream reached its longest life: its connection's age or the longest deadline.
    LifetimeReached,
}

/// Completes when the stream must end.
pub(crate) type Lease = Pin<Box<dyn Future<Output = LeaseEnd> + Send>>;

impl LeaseEnd {
    /// The error the stream ends with, after its client has seen every event up to
    /// `last_sent`.
    pub(crate) fn into_error(self, last_sent: i64) -> Error {
        match self {
            LeaseEnd::Refused(err) => err,
            LeaseEnd::CredentialsChanged => Error::CredentialsChanged { last_sent },
            LeaseEnd::LifetimeReached => Error::StreamLifetimeReached { last_sent },
        }
    }
}
