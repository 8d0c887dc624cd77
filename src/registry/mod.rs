//! The core: every operation of the registry, the one place that decides what an operation
//! does. Operations take and return domain types; front-ends (gRPC, REST, the agent) translate
//! their protocol to these calls and back, and nothing else.

mod aliases;
mod artifacts;
#[cfg(test)]
mod authorization_tests;
mod download;
mod events;
mod feed;
pub(crate) mod import;
mod models;
mod sweep;
#[cfg(test)]
mod testing;
mod watch;

use std::time::Duration;

pub(crate) use artifacts::StoredArtifact;
pub(crate) use feed::Feed;
pub use sweep::SweepReport;
pub(crate) use watch::{WatchItem, WatchStream};

use crate::domain::page_token::PageTokenKey;
use crate::domain::{Error, Result};
use crate::objects::Objects;
use crate::store::Store;

/// Watchers' defaults where no configuration gives them (tools that never serve watches).
const DEFAULT_WATCH_BUFFER: usize = 1024;
const DEFAULT_WATCH_HEARTBEAT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub(crate) struct Registry {
    store: Store,
    objects: Objects,
    /// The largest artifact accepted, in bytes.
    max_artifact_bytes: u64,
    /// Hands committed events to this server's watch streams.
    feed: Feed,
    /// A watch stream with nothing to send sends a heartbeat this often.
    watch_heartbeat: Duration,
    /// Seals the page tokens of every listing.
    page_token_key: PageTokenKey,
}

impl Registry {
    pub(crate) fn new(store: Store, objects: Objects, max_artifact_bytes: u64) -> Self {
        Self {
            store,
            objects,
            max_artifact_bytes,
            feed: Feed::new(DEFAULT_WATCH_BUFFER),
            watch_heartbeat: DEFAULT_WATCH_HEARTBEAT,
            // A server reads the database's key (`with_page_token_key`); a tool that lists
            // nothing needs none that lasts.
            page_token_key: PageTokenKey::generate(),
        }
    }

    /// Page tokens sealed with `key`, which every replica of the database shares.
    pub(crate) fn with_page_token_key(mut self, key: PageTokenKey) -> Self {
        self.page_token_key = key;
        self
    }

    /// The key that seals and opens page tokens.
    pub(crate) fn page_token_key(&self) -> &PageTokenKey {
        &self.page_token_key
    }

    /// Watch streams that may fall `buffer` events behind, and send a heartbeat after
    /// `heartbeat` without events.
    pub(crate) fn with_watches(mut self, buffer: usize, heartbeat: Duration) -> Self {
        self.feed = Feed::new(buffer);
        self.watch_heartbeat = heartbeat;
        self
    }

    pub(crate) fn feed(&self) -> &Feed {
        &self.feed
    }

    /// Ends every watch stream (the server is stopping), once they have the log's last events.
    pub(crate) async fn close_watches(&self) {
        self.feed.close(&self.store).await;
    }
}

/// Runs `work` in a task of its own. A front-end drops its call when the client goes away or
/// its deadline passes; the task still runs to its end, so no change is left half done (an
/// upload removes what it stored, a committed deletion removes its bytes) and no transaction
/// is abandoned between two statements.
async fn detached<T: Send + 'static>(
    work: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    tokio::spawn(work)
        .await
        .map_err(|err| Error::Internal(err.into()))?
}
