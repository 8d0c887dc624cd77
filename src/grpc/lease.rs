//! The lease of a watch stream, gRPC's or the REST event stream's: it ends when the caller's
//! credentials stop being valid (see `auth::Revalidation`) or when the stream reaches its
//! longest life: the maximum age of its connection (a long stream would otherwise keep an aged
//! connection open, and its client on one replica, for ever) or the longest deadline, whichever
//! comes first.

use std::time::{Duration, Instant};

use crate::auth::Revalidation;
use crate::domain::{Lease, LeaseEnd};

/// The longest a stream may last.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamLimits {
    /// `--max-connection-age`, counted from when the connection was accepted.
    pub(crate) max_connection_age: Duration,
    /// `--max-deadline`, counted from the stream's start.
    pub(crate) max_deadline: Duration,
}

impl StreamLimits {
    /// The lease of a stream that starts now on a connection accepted at `accepted_at`, whose
    /// credentials are checked again by `revalidation` (none without authentication).
    pub(crate) fn lease(
        &self,
        accepted_at: Option<Instant>,
        revalidation: Option<Revalidation>,
    ) -> Lease {
        let now = Instant::now();
        let by_age = accepted_at
            .unwrap_or(now)
            .checked_add(self.max_connection_age);
        let by_deadline = now.checked_add(self.max_deadline);
        let end = match (by_age, by_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (one, other) => one.or(other),
        };
        Box::pin(async move {
            let lifetime = async {
                match end {
                    Some(end) => tokio::time::sleep_until(end.into()).await,
                    None => std::future::pending().await,
                }
                LeaseEnd::LifetimeReached
            };
            match revalidation {
                Some(revalidation) => tokio::select! {
                    end = lifetime => end,
                    end = revalidation.until_invalid() => end,
                },
                None => lifetime.await,
            }
        })
    }
}
