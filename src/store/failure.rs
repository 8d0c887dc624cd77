//! Database failures as the registry's errors: what a client may retry (unreachable, contention)
//! apart from bugs. The driver's text goes to the logs only, as the error's cause.

use sea_orm::{DbErr, RuntimeErr, sqlx};

use crate::domain::Error;

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        match classify(&err) {
            DbFailure::Unreachable => Self::DatabaseUnavailable(err.into()),
            DbFailure::Contention => Self::Contention(err.into()),
            DbFailure::Other => Self::Internal(err.into()),
        }
    }
}

enum DbFailure {
    Unreachable,
    Contention,
    Other,
}

fn classify(err: &DbErr) -> DbFailure {
    let sqlx_err = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return DbFailure::Unreachable,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return DbFailure::Other,
    };
    match sqlx_err.as_ref() {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => DbFailure::Unreachable,
        sqlx::Error::Database(db) => match mysql_error_number(db.as_ref()) {
            Some(number) => classify_mysql(number),
            None => classify_code(db.code().as_deref()),
        },
        _ => DbFailure::Other,
    }
}

/// MySQL: by error number, which says more than the SQLSTATE (a lock wait timeout is the
/// catch-all HY000).
fn classify_mysql(number: u16) -> DbFailure {
    match number {
        // Lock wait timeout, deadlock.
        1205 | 1213 => DbFailure::Contention,
        // Too many connections, unknown database, connection killed, shutdown.
        1040 | 1049 | 1053 | 1927 => DbFailure::Unreachable,
        _ => DbFailure::Other,
    }
}

/// SQLite's result codes and PostgreSQL's SQLSTATEs.
fn classify_code(code: Option<&str>) -> DbFailure {
    match code {
        // PostgreSQL: serialization failure, deadlock.
        Some("40001" | "40P01") => DbFailure::Contention,
        // SQLite: SQLITE_BUSY, SQLITE_LOCKED (and their extended codes).
        Some(code) if is_sqlite_busy(code) => DbFailure::Contention,
        // PostgreSQL: connection exceptions (08…), shutdown / cannot connect now (57P…),
        // too many connections, database does not exist.
        Some(code) if code.starts_with("08") || code.starts_with("57P") => DbFailure::Unreachable,
        Some("53300" | "3D000") => DbFailure::Unreachable,
        _ => DbFailure::Other,
    }
}

/// The error number of a MySQL error.
fn mysql_error_number(db: &dyn sqlx::error::DatabaseError) -> Option<u16> {
    db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .map(sqlx::mysql::MySqlDatabaseError::number)
}

/// Whether opening a connection failed because another connection held the lock it needed:
/// the first connections to a new SQLite file switch it to WAL, and SQLite refuses that at
/// once (without its busy handler, which could deadlock) while another one does the same.
pub(super) fn is_busy_connect(err: &DbErr) -> bool {
    let DbErr::Conn(RuntimeErr::SqlxError(err)) = err else {
        return false;
    };
    match err.as_ref() {
        sqlx::Error::Database(db) => db.code().as_deref().is_some_and(is_sqlite_busy),
        _ => false,
    }
}

/// SQLite reports numeric (extended) result codes, PostgreSQL five-character SQLSTATEs.
fn is_sqlite_busy(code: &str) -> bool {
    code.len() < 5
        && code
            .parse::<i32>()
            .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable() {
        let err: Error = DbErr::Conn(RuntimeErr::Internal("refused".into())).into();
        assert!(matches!(err, Error::DatabaseUnavailable(_)), "{err:?}");
        let timed_out = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(
            sqlx::Error::PoolTimedOut,
        )));
        assert!(matches!(
            Error::from(timed_out),
            Error::DatabaseUnavailable(_)
        ));
    }

    #[test]
    fn other_failures_are_internal() {
        let err: Error = DbErr::Custom("SELECT secret FROM t".into()).into();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
    }

    #[test]
    fn sqlite_busy_codes_are_recognised() {
        assert!(is_sqlite_busy("5"));
        assert!(is_sqlite_busy("517")); // SQLITE_BUSY_SNAPSHOT
        assert!(is_sqlite_busy("6"));
        assert!(!is_sqlite_busy("19")); // SQLITE_CONSTRAINT
        assert!(!is_sqlite_busy("23505"));
    }

    #[test]
    fn mysql_lock_waits_and_deadlocks_are_contention_and_lost_servers_unreachable() {
        assert!(matches!(classify_mysql(1205), DbFailure::Contention));
        assert!(matches!(classify_mysql(1213), DbFailure::Contention));
        for lost in [1040, 1049, 1053, 1927] {
            assert!(matches!(classify_mysql(lost), DbFailure::Unreachable));
        }
        // A duplicate key is the caller's to interpret, not a database failure.
        assert!(matches!(classify_mysql(1062), DbFailure::Other));
    }
}
