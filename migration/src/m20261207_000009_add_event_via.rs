//! `via` on the event log: the front-end that made a change on its actor's behalf ("agent"
//! for the registry's agent), NULL for the actor's own requests. Pending events carry it too,
//! until they are numbered.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ModelEvents {
    Table,
    Via,
}

#[derive(DeriveIden)]
enum PendingEvents {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ModelEvents::Table.into_iden(),
            PendingEvents::Table.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(ColumnDef::new(ModelEvents::Via).string_len(32).null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PendingEvents::Table.into_iden(),
            ModelEvents::Table.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(ModelEvents::Via)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
