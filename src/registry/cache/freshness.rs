//! When the cache may answer a read: once it has applied every change committed before the
//! read began ("consistent reads from cache", as Kubernetes serves them from its watch cache).
//!
//! - Where this server is the only writer (an in-memory SQLite database), a read needs the
//!   changes of the commits this server made before it, which the store counts: no
//!   statement is issued.
//! - Elsewhere other processes may write too (replicas on PostgreSQL or MySQL, processes
//!   sharing a SQLite file, `modelreg import`): a read learns the log's last sequence
//!   committed (one single-row statement), after numbering any committed event still
//!   without a number. Concurrent reads share one check: a read uses a check that began after
//!   it did, so a burst of reads costs one or two statements, however many there are.

use std::time::{Duration, Instant};

use crate::domain::Result;
use crate::store::Store;

/// How far the applied events reach.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Reach {
    /// The last event applied.
    pub(super) sequence: i64,
    /// This server's commits whose events are applied (every one up to this count).
    pub(super) commits: u64,
}

/// What a read needs applied.
#[derive(Clone, Copy, Debug)]
pub(super) enum Needed {
    /// This server's commits, up to this count.
    Commits(u64),
    /// The log up to this sequence.
    Sequence(i64),
}

impl Reach {
    /// How many events (or, on SQLite, commits of this server) the cache has yet to apply
    /// for `needed`.
    pub(super) fn behind(&self, needed: &Needed) -> u64 {
        match *needed {
            Needed::Commits(commits) => commits.saturating_sub(self.commits),
            Needed::Sequence(sequence) => sequence.saturating_sub(self.sequence).max(0) as u64,
        }
    }
}

#[derive(Debug)]
pub(super) enum Freshness {
    /// The store counts the commits that matter.
    Local,
    /// Checked against the database, shared by concurrent reads.
    Checked(tokio::sync::Mutex<Option<Check>>),
}

/// The last check: when it began, and the sequence it found.
#[derive(Clone, Copy, Debug)]
pub(super) struct Check {
    began: Instant,
    sequence: i64,
}

impl Freshness {
    pub(super) fn of(store: &Store) -> Self {
        if store.sole_writer() {
            Freshness::Local
        } else {
            Freshness::Checked(tokio::sync::Mutex::new(None))
        }
    }

    /// What a read that begins now needs applied; `None` when events committed before it
    /// did not get their numbers within `max_wait`.
    pub(super) async fn needed(&self, store: &Store, max_wait: Duration) -> Result<Option<Needed>> {
        let began = Instant::now();
        let Freshness::Checked(last) = self else {
            return Ok(Some(Needed::Commits(store.local_commits())));
        };
        // Readers queue here while one checks; each then takes the newest check if it began
        // after the reader did, or makes the next one for everyone queued behind it.
        let mut last = last.lock().await;
        if let Some(check) = *last
            && check.began >= began
        {
            return Ok(Some(Needed::Sequence(check.sequence)));
        }
        let check_began = Instant::now();
        let Some(sequence) = committed_sequence(store, max_wait).await? else {
            return Ok(None);
        };
        *last = Some(Check {
            began: check_began,
            sequence,
        });
        Ok(Some(Needed::Sequence(sequence)))
    }
}

/// The sequence of the last event committed now, by any replica. Events committed without a
/// number yet (PostgreSQL's writers leave numbering to the sequencer) are numbered first, for
/// at most `max_wait`: the sequence then covers every change committed before the call.
async fn committed_sequence(store: &Store, max_wait: Duration) -> Result<Option<i64>> {
    let (last, pending) = store.committed_position().await?;
    if pending == 0 {
        return Ok(Some(last));
    }
    // In a task of its own: a transaction is never dropped half-way by a read that stops
    // waiting.
    let numbering = tokio::spawn({
        let store = store.clone();
        async move { store.number_events().await }
    });
    match tokio::time::timeout(max_wait, numbering).await {
        Ok(Ok(numbered)) => numbered?,
        Ok(Err(err)) => return Err(crate::domain::Error::Internal(err.into())),
        Err(_) => return Ok(None),
    }
    Ok(Some(store.committed_position().await?.0))
}
