//! The read cache: each server's copy of every registration, filled from one snapshot and
//! kept current by the event log's feed, so that `get` and the common pages of discovery are
//! answered from memory.
//!
//! A read is answered from memory only when the cache has applied every change committed
//! before the read began (see `freshness`); otherwise, after waiting briefly for the feed, it
//! is read from the database, and counted. Filters and orders are evaluated in memory, with
//! the database's answers (`pages`).

mod freshness;
mod pages;
mod state;
#[cfg(test)]
mod tests;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use self::freshness::{Freshness, Reach};
use self::state::State;
use crate::domain::{
    Event, Held, ListQuery, ModelCursor, ModelRef, Page, Registration, Result, Scope,
};
use crate::store::Store;

/// Reads by outcome: `hit` (answered from memory), `miss` (a registration the cache does not
/// hold, while it is over its size), `fallback` (read from the database, by `reason`).
pub(crate) const READS: &str = "modelreg_read_cache_reads_total";
/// Events committed but not yet applied, at the last read that checked.
pub(crate) const LAG: &str = "modelreg_read_cache_lag_events";
/// Estimated bytes held, and registrations held.
pub(crate) const BYTES: &str = "modelreg_read_cache_bytes";
pub(crate) const REGISTRATIONS: &str = "modelreg_read_cache_registrations";

/// How the cache is set up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CacheSettings {
    /// The registrations held at most, in estimated bytes; beyond it, the rest is read from
    /// the database.
    pub(crate) max_bytes: usize,
    /// How long a read waits for the feed to apply what was committed before it, before it
    /// reads from the database instead.
    pub(crate) max_wait: Duration,
    /// A fault for tests: each round of the feed waits this long before it reads the log.
    pub(crate) feed_delay: Duration,
}

/// The cache, or none (`--read-cache off`): then every read goes to the database.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReadCache {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    settings: CacheSettings,
    /// `None` until filled, and again when the feed lost its place (then it fills again).
    state: RwLock<Option<State>>,
    freshness: Freshness,
    /// How far the applied events reach; reads wait on it.
    reach: watch::Sender<Reach>,
    /// Set by a read that waits for the feed: read the log now.
    wanted: Notify,
}

/// Why a read went to the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// The cache is being filled.
    Filling,
    /// The feed did not apply what was committed before the read within the wait.
    Behind,
    /// The cache holds only part of the registrations (over its size): a page needs all.
    Partial,
}

impl Fallback {
    fn as_str(self) -> &'static str {
        match self {
            Fallback::Filling => "filling",
            Fallback::Behind => "behind",
            Fallback::Partial => "partial",
        }
    }
}

impl ReadCache {
    /// A cache of the registrations of `store`, empty until the feed fills it.
    pub(crate) fn new(store: &Store, settings: CacheSettings) -> Self {
        Self {
            inner: Some(Arc::new(Inner {
                settings,
                state: RwLock::new(None),
                freshness: Freshness::of(store),
                reach: watch::Sender::new(Reach::default()),
                wanted: Notify::new(),
            })),
        }
    }

    pub(crate) fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    /// A registration as `model` names it, if the cache can answer: `Some(None)` when it
    /// knows there is none.
    pub(crate) async fn get(
        &self,
        store: &Store,
        model: &ModelRef,
    ) -> Result<Option<Option<Registration>>> {
        let Some(inner) = &self.inner else {
            return Ok(None);
        };
        if let Err(reason) = inner.fresh(store).await? {
            count("get", "fallback", Some(reason));
            return Ok(None);
        }
        let answer = inner.read(|state| {
            let found = match model {
                ModelRef::Id(id) => state.by_id(*id),
                ModelRef::NameVersion(name, version) => {
                    state.by_name(name.as_str(), version.as_str())
                }
                ModelRef::NameAlias(name, alias) => state.by_alias(name.as_str(), alias.as_str()),
            };
            match found {
                Some(found) => Some(Some(Registration::clone(found))),
                None if state.complete => Some(None),
                None => None,
            }
        });
        match answer {
            Some(Some(answer)) => {
                count("get", "hit", None);
                Ok(Some(answer))
            }
            Some(None) => {
                count("get", "miss", None);
                Ok(None)
            }
            None => {
                count("get", "fallback", Some(Fallback::Filling));
                Ok(None)
            }
        }
    }

