//! One registered model. Its target environments, labels and aliases live in tables of their
//! own (has-many).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_related_information")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub model_name: String,
    pub model_version: String,
    pub artifact_version: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    #[sea_orm(column_type = "Text")]
    pub model_location: Option<String>,
    pub author: String,
    pub owner: Option<String>,
    #[sea_orm(column_type = "Json")]
    pub input_data_type: DataTypes,
    #[sea_orm(column_type = "Json")]
    pub output_data_type: DataTypes,
    /// The input data types as the client spelled them in one string, if it did.
    #[sea_orm(column_type = "Text")]
    pub input_data_type_text: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub output_data_type_text: Option<String>,
    pub request_id: Option<String>,
    pub etag: String,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
    /// The search copy of the side tables (`store::search_terms`).
    #[sea_orm(column_type = "Text")]
    pub search_terms: String,
    #[sea_orm(has_many)]
    pub target_environments: HasMany<super::target_environment::Entity>,
    #[sea_orm(has_many)]
    pub artifacts: HasMany<super::model_artifact::Entity>,
    #[sea_orm(has_many)]
    pub labels: HasMany<super::model_label::Entity>,
    #[sea_orm(has_many)]
    pub aliases: HasMany<super::model_alias::Entity>,
}

/// A list of data type ids, stored as a JSON array so that any string round-trips.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct DataTypes(pub Vec<String>);

impl ActiveModelBehavior for ActiveModel {}
