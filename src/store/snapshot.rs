//! Consistent snapshots: a read-only transaction that sees one state of the database, and the
//! sequence of the last change in it, so that what a list reads and a watch resumes from agree.
//! Where events are numbered after commit, see `numbering` for why the sequence may count
//! events that have no number yet.

use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, IsolationLevel,
    TransactionOptions, TransactionTrait,
};

use super::Store;
use super::numbering::{APPEND_LOCK_KEY, position_in};
use crate::domain::Result;

impl Store {
    /// A read-only transaction that sees one consistent state of the database, with the
    /// sequence of the last event of the changes it sees: what a list reads and a watch resumes
    /// from agree.
    pub(crate) async fn snapshot(&self) -> Result<(DatabaseTransaction, i64)> {
        let txn = self.begin_snapshot().await?;
        let (last, pending) = position_in(&txn).await?;
        let Some(log) = self.numbering.log().filter(|_| pending > 0) else {
            return Ok((txn, last));
        };
        // This snapshot sees changes whose events have no number yet. A writer between its
        // append and its commit may take a number among theirs: begin again while none is.
        // Both connections are taken before the lock, which holds writers back, and they
        // may fill the pool.
        txn.rollback().await?;
        let txn = self.begin_snapshot().await?;
        let excluding = log.begin().await?;
        excluding
            .execute_unprepared(&format!("SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})"))
            .await?;
        // The snapshot's first statement fixes what it sees.
        let position = position_in(&txn).await;
        excluding.rollback().await?;
        let (last, pending) = position?;
        // Sequencers number pending events in the order they were written, and every event
        // written from now on comes after these: they will be the next `pending` numbers.
        Ok((txn, last + pending))
    }

    async fn begin_snapshot(&self) -> Result<DatabaseTransaction, DbErr> {
        let options = match self.backend() {
            // SQLite's read transactions see one state of the file from their first read.
            DbBackend::Sqlite => TransactionOptions::default(),
            _ => TransactionOptions {
                isolation_level: Some(IsolationLevel::RepeatableRead),
                access_mode: Some(AccessMode::ReadOnly),
                sqlite_transaction_mode: None,
            },
        };
        self.reader.begin_with_options(options).await
    }
}
