//! The event log: one row per committed change, numbered in commit order, and the one-row
//! table whose counter hands out those numbers. A writing transaction increments the counter
//! as its last statement and holds the counter's row lock until it commits, so a number is
//! handed out only after every smaller one is committed (or rolled back with its change, which
//! gives the number back): the log has no gaps, and a reader never finds a smaller number
//! appear behind one it has seen.

use sea_orm_migration::prelude::*;

use crate::columns::{create_table, time_column};
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ModelEvents {
    Table,
    Sequence,
    EventTime,
    EventType,
    ModelRelatedInformationId,
    ModelName,
    ModelVersion,
    ArtifactVersion,
    EtagBefore,
    EtagAfter,
    Actor,
    RequestId,
    Registration,
}

#[derive(DeriveIden)]
enum EventLog {
    Table,
    Id,
    LastSequence,
    PrunedThrough,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                create_table(backend)
                    .table(ModelEvents::Table)
                    .col(
                        ColumnDef::new(ModelEvents::Sequence)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(time_column(ModelEvents::EventTime, backend))
                    .col(
                        ColumnDef::new(ModelEvents::EventType)
                            .string_len(32)
                            .not_null(),
                    )
                    // No foreign key: the events of a model outlive its registration.
                    .col(
                        ColumnDef::new(ModelEvents::ModelRelatedInformationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelEvents::ModelName)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelEvents::ModelVersion)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelEvents::ArtifactVersion)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelEvents::EtagBefore)
                            .string_len(128)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ModelEvents::EtagAfter)
                            .string_len(128)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ModelEvents::Actor)
                            .string_len(1024)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelEvents::RequestId)
                            .string_len(255)
                            .null(),
                    )
                    // The registration after the change (before it, for a deregistration).
                    .col(ColumnDef::new(ModelEvents::Registration).json().not_null())
                    .to_owned(),
            )
            .await?;
        // The audit view's filters, each newest or oldest first by sequence; the pruner's
        // search for the events past retention.
        for (name, column) in [
            (
                "ix_model_events_registration",
                ModelEvents::ModelRelatedInformationId,
            ),
            ("ix_model_events_name", ModelEvents::ModelName),
            ("ix_model_events_actor", ModelEvents::Actor),
            ("ix_model_events_time", ModelEvents::EventTime),
        ] {
            let mut index = Index::create();
            index.name(name).table(ModelEvents::Table);
            // MySQL's index keys hold at most 3072 bytes; an actor of 1024 characters is up to
            // 4096. Its first 255 characters still serve an equality filter.
            if backend == DbBackend::MySql && name == "ix_model_events_actor" {
                index.col((column, 255));
            } else {
                index.col(column);
            }
            manager
                .create_index(index.col(ModelEvents::Sequence).to_owned())
                .await?;
        }

        manager
            .create_table(
                create_table(backend)
                    .table(EventLog::Table)
                    .col(
                        ColumnDef::new(EventLog::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    // The number of the newest event.
                    .col(
                        ColumnDef::new(EventLog::LastSequence)
                            .big_integer()
                            .not_null(),
                    )
                    // Every event up to this number has been pruned.
                    .col(
                        ColumnDef::new(EventLog::PrunedThrough)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(EventLog::Table)
                    .columns([
                        EventLog::Id,
                        EventLog::LastSequence,
                        EventLog::PrunedThrough,
                    ])
                    .values_panic([1.into(), 0i64.into(), 0i64.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventLog::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ModelEvents::Table).to_owned())
            .await
    }
}
