//! How events get their sequence numbers: strictly increasing in commit order, so that a reader
//! that has seen event N never later finds a smaller number appear.
//!
//! Where writes take turns anyway (SQLite's one writer connection; MySQL until it is measured),
//! a writing transaction numbers its own event as its last statement, from the `event_log`
//! counter whose row lock it then holds until it commits.
//!
//! On PostgreSQL that lock would make every commit wait for the one before it to reach the
//! disk, and commits could no longer share a WAL flush: write throughput fell to a third. There
//! a writer appends its event to `pending_events` instead, and a sequencer numbers committed
//! events afterwards: it locks the counter's row (one sequencer at a time, on any replica),
//! moves a batch of pending events into `model_events` with the next numbers, and commits,
//! so that a batch becomes visible at once, after every smaller number.
//!
//! A consistent snapshot (a list, a watch's initial state) carries the sequence of the last
//! change it sees. When it sees changes whose events are still unnumbered, that sequence is
//! the counter plus their count, provided that no event takes a number among theirs: the
//! sequencer numbers in the order of writing, so only a writer between its append and its
//! commit could. Writers therefore hold an advisory lock in shared mode from their append to
//! their commit; such a snapshot begins again while it holds that lock exclusively (waiting for
//! the writers in their commits and holding new ones back for one statement), and then sees
//! exactly the changes up to its sequence.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, IntoActiveModel, Statement,
    TransactionTrait,
};
use tokio::sync::Notify;

use super::Store;
use super::entity::model_event as event;
use super::entity::pending_event as pending;
use super::event_rows::event_row;
use super::transaction::settle;
use crate::domain::{Actor, NewEvent, Result};
use crate::tasks::CancellationToken;

/// The PostgreSQL channel notified by every commit that numbers events.
pub(crate) const NOTIFY_CHANNEL: &str = "modelreg_events";

/// The advisory lock that writers hold shared from their append to their commit, and that a
/// snapshot takes exclusively: "evtorder" in ASCII.
pub(super) const APPEND_LOCK_KEY: i64 = 0x6576_746f_7264_6572;

/// Pending events the sequencer numbers in one transaction.
const NUMBER_BATCH: i64 = 1_000;

/// After a failed round, the sequencer waits this long before the next.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// The store's side of numbering: the log's own connections where events are numbered after
/// commit, and the wake-ups between writers, the sequencer and the feed.
#[derive(Debug, Default)]
pub(super) struct Numbering {
    /// Connections of the event log's own (PostgreSQL only), for the sequencer and the feed's
    /// reads: neither waits for the pool that writers fill (a pool that grows under a burst of
    /// writers held the feed back for as long as PostgreSQL took to open a connection, up to
    /// 100 ms here), and their statements are nobody's request.
    log: Option<DatabaseConnection>,
    /// Set when a writer committed an event that waits for its number.
    pending: Notify,
    /// Set when numbered events were committed: the log grew.
    grew: Notify,
    /// Whether no other process can write the database (an in-memory SQLite database).
    sole_writer: bool,
    /// Commits of this server that appended events, counted after each commit: the read
    /// cache knows from it which commits its reads must see.
    commits: AtomicU64,
}

impl Numbering {
    pub(super) fn new(log: Option<DatabaseConnection>, sole_writer: bool) -> Arc<Self> {
        Arc::new(Self {
            log,
            sole_writer,
            ..Self::default()
        })
    }

    /// The log's own connections, where events are numbered after commit.
    pub(super) fn log(&self) -> Option<&DatabaseConnection> {
        self.log.as_ref()
    }

    pub(super) async fn close(&self) -> Result<(), DbErr> {
        match &self.log {
            Some(log) => log.clone().close().await,
            None => Ok(()),
        }
    }
}

/// Whether events written on `backend` are numbered after commit, by the sequencer.
pub(super) fn numbered_after_commit(backend: DbBackend) -> bool {
    backend == DbBackend::Postgres
}

