//! What the Go model management service's clients need kept as they sent it, and artifacts
//! whose bytes live elsewhere:
//!
//! - `input_data_type_text` / `output_data_type_text`: a registration's data types exactly as
//!   the client spelled them when it sent one comma-separated string (`"c, d"` keeps its
//!   space), beside the split list; NULL when they came as an array.
//! - `model_artifacts.external`: an artifact version a client declared for bytes it stored
//!   itself; such a record has no object in the registry's store.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ModelRelatedInformation {
    Table,
    InputDataTypeText,
    OutputDataTypeText,
}

#[derive(DeriveIden)]
enum ModelArtifacts {
    Table,
    External,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters a table one column at a time.
        for column in [
            ModelRelatedInformation::InputDataTypeText,
            ModelRelatedInformation::OutputDataTypeText,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ModelRelatedInformation::Table)
                        .add_column(ColumnDef::new(column).text().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ModelArtifacts::Table)
                    .add_column(
                        ColumnDef::new(ModelArtifacts::External)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ModelArtifacts::Table)
                    .drop_column(ModelArtifacts::External)
                    .to_owned(),
            )
            .await?;
        for column in [
            ModelRelatedInformation::OutputDataTypeText,
            ModelRelatedInformation::InputDataTypeText,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ModelRelatedInformation::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
