//! A platform one registered model can run on. `position` keeps the client's list order.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "target_environments")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub model_related_information_id: Uuid,
    pub position: i32,
    pub platform_name: String,
    pub environment_type: String,
    #[sea_orm(column_type = "Text")]
    pub dependency_list: String,
    #[sea_orm(
        belongs_to,
        from = "model_related_information_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub model_related_information: BelongsTo<super::model_related_information::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
