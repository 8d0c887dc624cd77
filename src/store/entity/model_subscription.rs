//! A model change subscription, with its deliverer's lease (see the migration).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_subscriptions")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub notification_destination: String,
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    #[sea_orm(column_type = "Json")]
    pub event_types: StoredTypes,
    pub description: String,
    pub owner: String,
    /// NULL: every model.
    #[sea_orm(column_type = "Json", nullable)]
    pub scope: Option<StoredTypes>,
    pub sealed_secret: String,
    pub max_batch: i32,
    pub create_time: DateTimeUtc,
    pub acknowledged_sequence: i64,
    pub lost_through_sequence: Option<i64>,
    pub failing_since: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub last_error_time: Option<DateTimeUtc>,
    pub lease_holder: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
}

/// A list of texts as JSON: event type names, or the scope's name patterns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct StoredTypes(pub Vec<String>);

/// The sealed secret is never shown.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSubscription")
            .field("id", &self.id)
            .field("notification_destination", &self.notification_destination)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
