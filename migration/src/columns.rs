//! What every table and time column needs on each backend, so that the schema behaves the same
//! everywhere.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// MySQL/MariaDB compare text by the table's collation: `utf8mb4_nopad_bin` compares bytes, so
/// that `Model` and `model` (and `a` and `a `) stay two names and ordering is byte order, as on
/// SQLite and PostgreSQL (`COLLATE "C"`).
pub(crate) fn create_table(backend: DbBackend) -> TableCreateStatement {
    let mut table = Table::create();
    if backend == DbBackend::MySql {
        table.character_set("utf8mb4").collate("utf8mb4_nopad_bin");
    }
    table
}

/// A point in time with microseconds. MySQL's TIMESTAMP has neither the microseconds nor a
/// range past 2038: there it is a DATETIME(6) that holds UTC.
pub(crate) fn time_column(column: impl IntoIden, backend: DbBackend) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    if backend == DbBackend::MySql {
        def.custom(Alias::new("datetime(6)"));
    } else {
        def.timestamp_with_time_zone();
    }
    def.not_null();
    def
}
