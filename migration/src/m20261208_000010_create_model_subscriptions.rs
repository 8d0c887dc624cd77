//! Model change subscriptions: where to notify, what of, on whose behalf, how far the receiver
//! has acknowledged, and which replica delivers (a lease, renewed by its holder, that another
//! replica takes once it has run out).

use sea_orm_migration::prelude::*;

use crate::columns::{create_table, time_column};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ModelSubscriptions {
    Table,
    Id,
    NotificationDestination,
    ModelName,
    ModelVersion,
    EventTypes,
    Description,
    Owner,
    /// The creator's scope at creation: a JSON array of name patterns, NULL for every model.
    Scope,
    /// The signing secret, sealed with the server's key.
    SealedSecret,
    MaxBatch,
    CreateTime,
    AcknowledgedSequence,
    LostThroughSequence,
    FailingSince,
    LastError,
    LastErrorTime,
    LeaseHolder,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let nullable_time = |column| {
            let mut def = time_column(column, backend);
            def.null();
            def
        };
        manager
            .create_table(
                create_table(backend)
                    .table(ModelSubscriptions::Table)
                    .col(
                        ColumnDef::new(ModelSubscriptions::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ModelSubscriptions::NotificationDestination)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelSubscriptions::ModelName)
                            .string_len(255)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ModelSubscriptions::ModelVersion)
                            .string_len(255)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ModelSubscriptions::EventTypes)
                            .json()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelSubscriptions::Description)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelSubscriptions::Owner)
                            .string_len(2048)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ModelSubscriptions::Scope).json().null())
                    .col(
                        ColumnDef::new(ModelSubscriptions::SealedSecret)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelSubscriptions::MaxBatch)
                            .integer()
                            .not_null(),
                    )
                    .col(time_column(ModelSubscriptions::CreateTime, backend))
                    .col(
                        ColumnDef::new(ModelSubscriptions::AcknowledgedSequence)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelSubscriptions::LostThroughSequence)
                            .big_integer()
                            .null(),
                    )
                    .col(nullable_time(ModelSubscriptions::FailingSince))
                    .col(ColumnDef::new(ModelSubscriptions::LastError).text().null())
                    .col(nullable_time(ModelSubscriptions::LastErrorTime))
                    .col(
                        ColumnDef::new(ModelSubscriptions::LeaseHolder)
                            .string_len(64)
                            .null(),
                    )
                    .col(nullable_time(ModelSubscriptions::LeaseUntil))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ModelSubscriptions::Table).to_owned())
            .await
    }
}
