//! The registry core: one row per registration and a side table of its target environments.

use sea_orm_migration::prelude::*;

use crate::columns::{create_table, time_column};
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ModelRelatedInformation {
    Table,
    Id,
    ModelName,
    ModelVersion,
    ArtifactVersion,
    Description,
    ModelLocation,
    Author,
    Owner,
    InputDataType,
    OutputDataType,
    RequestId,
    Etag,
    CreateTime,
    UpdateTime,
}

#[derive(DeriveIden)]
enum TargetEnvironments {
    Table,
    Id,
    ModelRelatedInformationId,
    Position,
    PlatformName,
    EnvironmentType,
    DependencyList,
}

/// A name column whose ordering is plain byte order on every backend. SQLite compares text
/// bytewise already; PostgreSQL would use the database's locale, which differs between
/// installations and would make ListModels' order (and its keyset tokens) depend on it.
fn name_column(column: impl IntoIden, backend: DbBackend) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    def.string_len(255).not_null();
    if backend == DbBackend::Postgres {
        def.extra("COLLATE \"C\"");
    }
    def
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                create_table(backend)
                    .table(ModelRelatedInformation::Table)
                    .col(
                        ColumnDef::new(ModelRelatedInformation::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(name_column(ModelRelatedInformation::ModelName, backend))
                    .col(name_column(ModelRelatedInformation::ModelVersion, backend))
                    .col(
                        ColumnDef::new(ModelRelatedInformation::ArtifactVersion)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelRelatedInformation::Description)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelRelatedInformation::ModelLocation)
                            .text()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ModelRelatedInformation::Author)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelRelatedInformation::Owner)
                            .string_len(255)
                            .null(),
                    )
                    // JSON arrays, so that any string (commas included) round-trips.
                    .col(
                        ColumnDef::new(ModelRelatedInformation::InputDataType)
                            .json()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelRelatedInformation::OutputDataType)
                            .json()
                            .not_null(),
                    )
                    // AIP-155 idempotency key of the RegisterModel call that created the row.
                    .col(
                        ColumnDef::new(ModelRelatedInformation::RequestId)
                            .string_len(255)
                            .null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(ModelRelatedInformation::Etag)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(time_column(ModelRelatedInformation::CreateTime, backend))
                    .col(time_column(ModelRelatedInformation::UpdateTime, backend))
                    .to_owned(),
            )
            .await?;
        // Enforces the uniqueness of (name, version) and serves discovery by name (and name +
        // version) and the keyset order of ListModels.
        manager
            .create_index(
                Index::create()
                    .name("uq_model_related_information_name_version")
                    .table(ModelRelatedInformation::Table)
                    .col(ModelRelatedInformation::ModelName)
                    .col(ModelRelatedInformation::ModelVersion)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Discovery by version alone.
        manager
            .create_index(
                Index::create()
                    .name("idx_model_related_information_version_name")
                    .table(ModelRelatedInformation::Table)
                    .col(ModelRelatedInformation::ModelVersion)
                    .col(ModelRelatedInformation::ModelName)
                    .to_owned(),
            )
            .await?;

        // The foreign key is declared inside CREATE TABLE: SQLite cannot add one later.
        manager
            .create_table(
                create_table(backend)
                    .table(TargetEnvironments::Table)
                    .col(
                        ColumnDef::new(TargetEnvironments::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(TargetEnvironments::ModelRelatedInformationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TargetEnvironments::Position)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TargetEnvironments::PlatformName)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TargetEnvironments::EnvironmentType)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(TargetEnvironments::DependencyList)
                            .text()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_target_environments_model_related_information")
                            .from(
                                TargetEnvironments::Table,
                                TargetEnvironments::ModelRelatedInformationId,
                            )
                            .to(ModelRelatedInformation::Table, ModelRelatedInformation::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Indexes the foreign key (cascade deletes and the batched child load use it) and keeps
        // positions unique within a parent, so the list order round-trips.
        manager
            .create_index(
                Index::create()
                    .name("uq_target_environments_parent_position")
                    .table(TargetEnvironments::Table)
                    .col(TargetEnvironments::ModelRelatedInformationId)
                    .col(TargetEnvironments::Position)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TargetEnvironments::Table).to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(ModelRelatedInformation::Table)
                    .to_owned(),
            )
            .await
    }
}
