//! The core: every operation of the registry, the one place that decides what an operation
//! does. Operations take and return domain types; front-ends (gRPC, REST, the agent) translate
//! their protocol to these calls and back, and nothing else.
//!
//! Every operation, on one page. The role is checked before anything is looked up; "scope"
//! means the model name the caller chose must be one it may use; a model outside the caller's
//! scope is not found, exactly as a missing one.
//!
//! The core decides every change: its events and their content, the etag, the times (from
//! `domain::clock`) and the next artifact version, as a `domain::ModelChange` that the store
//! persists whole, with its events, in one transaction. A change of an existing registration
//! is decided from the registration as the store read it under its row lock (`Store::change`),
//! so that concurrent changes of one model take turns.
//!
//! | operation | file | role | event | errors besides INVALID_ARGUMENT |
//! |---|---|---|---|---|
//! | `register` | models.rs | writer, scope | MODEL_REGISTERED | MODEL_OUT_OF_SCOPE, MODEL_ALREADY_REGISTERED |
//! | `get`, `get_by` | models.rs, aliases.rs | reader | | MODEL_REGISTRATION_NOT_FOUND, MODEL_NOT_FOUND, ALIAS_NOT_FOUND |
//! | `update` | models.rs | writer | MODEL_UPDATED | MODEL_REGISTRATION_NOT_FOUND, ETAG_MISMATCH, ARTIFACT_VERSION_BACKWARDS |
//! | `delete` | models.rs | admin | ALIAS_DELETED (each alias), MODEL_DEREGISTERED | MODEL_REGISTRATION_NOT_FOUND, ETAG_MISMATCH |
//! | `list` | models.rs | reader | | (filter and page token errors are INVALID_ARGUMENT) |
//! | `set_alias` | aliases.rs | writer, scope | ALIAS_SET (none when unchanged) | MODEL_NOT_FOUND, CONCURRENT_MODIFICATION |
//! | `delete_alias` | aliases.rs | writer, scope | ALIAS_DELETED | ALIAS_NOT_FOUND |
//! | `upload` | artifacts.rs | writer, scope | ARTIFACT_STORED | not found, ARTIFACT_TOO_LARGE, UPLOAD_CANCELLED, ARTIFACT_STORE_UNAVAILABLE |
//! | `declare_artifact` | artifact_versions.rs | writer, scope | ARTIFACT_STORED (none for the current version) | not found, ARTIFACT_VERSION_BACKWARDS |
//! | `list_artifacts` | artifacts.rs | reader | | not found |
//! | `download` | download.rs | reader | | ARTIFACT_NOT_FOUND, ARTIFACT_NOT_HELD, OFFSET_OUT_OF_RANGE, ARTIFACT_DATA_LOSS |
//! | `watch` | watch.rs | reader (events of the scope only) | | SEQUENCE_EXPIRED, SEQUENCE_AHEAD, WATCHER_TOO_SLOW, SHUTTING_DOWN, STREAM_LIFETIME_REACHED |
//! | `list_events` | events.rs | admin | | |
//! | `create_subscription`, `get_subscription`, `list_subscriptions`, `delete_subscription` | subscriptions.rs | reader (its own; admin: everyone's) | | SUBSCRIPTION_NOT_FOUND, SEQUENCE_EXPIRED, SEQUENCE_AHEAD |
//! | `claim_subscriptions`, `record_delivery`, `events_for_delivery` | subscriptions.rs | the callbacks' deliverers | | |
//! | `prune_events`, `sweep`, `import::import_batch` | events.rs, sweep.rs, import.rs | the server's own upkeep and tools | MODEL_REGISTERED (import, actor `import`) | |
//!
//! Every operation may also fail with DATABASE_UNAVAILABLE, CONCURRENT_MODIFICATION (a
//! transaction a concurrent one aborted) or, for a bug, INTERNAL.

mod aliases;
mod artifact_versions;
mod artifacts;
#[cfg(test)]
mod authorization_tests;
mod cache;
mod download;
mod events;
mod feed;
pub(crate) mod import;
mod models;
mod subscriptions;
mod sweep;
#[cfg(test)]
pub(crate) mod testing;
mod watch;

use std::time::Duration;

pub(crate) use artifacts::StoredArtifact;
pub(crate) use cache::{CacheSettings, ReadCache};
pub(crate) use feed::Feed;
pub(crate) use subscriptions::{
    Held as HeldSubscription, SubscriptionSettings, SubscriptionStatus,
};
pub use sweep::SweepReport;
pub(crate) use watch::{WATCHERS, WatchItem, WatchStream};

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
    /// Answers reads from memory where it can (off until `with_read_cache`).
    cache: ReadCache,
    /// Where subscriptions may send notifications, and when they count as failing.
    subscriptions: SubscriptionSettings,
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
            cache: ReadCache::default(),
            subscriptions: SubscriptionSettings::default(),
        }
    }

    /// Subscriptions checked and shown by `settings`.
    pub(crate) fn with_subscriptions(mut self, settings: SubscriptionSettings) -> Self {
        self.subscriptions = settings;
        self
    }

    /// Reads answered from `cache` where it can, which the feed keeps current.
    pub(crate) fn with_read_cache(mut self, cache: ReadCache) -> Self {
        self.feed = self.feed.with_cache(cache.clone());
        self.cache = cache;
        self
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
        self.feed = Feed::new(buffer).with_cache(self.cache.clone());
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
    // In the caller's span: the work's statements and log lines belong to its request.
    tokio::spawn(tracing::Instrument::in_current_span(work))
        .await
        .map_err(|err| Error::Internal(err.into()))?
}
