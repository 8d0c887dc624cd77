//! An alias: a mutable name for one version of a model name, unique per model name.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_aliases")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub model_name: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub alias: String,
    pub model_related_information_id: Uuid,
    #[sea_orm(
        belongs_to,
        from = "model_related_information_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub model_related_information: BelongsTo<super::model_related_information::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
