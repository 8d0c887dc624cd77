//! Aliases: set (create or move) and delete, each one transaction with its event.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, SqlErr,
};

use super::entity::model_alias as alias;
use super::entity::model_related_information as registration;
use super::numbering::append;
use super::transaction::settle;
use super::{Store, children};
use crate::domain::{
    Actor, Alias, AliasChange, Error, ModelName, ModelVersion, NewEvent, Registration,
    RegistrationId, Result,
};

/// Attempts at creating an alias that a concurrent call creates at the same moment: the
/// second attempt finds its row and waits for its lock like any move.
const CREATE_ATTEMPTS: usize = 3;

/// What setting an alias came to.
pub(crate) enum AliasSet {
    /// The alias names the registration now (and did not before).
    Moved(Registration),
    /// The alias named that registration already; nothing was written.
    Unchanged(Registration),
    /// No registration has that name and version.
    NoSuchModel,
}

impl Store {
    /// Points `alias` of `name` at `version`, with the event `record` makes of the
    /// registration it names now and of the move (which names the one it named before).
    pub(crate) async fn set_alias(
        &self,
        name: &ModelName,
        alias: &Alias,
        version: &ModelVersion,
        actor: &Actor,
        record: impl Fn(&Registration, AliasChange) -> NewEvent,
    ) -> Result<AliasSet> {
        let mut attempt = 1;
        loop {
            let txn = self.begin_write().await?;
            let outcome = set_alias_in(&txn, name, alias, version, actor, &record).await;
            match outcome {
                Err(Error::Contention(_)) if attempt < CREATE_ATTEMPTS => {
                    if let Err(err) = txn.rollback().await {
                        tracing::warn!(error = %err, "rollback failed");
                    }
                    attempt += 1;
                }
                outcome => {
                    let outcome = settle(txn, outcome).await?;
                    if matches!(outcome, AliasSet::Moved(_)) {
                        self.appended();
                    }
                    return Ok(outcome);
                }
            }
        }
    }

    /// Removes `alias` of `name`, with the event `record` makes of the registration it named;
    /// returns that registration, or `None` when there is no such alias.
    pub(crate) async fn delete_alias(
        &self,
        name: &ModelName,
        alias: &Alias,
        actor: &Actor,
        record: impl FnOnce(&Registration, AliasChange) -> NewEvent,
    ) -> Result<Option<Registration>> {
        let txn = self.begin_write().await?;
        let deleted = async {
            let Some(row) = lock_alias(&txn, name, alias).await? else {
                return Ok(None);
            };
            alias::Entity::delete_many()
                .filter(alias::Column::ModelName.eq(name.as_str()))
                .filter(alias::Column::Alias.eq(alias.as_str()))
                .exec(&txn)
                .await?;
            let Some(after) = load(
                &txn,
                RegistrationId::from_uuid(row.model_related_information_id),
            )
            .await?
            else {
                return Err(Error::Internal("an alias of a missing registration".into()));
            };
            let change = AliasChange {
                alias: alias.clone(),
                previous: None,
            };
            append(&txn, &record(&after, change), actor).await?;
            Ok(Some(after))
        }
        .await;
        let deleted = settle(txn, deleted).await?;
        if deleted.is_some() {
            self.appended();
        }
        Ok(deleted)
    }
}

async fn set_alias_in(
    txn: &DatabaseTransaction,
    name: &ModelName,
    alias: &Alias,
    version: &ModelVersion,
    actor: &Actor,
    record: &impl Fn(&Registration, AliasChange) -> NewEvent,
) -> Result<AliasSet> {
    // The target is locked, so that it cannot be deleted under its new alias.
    let Some(target) = registration::Entity::find()
        .filter(registration::Column::ModelName.eq(name.as_str()))
        .filter(registration::Column::ModelVersion.eq(version.as_str()))
        .lock_exclusive()
        .one(txn)
        .await?
    else {
        return Ok(AliasSet::NoSuchModel);
    };
    let target_id = RegistrationId::from_uuid(target.id);
    let previous = match lock_alias(txn, name, alias).await? {
        Some(row) if row.model_related_information_id == target.id => {
            let current = load(txn, target_id).await?;
            return current
                .map(AliasSet::Unchanged)
                .ok_or_else(|| Error::Internal("a locked registration vanished".into()));
        }
        Some(row) => {
            let previous_id = row.model_related_information_id;
            let previous_version: Option<String> = registration::Entity::find_by_id(previous_id)
                .select_only()
                .column(registration::Column::ModelVersion)
                .into_tuple()
                .one(txn)
                .await?;
            let mut active = row.into_active_model();
            active.model_related_information_id = Set(target.id);
            active.update(txn).await?;
            previous_version.map(|version| {
                (
                    RegistrationId::from_uuid(previous_id),
                    ModelVersion::stored(version),
                )
            })
        }
        None => {
            let row = alias::Model {
                model_name: name.as_str().to_owned(),
                alias: alias.as_str().to_owned(),
                model_related_information_id: target.id,
            };
            match alias::Entity::insert(row.into_active_model())
                .exec_without_returning(txn)
                .await
            {
                Ok(_) => None,
                Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    return Err(Error::Contention(err.into()));
                }
                Err(err) => return Err(err.into()),
            }
        }
    };
    let after = load(txn, target_id)
        .await?
        .ok_or_else(|| Error::Internal("a locked registration vanished".into()))?;
    let change = AliasChange {
        alias: alias.clone(),
        previous,
    };
    append(txn, &record(&after, change), actor).await?;
    Ok(AliasSet::Moved(after))
}

/// Reads an alias under a row lock, held until the transaction ends.
async fn lock_alias(
    txn: &DatabaseTransaction,
    name: &ModelName,
    alias: &Alias,
) -> Result<Option<alias::Model>> {
    Ok(alias::Entity::find()
        .filter(alias::Column::ModelName.eq(name.as_str()))
        .filter(alias::Column::Alias.eq(alias.as_str()))
        .lock_exclusive()
        .one(txn)
        .await?)
}

async fn load(txn: &DatabaseTransaction, id: RegistrationId) -> Result<Option<Registration>> {
    let Some(row) = registration::Entity::find_by_id(id.uuid()).one(txn).await? else {
        return Ok(None);
    };
    Ok(Some(children::attach_one(txn, row).await?))
}
