//! Persistence: connection pools, migrations, and the registry's transactions.
//!
//! On SQLite the store keeps two pools on one file: a single-connection writer and a reader
//! pool. Writers queue for the writer connection inside the async pool (first come, first
//! served) instead of spinning in SQLite's busy handler, and WAL mode lets readers run beside
//! the writer. Code inside a write transaction only ever uses that transaction, so it can
//! never wait for a pool connection that it holds itself. On PostgreSQL both are one pool.

mod aliases;
mod artifacts;
mod changes;
mod children;
mod discovery;
mod entity;
mod event_rows;
mod events;
mod failure;
mod filter;
mod go_database;
mod import;
mod listen;
mod lookup;
mod numbering;
mod one_statement;
mod pools;
mod registrations;
mod rows;
mod scope;
mod search_terms;
mod secrets;
mod snapshot;
mod subscriptions;
mod transaction;

use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

pub(crate) use aliases::AliasSet;
pub(crate) use changes::{Locked, Reading};
pub(crate) use go_database::{GoDatabase, cursor_of};
pub(crate) use registrations::Inserted;
pub(crate) use subscriptions::Owners;

use crate::config::{DatabaseConfig, StatementObserver};

/// How long a request waits for a pooled connection (or SQLite for a lock) before giving up
/// with UNAVAILABLE.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Rows a SQLite connection may hand over before it waits for the reader: a whole page of
/// environments (1000 models × 3) fits.
const ROW_BUFFER: usize = 4096;

/// How much of the SQLite file readers map into memory (address space, not resident memory).
const MMAP_BYTES: u64 = 1 << 30;

/// The PostgreSQL advisory lock that serializes migrations: "modelreg" in ASCII.
const MIGRATION_LOCK_KEY: i64 = 0x6d6f_6465_6c72_6567;

/// The MySQL named lock that serializes migrations.
const MYSQL_MIGRATION_LOCK: &str = "modelreg.migrate";

#[derive(Clone, Debug)]
pub(crate) struct Store {
    reader: DatabaseConnection,
    writer: DatabaseConnection,
    /// Transactions waiting for the writer connection (the pool, on PostgreSQL).
    write_waiters: Arc<pools::Waiters>,
    numbering: Arc<numbering::Numbering>,
}

impl Store {
    pub(crate) async fn connect(
        config: &DatabaseConfig,
        observer: Option<&StatementObserver>,
    ) -> Result<Self, DbErr> {
        let url = config.database_url.as_str();
        let in_memory =
            url.starts_with("sqlite:") && (url.contains(":memory:") || url.contains("mode=memory"));
        let (reader, writer) = if !url.starts_with("sqlite:") {
            let pool = Database::connect(options(url, config.database_max_connections)).await?;
            (pool.clone(), pool)
        } else if in_memory {
            // An in-memory database exists once per connection: it can only have one.
            let pool = connect_sqlite(sqlite_options(url, 1)).await?;
            (pool.clone(), pool)
        } else {
            // The writer connects first: with `mode=rwc` it creates the file and switches it
            // to WAL.
            let writer = connect_sqlite(sqlite_options(url, 1)).await?;
            let reader =
                connect_sqlite(sqlite_options(url, config.database_max_connections)).await?;
            (reader, writer)
        };
        let (mut reader, mut writer) = (reader, writer);
        let traced = crate::telemetry::tracing_enabled();
        if observer.is_some() || traced {
            // Each handle keeps its own callback, also where both share one pool.
            for connection in [&mut reader, &mut writer] {
                observe_statements(connection, observer.cloned(), traced);
            }
        }
        let log = if numbering::numbered_after_commit(writer.get_database_backend()) {
            // The sequencer's and the feed's, opened now and kept.
            let mut log = options(url, 2);
            log.min_connections(2);
            let mut log = Database::connect(log).await?;
            if traced {
                observe_statements(&mut log, None, traced);
            }
            Some(log)
        } else {
            None
        };
        Ok(Self {
            reader,
            writer,
            write_waiters: Arc::default(),
            numbering: numbering::Numbering::new(log, in_memory),
        })
    }

    /// Applies pending migrations, in one transaction that holds the database's write lock
    /// (SQLite), an advisory lock (PostgreSQL) or a named lock (MySQL): replicas that start
    /// together take turns, and all but the first find nothing pending.
    pub(crate) async fn migrate(&self) -> Result<(), DbErr> {
        let txn = self.begin_write().await?;
        match self.backend() {
            DbBackend::Postgres => {
                txn.execute_unprepared(&format!(
                    "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
                ))
                .await?;
            }
            // MySQL commits at every DDL statement, so the lock is the session's, not the
            // transaction's: taken with a timeout (MariaDB has no "forever"), released by hand.
            DbBackend::MySql => {
                let taken = txn
                    .query_one_raw(Statement::from_string(
                        DbBackend::MySql,
                        format!("SELECT GET_LOCK('{MYSQL_MIGRATION_LOCK}', 300) AS taken"),
                    ))
                    .await?
                    .and_then(|row| row.try_get::<Option<i64>>("", "taken").ok().flatten());
                if taken != Some(1) {
                    return Err(DbErr::Migration(
                        "another replica held the migration lock for 5 minutes".into(),
                    ));
                }
                let migrated = Migrator::up(&txn, None).await;
                txn.execute_unprepared(&format!("DO RELEASE_LOCK('{MYSQL_MIGRATION_LOCK}')"))
                    .await?;
                migrated?;
                return txn.commit().await;
            }
            _ => {}
        }
        Migrator::up(&txn, None).await?;
        txn.commit().await
    }

