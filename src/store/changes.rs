//! Persisting the changes the core decides (`ModelChange`): a new registration, or a change of
//! one read under its row lock, each written whole with its events in one transaction.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter,
};

use super::entity::model_artifact as artifact;
use super::entity::model_related_information as registration;
use super::entity::target_environment as environment;
use super::numbering::{append, numbered_after_commit};
use super::transaction::{lock_registration, settle};
use super::{Store, artifacts, children, one_statement, rows};
use crate::domain::{Actor, ModelChange, Registration, RegistrationId, Result};

/// What the core decides a change from: a registration read under its row lock.
pub(crate) struct Locked {
    pub(crate) registration: Registration,
    /// The sequence its next artifact record takes, when `Reading::WithNextArtifact` asked.
    pub(crate) next_artifact: Option<i64>,
}

/// What a change reads besides the registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reading {
    Registration,
    /// Also the sequence of its next artifact record (one more statement).
    WithNextArtifact,
}

impl Store {
    /// Reads the registration `id` under its row lock, lets `decide` make the change from it,
    /// and writes the change, all in one transaction: concurrent changes of one registration
    /// run one after the other, so what is stored is always exactly one writer's change. A
    /// change that records no event writes nothing. `None` when there is no such registration.
    pub(crate) async fn change(
        &self,
        id: RegistrationId,
        actor: &Actor,
        reading: Reading,
        decide: impl FnOnce(Locked) -> Result<ModelChange>,
    ) -> Result<Option<ModelChange>> {
        let txn = self.begin_write().await?;
        let changed = async {
            let Some(row) = lock_registration(&txn, id).await? else {
                return Ok(None);
            };
            let current = children::attach_one(&txn, row.clone()).await?;
            let next_artifact = match reading {
                Reading::Registration => None,
                Reading::WithNextArtifact => Some(artifacts::next_sequence(&txn, id).await?),
            };
            let locked = Locked {
                registration: current.clone(),
                next_artifact,
            };
            let change = decide(locked)?;
            if !change.is_empty() {
                write_change(&txn, row, &current, &change, actor).await?;
            }
            Ok(Some(change))
        }
        .await;
        let changed = settle(txn, changed).await?;
        if changed.as_ref().is_some_and(|change| !change.is_empty()) {
            self.appended();
        }
        Ok(changed)
    }
}

/// Writes a new registration with its environments, labels, artifact record and events, in
/// the caller's transaction.
pub(super) async fn insert_new(
    txn: &DatabaseTransaction,
    change: &ModelChange,
    actor: &Actor,
) -> Result<(), sea_orm::DbErr> {
    let new = &change.registration;
    let parent = rows::new_registration_row(new, actor.request_id.as_ref());
    registration::Entity::insert(parent.into_active_model())
        .exec_without_returning(txn)
        .await?;
    let environments = rows::environment_rows(new.id, &new.spec.target_environments);
    children::insert_environments(txn, environments).await?;
    children::insert_labels(txn, new.id, &new.spec.labels).await?;
    write_record_and_events(txn, change, actor).await
}

/// Writes `change` of the locked registration `current` (read from `row`): its columns, its
/// environments and labels where they changed, its artifact record and its events.
async fn write_change(
    txn: &DatabaseTransaction,
    row: registration::Model,
    current: &Registration,
    change: &ModelChange,
    actor: &Actor,
) -> Result<(), sea_orm::DbErr> {
    let after = &change.registration;
    if after.spec.target_environments != current.spec.target_environments {
        environment::Entity::delete_many()
            .filter(environment::Column::ModelRelatedInformationId.eq(after.id.uuid()))
            .exec(txn)
            .await?;
        let environments = rows::environment_rows(after.id, &after.spec.target_environments);
        children::insert_environments(txn, environments).await?;
    }
    if after.spec.labels != current.spec.labels {
        children::replace_labels(txn, after.id, &after.spec.labels).await?;
    }
    if numbered_after_commit(txn.get_database_backend()) {
        return one_statement::write_change(txn, row, change, actor).await;
    }
    rows::revised_row(row, after).update(txn).await?;
    write_record_and_events(txn, change, actor).await
}

async fn write_record_and_events(
    txn: &DatabaseTransaction,
    change: &ModelChange,
    actor: &Actor,
) -> Result<(), sea_orm::DbErr> {
    if let Some(record) = &change.artifact {
        artifact::Entity::insert(rows::artifact_row(change.registration.id, record)?)
            .exec_without_returning(txn)
            .await?;
    }
    for event in &change.events {
        append(txn, event, actor).await?;
    }
    Ok(())
}