/// Appends `new` to the log as the last statements of `txn`.
pub(super) async fn append(
    txn: &DatabaseTransaction,
    new: &NewEvent,
    actor: &Actor,
) -> Result<(), DbErr> {
    if numbered_after_commit(txn.get_database_backend()) {
        super::one_statement::append(txn, std::slice::from_ref(new), actor).await?;
    } else {
        // From the numbering on, the counter's row stays locked until `txn` ends, so numbers
        // are handed out in commit order.
        let sequence = next_sequence(txn).await?;
        event::Entity::insert(event_row(sequence, new, actor).into_active_model())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

async fn next_sequence(txn: &DatabaseTransaction) -> Result<i64, DbErr> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::MySql {
        // MySQL has no RETURNING: LAST_INSERT_ID(expr) hands the new value back in the
        // statement's own answer (a `SELECT LAST_INSERT_ID()` would be unsigned).
        let counted = txn
            .execute_raw(Statement::from_string(
                backend,
                "UPDATE event_log SET last_sequence = LAST_INSERT_ID(last_sequence + 1) \
                 WHERE id = 1",
            ))
            .await?;
        if counted.rows_affected() == 0 {
            return Err(missing_counter());
        }
        return Ok(counted.last_insert_id() as i64);
    }
    let sql = "UPDATE event_log SET last_sequence = last_sequence + 1 WHERE id = 1 \
               RETURNING last_sequence";
    txn.query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(missing_counter)?
        .try_get("", "last_sequence")
}

/// The event as a pending row: the numbered row's content without its number.
pub(super) fn pending_row(new: &NewEvent, actor: &Actor) -> pending::ActiveModel {
    let event::Model {
        sequence: _,
        event_time,
        event_type,
        model_related_information_id,
        model_name,
        model_version,
        artifact_version,
        etag_before,
        etag_after,
        actor,
        request_id,
        via,
        registration,
    } = event_row(0, new, actor);
    pending::ActiveModel {
        id: NotSet,
        event_time: Set(event_time),
        event_type: Set(event_type),
        model_related_information_id: Set(model_related_information_id),
        model_name: Set(model_name),
        model_version: Set(model_version),
        artifact_version: Set(artifact_version),
        etag_before: Set(etag_before),
        etag_after: Set(etag_after),
        actor: Set(actor),
        request_id: Set(request_id),
        via: Set(via),
        registration: Set(registration),
    }
}

/// Numbers up to `limit` pending events in `txn`, oldest first, and returns how many. The
/// counter's row is locked first: sequencers of all replicas take turns, and each reads the
/// pending events after the previous one committed.
async fn number_pending(txn: &DatabaseTransaction, limit: i64) -> Result<u64, DbErr> {
    let backend = txn.get_database_backend();
    let last: i64 = txn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT last_sequence FROM event_log WHERE id = 1 FOR UPDATE",
        ))
        .await?
        .ok_or_else(missing_counter)?
        .try_get("", "last_sequence")?;
    // Pending ids follow the order of writing: two changes of one registration, which its
    // row lock puts one after the other, keep their order.
    let moved = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "WITH moved AS (\
                DELETE FROM pending_events WHERE id IN \
                    (SELECT id FROM pending_events ORDER BY id LIMIT $2) \
                RETURNING *) \
             INSERT INTO model_events (sequence, event_time, event_type, \
                model_related_information_id, model_name, model_version, artifact_version, \
                etag_before, etag_after, actor, request_id, via, registration) \
             SELECT $1 + row_number() OVER (ORDER BY id), event_time, event_type, \
                model_related_information_id, model_name, model_version, artifact_version, \
                etag_before, etag_after, actor, request_id, via, registration \
             FROM moved",
            [last.into(), limit.into()],
        ))
        .await?
        .rows_affected();
    if moved > 0 {
        // The notification is delivered at commit, and only if the transaction commits.
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE event_log SET last_sequence = $1 WHERE id = 1 \
                 RETURNING pg_notify('{NOTIFY_CHANNEL}', '')::text"
            ),
            [(last + moved as i64).into()],
        ))
        .await?;
    }
    Ok(moved)
}

