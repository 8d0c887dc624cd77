//! One committed change, numbered in commit order. No relation to the registration: its
//! events outlive it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_events")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sequence: i64,
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

/// The registration as the event saw it, in a form of the store's own (the API's messages
/// are no business of the store).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct StoredRegistration {
    pub description: String,
    pub location: Option<String>,
    pub author: String,
    pub owner: Option<String>,
    pub input_data_type: Vec<String>,
    pub output_data_type: Vec<String>,
    pub target_environments: Vec<StoredEnvironment>,
    pub etag: String,
    pub create_time: chrono::DateTime<chrono::Utc>,
    pub update_time: chrono::DateTime<chrono::Utc>,
    // Added after the first events were written: absent in those, hence the defaults.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// For alias events: the alias, and where it pointed before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_change: Option<StoredAliasChange>,
    /// The data types as the client spelled them, if it sent strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_data_type_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_data_type_text: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAliasChange {
    pub alias: String,
    pub previous_registration_id: Option<Uuid>,
    pub previous_version: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEnvironment {
    pub platform_name: String,
    pub environment_type: String,
    pub dependency_list: String,
}

impl ActiveModelBehavior for ActiveModel {}
