//! Events written but not yet numbered. Where writers commit concurrently (PostgreSQL), a
//! writing transaction no longer numbers its event under the counter's lock, which would make
//! every commit wait for the one before it to reach the disk: it appends its event here, and a
//! sequencer moves the committed ones into `model_events` afterwards, numbering a batch in one
//! transaction (see the store's numbering). Rows here carry what `model_events` rows carry,
//! with an identity in place of the sequence; their order is the order they were written in.

use sea_orm_migration::prelude::*;

use crate::columns::{create_table, time_column};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PendingEvents {
    Table,
    Id,
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                create_table(backend)
                    .table(PendingEvents::Table)
                    .col(
                        ColumnDef::new(PendingEvents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(time_column(PendingEvents::EventTime, backend))
                    .col(
                        ColumnDef::new(PendingEvents::EventType)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PendingEvents::ModelRelatedInformationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PendingEvents::ModelName)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PendingEvents::ModelVersion)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PendingEvents::ArtifactVersion)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PendingEvents::EtagBefore)
                            .string_len(128)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(PendingEvents::EtagAfter)
                            .string_len(128)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(PendingEvents::Actor)
                            .string_len(1024)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PendingEvents::RequestId)
                            .string_len(255)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(PendingEvents::Registration)
                            .json()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PendingEvents::Table).to_owned())
            .await
    }
}
