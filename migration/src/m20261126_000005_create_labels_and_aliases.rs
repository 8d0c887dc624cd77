//! Labels and aliases of registrations, each in a side table of its own, and the indexes that
//! discovery's filters and orders use.
//!
//! A label is a key and a value (Kubernetes' rules), at most one value per key and registration.
//! An alias is a mutable name for one version of a model name (`qoe-predictor@production`):
//! unique per model name, so its key is the name and the alias, and it points at the
//! registration it currently names. Both go with their registration (ON DELETE CASCADE). On
//! PostgreSQL, artifact versions are compared in byte order from here on, as names are.

use sea_orm_migration::prelude::*;

use crate::columns::create_table;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ModelRelatedInformation {
    Table,
    Id,
    CreateTime,
    UpdateTime,
    ModelName,
    ModelVersion,
}

#[derive(DeriveIden)]
enum TargetEnvironments {
    Table,
    ModelRelatedInformationId,
    PlatformName,
    EnvironmentType,
}

#[derive(DeriveIden, Clone, Copy)]
enum ModelLabels {
    Table,
    ModelRelatedInformationId,
    LabelKey,
    LabelValue,
}

#[derive(DeriveIden, Clone, Copy)]
enum ModelAliases {
    Table,
    ModelName,
    Alias,
    ModelRelatedInformationId,
}

/// A text column compared in byte order on every backend (see the registry's migration).
fn text_column(column: impl IntoIden, chars: u32, backend: DbBackend) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    def.string_len(chars).not_null();
    if backend == DbBackend::Postgres {
        def.extra("COLLATE \"C\"");
    }
    def
}

fn parent_column<T: IntoIden>(column: T) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    def.uuid().not_null();
    def
}

fn cascade_to_parent(
    table: impl IntoIden + Clone + 'static,
    column: impl IntoIden + 'static,
    name: &str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(ModelRelatedInformation::Table, ModelRelatedInformation::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                create_table(backend)
                    .table(ModelLabels::Table)
                    .col(parent_column(ModelLabels::ModelRelatedInformationId))
                    // Kubernetes' limits: a prefix of 253 and a name of 63, a value of 63.
                    .col(text_column(ModelLabels::LabelKey, 317, backend))
                    .col(text_column(ModelLabels::LabelValue, 63, backend))
                    // The batched load of a page's labels reads this key's index.
                    .primary_key(
                        Index::create()
                            .col(ModelLabels::ModelRelatedInformationId)
                            .col(ModelLabels::LabelKey),
                    )
                    .foreign_key(&mut cascade_to_parent(
                        ModelLabels::Table,
                        ModelLabels::ModelRelatedInformationId,
                        "fk_model_labels_model_related_information",
                    ))
                    .to_owned(),
            )
            .await?;
        // Filters by label (`labels.team = "ran"`, `labels:team`) find their registrations here.
        manager
            .create_index(
                Index::create()
                    .name("idx_model_labels_key_value")
                    .table(ModelLabels::Table)
                    .col(ModelLabels::LabelKey)
                    .col(ModelLabels::LabelValue)
                    .col(ModelLabels::ModelRelatedInformationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                create_table(backend)
                    .table(ModelAliases::Table)
                    .col(text_column(ModelAliases::ModelName, 255, backend))
                    .col(text_column(ModelAliases::Alias, 63, backend))
                    .col(parent_column(ModelAliases::ModelRelatedInformationId))
                    // An alias names one version of a model name.
                    .primary_key(
                        Index::create()
                            .col(ModelAliases::ModelName)
                            .col(ModelAliases::Alias),
                    )
                    .foreign_key(&mut cascade_to_parent(
                        ModelAliases::Table,
                        ModelAliases::ModelRelatedInformationId,
                        "fk_model_aliases_model_related_information",
                    ))
                    .to_owned(),
            )
            .await?;
        // A registration's aliases (the page's batched load, the cascade, `aliases:` filters).
        manager
            .create_index(
                Index::create()
                    .name("idx_model_aliases_registration")
                    .table(ModelAliases::Table)
                    .col(ModelAliases::ModelRelatedInformationId)
                    .col(ModelAliases::Alias)
                    .to_owned(),
            )
            .await?;

        // Filters on a platform find their registrations here, and ask of one registration
        // whether it runs on a platform: the registration comes right after the platform, so
        // that both are one index search (with the type after them, a search by platform and
        // registration could only use the platform).
        manager
            .create_index(
                Index::create()
                    .name("idx_target_environments_platform")
                    .table(TargetEnvironments::Table)
                    .col(TargetEnvironments::PlatformName)
                    .col(TargetEnvironments::ModelRelatedInformationId)
                    .col(TargetEnvironments::EnvironmentType)
                    .to_owned(),
            )
            .await?;
        // Filters compare artifact versions with < and > as they compare names: in byte order,
        // not in the database's locale.
        if backend == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE model_related_information \
                     ALTER COLUMN artifact_version TYPE varchar(64) COLLATE \"C\"",
                )
                .await?;
        }
        // The orders by time; name and version make each key unique, as the keyset needs.
        for (name, column) in [
            (
                "idx_model_related_information_create_time",
                ModelRelatedInformation::CreateTime,
            ),
            (
                "idx_model_related_information_update_time",
                ModelRelatedInformation::UpdateTime,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ModelRelatedInformation::Table)
                        .col(column)
                        .col(ModelRelatedInformation::ModelName)
                        .col(ModelRelatedInformation::ModelVersion)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE model_related_information \
                     ALTER COLUMN artifact_version TYPE varchar(64) COLLATE \"default\"",
                )
                .await?;
        }
        for name in [
            "idx_model_related_information_update_time",
            "idx_model_related_information_create_time",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(ModelRelatedInformation::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_target_environments_platform")
                    .table(TargetEnvironments::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ModelAliases::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ModelLabels::Table).to_owned())
            .await
    }
}