    /// Checks that the database answers. Only the readers are asked: on SQLite the one writer
    /// connection may be busy with a queue of writes, which is load, not an outage.
    pub(crate) async fn ping(&self) -> Result<(), DbErr> {
        self.reader.ping().await
    }

    pub(crate) async fn close(self) -> Result<(), DbErr> {
        self.numbering.close().await?;
        if self.backend() == DbBackend::Sqlite {
            self.reader.close().await?;
        }
        self.writer.close().await
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.writer.get_database_backend()
    }

    /// Starts a write transaction. On SQLite it takes the write lock at BEGIN (IMMEDIATE), so a
    /// transaction that reads before it writes cannot fail half-way on a lock upgrade.
    async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let _waiting = self.write_waiters.wait();
        self.writer
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }
}

/// Splits rows read with a limit of `limit + 1`: the page, and where the next one starts when
/// the extra row says that one follows.
fn split_page<R, C>(
    mut rows: Vec<R>,
    limit: u64,
    cursor: impl FnOnce(&R) -> C,
) -> (Vec<R>, Option<C>) {
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(cursor) } else { None };
    (rows, next)
}

/// Connects to SQLite, trying again for up to `ACQUIRE_TIMEOUT` while another process that
/// opens the same new file holds the lock its switch to WAL needs (replicas that start
/// together).
async fn connect_sqlite(options: ConnectOptions) -> Result<DatabaseConnection, DbErr> {
    let deadline = tokio::time::Instant::now() + ACQUIRE_TIMEOUT;
    loop {
        match Database::connect(options.clone()).await {
            Err(err)
                if failure::is_busy_connect(&err) && tokio::time::Instant::now() < deadline =>
            {
                tracing::debug!(error = %err, "the SQLite file is locked; connecting again");
                // Apart, so that processes that collided do not collide again.
                let pause = Duration::from_millis(10 + fastrand::u64(0..40));
                tokio::time::sleep(pause).await;
            }
            outcome => return outcome,
        }
    }
}

/// Shows each statement to `observer`, and, when traces are exported, writes its text into
/// the span of the statement (SeaORM's, current while the callback runs).
fn observe_statements(
    connection: &mut DatabaseConnection,
    observer: Option<StatementObserver>,
    traced: bool,
) {
    let system = match connection.get_database_backend() {
        DbBackend::Postgres => "postgresql",
        DbBackend::MySql => "mysql",
        _ => "sqlite",
    };
    connection.set_metric_callback(move |info| {
        if let Some(observer) = &observer {
            observer.observe(info.statement);
        }
        if traced {
            crate::telemetry::describe_statement(&info.statement.sql, system);
        }
    });
}

fn options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // Statements are logged at debug level; errors are reported by the RPC layer.
        .sqlx_logging_level(log::LevelFilter::Debug);
    if url.starts_with("mysql:") {
        // Writers see committed data, as on PostgreSQL. Under MySQL's default (REPEATABLE
        // READ) InnoDB locks gaps, and the pruner's range delete would deadlock with a writer
        // that holds the event counter. Snapshots ask for REPEATABLE READ themselves.
        options.map_sqlx_mysql_pool_opts(|pool| {
            pool.after_connect(|connection, _| {
                Box::pin(async move {
                    use sea_orm::sqlx::Executor;
                    connection
                        .execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                        .await
                        .map(|_| ())
                })
            })
        });
    }
    options
}

fn sqlite_options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut options = options(url, max_connections);
    options.map_sqlx_sqlite_opts(|sqlite| {
        sqlite
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL at every commit: an acknowledged write survives an OS crash or
            // a power loss, not just a killed process (NORMAL's promise). It costs about a
            // third of the write throughput (README, Performance).
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(ACQUIRE_TIMEOUT)
            .foreign_keys(true)
            // sqlx runs each SQLite connection on a thread of its own that hands rows over a
            // bounded channel (50 by default). A page of 1000 models has 3000 environment rows:
            // a small buffer makes that thread and the reading task wake each other dozens of
            // times per query.
            .row_buffer_size(ROW_BUFFER)
            // Readers map the file instead of copying each page out of the OS cache.
            .pragma("mmap_size", MMAP_BYTES.to_string())
    });
    options
}