fn missing_counter() -> DbErr {
    DbErr::RecordNotFound("the event_log row (migrations not applied?)".into())
}

impl Store {
    /// A writer committed an event: have it numbered, or tell the feed.
    pub(super) fn appended(&self) {
        self.numbering.commits.fetch_add(1, Ordering::AcqRel);
        if self.numbering.log.is_some() {
            self.numbering.pending.notify_one();
        } else {
            self.numbering.grew.notify_one();
        }
    }

    /// Whether this server is the only one that can write the database: then every change
    /// is one of its `local_commits`.
    pub(crate) fn sole_writer(&self) -> bool {
        self.numbering.sole_writer
    }

    /// How many commits of this server appended events so far (each counted after it
    /// committed).
    pub(crate) fn local_commits(&self) -> u64 {
        self.numbering.commits.load(Ordering::Acquire)
    }

    /// Where the log is now, for any replica: its last sequence, and how many committed
    /// events still wait for their number (they will follow it).
    pub(crate) async fn committed_position(&self) -> Result<(i64, i64)> {
        Ok(position_in(&self.reader).await?)
    }

    /// Completes when numbered events were committed since the last call (by this server).
    pub(crate) async fn log_grew(&self) {
        self.numbering.grew.notified().await;
    }

    /// Numbers every event committed so far that waits for its number, a batch per
    /// transaction. Nothing to do where writers number their own events.
    pub(crate) async fn number_events(&self) -> Result<()> {
        let Some(sequencer) = &self.numbering.log else {
            return Ok(());
        };
        loop {
            // Most rounds find nothing: then no row is locked and nothing is written.
            let (_, pending) = position_in(sequencer).await?;
            if pending == 0 {
                return Ok(());
            }
            let started = std::time::Instant::now();
            let txn = sequencer.begin().await?;
            let moved = number_pending(&txn, NUMBER_BATCH).await;
            let moved = settle(txn, moved.map_err(Into::into)).await?;
            if moved > 0 {
                self.numbering.grew.notify_one();
                tracing::debug!(events = moved, took = ?started.elapsed(), "numbered events");
            }
            if moved < NUMBER_BATCH as u64 {
                return Ok(());
            }
        }
    }

    /// Numbers events whenever a writer of this server committed one, and every
    /// `poll_interval` (the events of a replica that stopped before numbering them), until
    /// `stop`, and once more then (the server's last writes).
    pub(crate) async fn number_events_continuously(
        self,
        poll_interval: Duration,
        stop: CancellationToken,
    ) {
        if self.numbering.log.is_none() {
            return;
        }
        loop {
            let pause = match self.number_events().await {
                Ok(()) => Duration::ZERO,
                Err(err) => {
                    tracing::warn!(error = %err, "numbering events failed");
                    RETRY_PAUSE
                }
            };
            tokio::select! {
                () = async {
                    tokio::time::sleep(pause).await;
                    self.numbering.pending.notified().await;
                } => {}
                () = tokio::time::sleep(poll_interval) => {}
                () = stop.cancelled() => {
                    if let Err(err) = self.number_events().await {
                        tracing::warn!(error = %err, "numbering the last events failed");
                    }
                    return;
                }
            }
        }
    }
}

/// The last sequence `db` sees, and how many events without a number it sees.
pub(super) async fn position_in(db: &impl ConnectionTrait) -> Result<(i64, i64), DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            // COUNT is a 64-bit integer on every backend.
            "SELECT last_sequence, (SELECT COUNT(*) FROM pending_events) AS pending \
             FROM event_log WHERE id = 1",
        ))
        .await?
        .ok_or_else(missing_counter)?;
    Ok((
        row.try_get("", "last_sequence")?,
        row.try_get("", "pending")?,
    ))
}
