//! A committed change whose event awaits its number (where events are numbered after commit,
//! see the store's numbering). The sequencer moves it into `model_events`.

use sea_orm::entity::prelude::*;

use super::model_event::StoredRegistration;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pending_events")]
pub(crate) struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_time: DateTimeUtc,
    pub event_type: String,
    pub model_related_information_id: Uuid,
    pub model_name: String,
    pub model_version: String,
    pub artifact_version: String,
    pub etag_before: Option<String>,
    pub etag_after: Option<String>,
    pub actor: String,
    pub request_id: Option<String>,
    /// The front-end that acted for the actor ("agent"), if any.
    pub via: Option<String>,
    #[sea_orm(column_type = "Json")]
    pub registration: StoredRegistration,
}

impl ActiveModelBehavior for ActiveModel {}
