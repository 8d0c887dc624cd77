//! Credentials checked again while a stream is open. Authentication runs once per request,
//! but a watch stream lasts as long as its client wants: every `--auth-stream-check-interval`
//! its credentials are authenticated again, as a new call's would be, and the stream's lease
//! ends when they are refused (a consumer removed from the file, an expired JWT, a withdrawn
//! key) or make another caller than the one that opened it (a changed role or scopes).

use std::sync::Arc;
use std::time::Duration;

use super::{Authenticator, Credentials};
use crate::domain::{Caller, LeaseEnd};

/// What a request was authenticated with, kept to authenticate its stream again. It holds a
/// bearer token, so it has no `Debug` and is never logged.
#[derive(Clone)]
pub(crate) struct Revalidation {
    authenticator: Authenticator,
    bearer: Option<Arc<str>>,
    client_identity: Option<Arc<str>>,
    caller: Caller,
    every: Duration,
}

impl Revalidation {
    pub(super) fn new(
        authenticator: Authenticator,
        credentials: Credentials<'_>,
        caller: Caller,
        every: Duration,
    ) -> Self {
        Self {
            authenticator,
            bearer: credentials.bearer.map(Arc::from),
            client_identity: credentials.client_identity.map(Arc::from),
            caller,
            every,
        }
    }

    /// Completes once the credentials no longer make the same caller; never with an interval
    /// of zero (`0s`: streams are not checked).
    pub(crate) async fn until_invalid(self) -> LeaseEnd {
        if self.every.is_zero() {
            return std::future::pending().await;
        }
        let start = tokio::time::Instant::now() + self.every;
        let mut checks = tokio::time::interval_at(start, self.every);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            checks.tick().await;
            let credentials = Credentials {
                bearer: self.bearer.as_deref(),
                client_identity: self.client_identity.as_deref(),
            };
            match self.authenticator.authenticate(credentials).await {
                Ok(caller) if caller == self.caller => {}
                Ok(caller) => {
                    tracing::info!(principal = %caller.principal, "a stream's caller changed; it ends");
                    return LeaseEnd::CredentialsChanged;
                }
                Err(err) => {
                    tracing::info!(principal = %self.caller.principal, reason = err.reason(), "a stream's credentials are refused now; it ends");
                    return LeaseEnd::Refused(err);
                }
            }
        }
    }
}
