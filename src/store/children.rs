//! A registration's children: its target environments, labels and aliases, each in a table of
//! its own. They are loaded for a whole page at once: the environments in one `IN (…)` query,
//! the labels and aliases together in a second (one UNION ALL), whatever the page's size.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, Query, UnionType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, LoaderTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::entity::model_alias as alias;
use super::entity::model_label as label;
use super::entity::model_related_information as registration;
use super::entity::target_environment as environment;
use super::rows;
use crate::domain::{Alias, Labels, ModelRef, Registration, RegistrationId};

/// The labels and aliases of one registration.
#[derive(Debug, Default)]
pub(super) struct Tags {
    pub(super) labels: Labels,
    pub(super) aliases: Vec<Alias>,
}

/// The registrations of `models`, in their order, with all their children.
pub(super) async fn attach(
    db: &impl ConnectionTrait,
    models: Vec<registration::Model>,
) -> Result<Vec<Registration>, DbErr> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let environments = models
        .load_many(
            // In index order (parent, position): the database reads the page's environments
            // straight off the index instead of sorting them.
            environment::Entity::find()
                .order_by_asc(environment::Column::ModelRelatedInformationId)
                .order_by_asc(environment::Column::Position),
            db,
        )
        .await?;
    let ids: Vec<Uuid> = models.iter().map(|model| model.id).collect();
    let mut tags = load_tags(db, &ids).await?;
    Ok(models
        .into_iter()
        .zip(environments)
        .map(|(model, environments)| {
            let tags = tags.remove(&model.id).unwrap_or_default();
            rows::registration(model, environments, tags)
        })
        .collect())
}

/// One registration with all its children, for a transaction that reads it to change it
/// (its row locked already): one statement (`lookup`).
pub(super) async fn attach_one(
    db: &impl ConnectionTrait,
    model: registration::Model,
) -> Result<Registration, DbErr> {
    let id = RegistrationId::from_uuid(model.id);
    super::lookup::registration_of(db, &ModelRef::Id(id))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("registration {id}, locked a moment ago")))
}

/// The labels and aliases of the registrations `ids`, in one statement.
pub(super) async fn load_tags(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Tags>, DbErr> {
    const LABEL: i32 = 0;
    const ALIAS: i32 = 1;
    let mut select = Query::select()
        .column(label::Column::ModelRelatedInformationId)
        .expr_as(Expr::val(LABEL), "kind")
        .column(label::Column::LabelKey)
        .column(label::Column::LabelValue)
        .from(label::Entity)
        .and_where(label::Column::ModelRelatedInformationId.is_in(ids.iter().copied()))
        .to_owned();
    let aliases = Query::select()
        .column(alias::Column::ModelRelatedInformationId)
        .expr(Expr::val(ALIAS))
        .column(alias::Column::Alias)
        .expr(Expr::val(""))
        .from(alias::Entity)
        .and_where(alias::Column::ModelRelatedInformationId.is_in(ids.iter().copied()))
        .to_owned();
    select.union(UnionType::All, aliases);
    let statement = db.get_database_backend().build(&select);
    let mut tags: HashMap<Uuid, Tags> = HashMap::new();
    for row in db.query_all_raw(statement).await? {
        let id: Uuid = row.try_get("", "model_related_information_id")?;
        let kind: i32 = row.try_get("", "kind")?;
        let key: String = row.try_get("", "label_key")?;
        let entry = tags.entry(id).or_default();
        if kind == ALIAS {
            entry.aliases.push(Alias::stored(key));
        } else {
            entry.labels.insert(key, row.try_get("", "label_value")?);
        }
    }
    for entry in tags.values_mut() {
        entry.aliases.sort();
    }
    Ok(tags)
}

/// Inserts all environments of a registration in one statement.
pub(super) async fn insert_environments(
    db: &impl ConnectionTrait,
    rows: Vec<environment::Model>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    environment::Entity::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Inserts all labels of a registration in one statement.
pub(super) async fn insert_labels(
    db: &impl ConnectionTrait,
    parent: RegistrationId,
    labels: &Labels,
) -> Result<(), DbErr> {
    if labels.is_empty() {
        return Ok(());
    }
    label::Entity::insert_many(label_rows(parent, labels))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The label rows of a registration.
pub(super) fn label_rows(parent: RegistrationId, labels: &Labels) -> Vec<label::ActiveModel> {
    labels
        .iter()
        .map(|(key, value)| {
            label::Model {
                model_related_information_id: parent.uuid(),
                label_key: key.clone(),
                label_value: value.clone(),
            }
            .into_active_model()
        })
        .collect()
}

/// Replaces a registration's labels.
pub(super) async fn replace_labels(
    db: &impl ConnectionTrait,
    parent: RegistrationId,
    labels: &Labels,
) -> Result<(), DbErr> {
    label::Entity::delete_many()
        .filter(label::Column::ModelRelatedInformationId.eq(parent.uuid()))
        .exec(db)
        .await?;
    insert_labels(db, parent, labels).await
}
