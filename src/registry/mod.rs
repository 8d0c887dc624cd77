//! The core: every operation of the registry, the one place that decides what an operation
//! does. Operations take and return domain types; front-ends (gRPC today) translate their
//! protocol to these calls and back, and nothing else.

mod artifacts;
#[cfg(test)]
mod authorization_tests;
mod download;
mod models;
mod sweep;
#[cfg(test)]
mod testing;

pub(crate) use artifacts::StoredArtifact;
pub use sweep::SweepReport;

use crate::domain::{Error, Result};
use crate::objects::Objects;
use crate::store::Store;

#[derive(Clone, Debug)]
pub(crate) struct Registry {
    store: Store,
    objects: Objects,
    /// The largest artifact accepted, in bytes.
    max_artifact_bytes: u64,
}

impl Registry {
    pub(crate) fn new(store: Store, objects: Objects, max_artifact_bytes: u64) -> Self {
        Self {
            store,
            objects,
            max_artifact_bytes,
        }
    }
}

/// Runs `work` in a task of its own. A front-end drops its call when the client goes away; the
/// task still runs to its end, so no change is left half done: an upload removes what it
/// stored, a committed deletion removes its bytes.
async fn detached<T: Send + 'static>(
    work: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    tokio::spawn(work)
        .await
        .map_err(|err| Error::Internal(err.into()))?
}
