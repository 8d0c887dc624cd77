//! Model artifacts: one row per stored artifact version. The bytes live in the object store
//! under `object_key`; the row is written only once they are all there.

use sea_orm_migration::prelude::*;

use crate::columns::{create_table, time_column};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ModelRelatedInformation {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ModelArtifacts {
    Table,
    Id,
    ModelRelatedInformationId,
    Sequence,
    ArtifactVersion,
    ObjectKey,
    SizeBytes,
    Sha256,
    Filename,
    ContentType,
    CreateTime,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                create_table(backend)
                    .table(ModelArtifacts::Table)
                    .col(
                        ColumnDef::new(ModelArtifacts::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ModelArtifacts::ModelRelatedInformationId)
                            .uuid()
                            .not_null(),
                    )
                    // 1 for artifact version 1.0.0, n for 1.(n-1).0: the numeric order of
                    // versions, which their text does not sort by.
                    .col(
                        ColumnDef::new(ModelArtifacts::Sequence)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelArtifacts::ArtifactVersion)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelArtifacts::ObjectKey)
                            .string_len(1024)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelArtifacts::SizeBytes)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelArtifacts::Sha256)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelArtifacts::Filename)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ModelArtifacts::ContentType)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(time_column(ModelArtifacts::CreateTime, backend))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_model_artifacts_model_related_information")
                            .from(
                                ModelArtifacts::Table,
                                ModelArtifacts::ModelRelatedInformationId,
                            )
                            .to(ModelRelatedInformation::Table, ModelRelatedInformation::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One version per model, enforced; serves "latest" and newest-first pages too.
        manager
            .create_index(
                Index::create()
                    .name("uq_model_artifacts_model_sequence")
                    .table(ModelArtifacts::Table)
                    .col(ModelArtifacts::ModelRelatedInformationId)
                    .col(ModelArtifacts::Sequence)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Lookup of one version by its text.
        manager
            .create_index(
                Index::create()
                    .name("uq_model_artifacts_model_version")
                    .table(ModelArtifacts::Table)
                    .col(ModelArtifacts::ModelRelatedInformationId)
                    .col(ModelArtifacts::ArtifactVersion)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ModelArtifacts::Table).to_owned())
            .await
    }
}
