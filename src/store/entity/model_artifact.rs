//! One stored artifact version of a registered model. The bytes are in the object store under
//! `object_key`, which is made of ids only.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_artifacts")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub model_related_information_id: Uuid,
    /// 1 for artifact version 1.0.0, n for 1.(n-1).0.
    pub sequence: i64,
    pub artifact_version: String,
    pub object_key: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
    /// Declared by a client that stored the bytes elsewhere: no object here.
    pub external: bool,
    pub create_time: DateTimeUtc,
    #[sea_orm(
        belongs_to,
        from = "model_related_information_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub model_related_information: BelongsTo<super::model_related_information::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
