//! One label of a registered model: a key and its value.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_labels")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub model_related_information_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub label_key: String,
    pub label_value: String,
    #[sea_orm(
        belongs_to,
        from = "model_related_information_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub model_related_information: BelongsTo<super::model_related_information::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
