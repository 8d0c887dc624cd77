//! What the connection pools report to `/metrics`: their size, idle and in-use connections,
//! and how many transactions wait for a connection.

use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{DbBackend, sqlx};

use super::Store;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolStats {
    /// "writer" and "reader" on SQLite; "main", the one pool, on PostgreSQL.
    pub(crate) name: &'static str,
    /// Open connections.
    pub(crate) size: u32,
    pub(crate) idle: u32,
    pub(crate) max: u32,
    /// Transactions waiting for a connection of this pool. Single reads wait inside SeaORM
    /// and are not counted; a pool whose connections are all in use shows them.
    pub(crate) waiters: u64,
}

/// A count of tasks waiting for a connection; `wait` returns a guard that counts one.
#[derive(Debug, Default)]
pub(super) struct Waiters(AtomicU64);

pub(super) struct Waiting<'a>(&'a AtomicU64);

impl Waiters {
    pub(super) fn wait(&self) -> Waiting<'_> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Waiting(&self.0)
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Store {
    pub(crate) fn pool_stats(&self) -> Vec<PoolStats> {
        let waiters = self.write_waiters.count();
        match self.backend() {
            DbBackend::Sqlite => vec![
                stats("writer", self.writer.get_sqlite_connection_pool(), waiters),
                stats("reader", self.reader.get_sqlite_connection_pool(), 0),
            ],
            DbBackend::MySql => vec![stats(
                "main",
                self.writer.get_mysql_connection_pool(),
                waiters,
            )],
            _ => vec![stats(
                "main",
                self.writer.get_postgres_connection_pool(),
                waiters,
            )],
        }
    }
}

fn stats<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>, waiters: u64) -> PoolStats {
    PoolStats {
        name,
        size: pool.size(),
        idle: pool.num_idle() as u32,
        max: pool.options().get_max_connections(),
        waiters,
    }
}
