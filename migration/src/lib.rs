//! Schema migrations of modelreg. The schema changes only through these; `modelreg serve`
//! applies pending ones at start and `modelreg migrate` applies them alone.

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261125_000001_create_registry;
mod m20261125_000002_create_model_artifacts;
mod m20261126_000003_create_model_events;
mod m20261126_000004_create_pending_events;
mod m20261126_000005_create_labels_and_aliases;
mod m20261126_000006_add_search_terms;
mod m20261207_000007_create_server_secrets;
mod m20261207_000008_add_declared_forms;
mod m20261207_000009_add_event_via;
mod m20261208_000010_create_model_subscriptions;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_registry::Migration),
            Box::new(m20261125_000002_create_model_artifacts::Migration),
            Box::new(m20261126_000003_create_model_events::Migration),
            Box::new(m20261126_000004_create_pending_events::Migration),
            Box::new(m20261126_000005_create_labels_and_aliases::Migration),
            Box::new(m20261126_000006_add_search_terms::Migration),
            Box::new(m20261207_000007_create_server_secrets::Migration),
            Box::new(m20261207_000008_add_declared_forms::Migration),
            Box::new(m20261207_000009_add_event_via::Migration),
            Box::new(m20261208_000010_create_model_subscriptions::Migration),
        ]
    }
}