    /// A page of discovery among the models of `scope`, with the sequence it was read at,
    /// if the cache can answer it.
    pub(crate) async fn page(
        &self,
        store: &Store,
        query: &ListQuery,
        scope: &Scope,
    ) -> Result<Option<(Page<Arc<Held>, ModelCursor>, i64)>> {
        let Some(inner) = &self.inner else {
            return Ok(None);
        };
        if let Err(reason) = inner.fresh(store).await? {
            count("list", "fallback", Some(reason));
            return Ok(None);
        }
        let page = inner.read(|state| {
            if !state.complete {
                return Err(Fallback::Partial);
            }
            Ok((pages::page_of(state, query, scope), state.applied))
        });
        match page {
            Some(Ok(page)) => {
                count("list", "hit", None);
                Ok(Some(page))
            }
            Some(Err(reason)) => {
                count("list", "fallback", Some(reason));
                Ok(None)
            }
            None => {
                count("list", "fallback", Some(Fallback::Filling));
                Ok(None)
            }
        }
    }
}

/// The feed's side: filling and applying.
impl ReadCache {
    /// Fills the cache from one snapshot of the database; returns the snapshot's sequence,
    /// from which the feed continues.
    pub(crate) async fn fill(&self, store: &Store) -> Result<i64> {
        let Some(inner) = &self.inner else {
            return Ok(store.log_position().await?.last);
        };
        let started = std::time::Instant::now();
        let (registrations, sequence) = store.initial_state(None, None, &Scope::All).await?;
        let state = State::filled(registrations, sequence, inner.settings.max_bytes);
        tracing::info!(
            registrations = state.registrations(),
            bytes = state.bytes,
            complete = state.complete,
            sequence,
            took = ?started.elapsed(),
            "read cache filled"
        );
        report(&state);
        *inner.state.write().expect("cache lock") = Some(state);
        inner.reach.send_modify(|reach| reach.sequence = sequence);
        Ok(sequence)
    }

    /// Applies events read from the log after `after`. A gap (the log was pruned past the
    /// feed) empties the cache: it fills again.
    pub(crate) fn apply(&self, after: i64, events: &[Event]) -> std::result::Result<(), ()> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        let Some(last) = events.last() else {
            return Ok(());
        };
        let mut guard = inner.state.write().expect("cache lock");
        let Some(state) = guard.as_mut().filter(|state| state.applied == after) else {
            *guard = None;
            return Err(());
        };
        if events
            .first()
            .is_some_and(|first| first.sequence != after + 1)
        {
            *guard = None;
            return Err(());
        }
        let budget = inner.settings.max_bytes;
        for event in events {
            state.apply(event, budget);
        }
        report(state);
        drop(guard);
        inner
            .reach
            .send_modify(|reach| reach.sequence = last.sequence);
        Ok(())
    }

    /// Every commit this server made, up to the `commits`-th, is applied.
    pub(crate) fn covered(&self, commits: u64) {
        if let Some(inner) = &self.inner {
            inner.reach.send_if_modified(|reach| {
                let moved = reach.commits < commits;
                reach.commits = reach.commits.max(commits);
                moved
            });
        }
    }

    /// The fault a test set: how long each round of the feed waits first.
    pub(crate) fn feed_delay(&self) -> Duration {
        self.inner
            .as_ref()
            .map_or(Duration::ZERO, |inner| inner.settings.feed_delay)
    }

    /// Completes when a read waits for the feed.
    pub(crate) async fn wanted(&self) {
        match &self.inner {
            Some(inner) => inner.wanted.notified().await,
            None => std::future::pending().await,
        }
    }
}

impl Inner {
    fn read<T>(&self, read: impl FnOnce(&State) -> T) -> Option<T> {
        self.state.read().expect("cache lock").as_ref().map(read)
    }

    /// Whether the cache may answer a read that begins now: it has applied every change
    /// committed before, or does within the wait.
    async fn fresh(&self, store: &Store) -> Result<std::result::Result<(), Fallback>> {
        if self.read(|_| ()).is_none() {
            return Ok(Err(Fallback::Filling));
        }
        let Some(needed) = self.freshness.needed(store, self.settings.max_wait).await? else {
            return Ok(Err(Fallback::Behind));
        };
        let mut reach = self.reach.subscribe();
        let lag = reach.borrow().behind(&needed);
        metrics::gauge!(LAG).set(lag as f64);
        if lag == 0 {
            return Ok(Ok(()));
        }
        self.wanted.notify_one();
        let caught_up = reach.wait_for(|reach| reach.behind(&needed) == 0);
        match tokio::time::timeout(self.settings.max_wait, caught_up).await {
            Ok(Ok(_)) => Ok(Ok(())),
            _ => Ok(Err(Fallback::Behind)),
        }
    }
}

fn count(operation: &'static str, outcome: &'static str, reason: Option<Fallback>) {
    let reason = reason.map_or("", Fallback::as_str);
    metrics::counter!(READS, "operation" => operation, "outcome" => outcome, "reason" => reason)
        .increment(1);
}

fn report(state: &State) {
    metrics::gauge!(BYTES).set(state.bytes as f64);
    metrics::gauge!(REGISTRATIONS).set(state.registrations() as f64);
}
