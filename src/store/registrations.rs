//! Registration writes (each one transaction) and reads of one registration.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};

use super::entity::model_artifact as artifact;
use super::entity::model_related_information::{self as registration, DataTypes};
use super::entity::target_environment as environment;
use super::numbering::append;
use super::{Store, artifacts, children, rows, search_terms};
use crate::domain::{
    Actor, AliasChange, ArtifactVersion, Etag, EventType, ModelSpec, NewEvent, Registration,
    RegistrationId, RequestId, Result,
};

/// What inserting a new registration came to.
pub(crate) enum Inserted {
    Created,
    /// A unique key is taken: the name and version, or the request id.
    Duplicate,
}

impl Store {
    /// Inserts a registration and its environments, with its event, in one transaction.
    pub(crate) async fn insert(&self, new: &Registration, actor: &Actor) -> Result<Inserted> {
        let parent = rows::new_registration_row(new, actor.request_id.as_ref());
        let environments = rows::environment_rows(new.id, &new.spec.target_environments);
        let txn = self.begin_write().await?;
        let inserted = async {
            registration::Entity::insert(parent.into_active_model())
                .exec_without_returning(&txn)
                .await?;
            children::insert_environments(&txn, environments).await?;
            children::insert_labels(&txn, new.id, &new.spec.labels).await?;
            let event = NewEvent {
                kind: EventType::ModelRegistered,
                time: new.create_time,
                registration: new,
                etag_before: None,
                actor,
                alias: None,
            };
            append(&txn, event).await
        }
        .await;
        match inserted {
            Ok(()) => {
                txn.commit().await?;
                self.appended();
                Ok(Inserted::Created)
            }
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                rollback(txn).await;
                Ok(Inserted::Duplicate)
            }
            Err(err) => {
                rollback(txn).await;
                Err(err.into())
            }
        }
    }

    /// One registration with its environments in one statement (a LEFT JOIN), and its labels
    /// and aliases in a second: a read is two round trips to the database, the cost that
    /// bounds GetModelRegistration.
    pub(crate) async fn get(&self, id: RegistrationId) -> Result<Option<Registration>> {
        let Some((row, environments)) = registration::Entity::find_by_id(id.uuid())
            .find_with_related(environment::Entity)
            .order_by_asc(environment::Column::Position)
            .all(&self.reader)
            .await?
            .pop()
        else {
            return Ok(None);
        };
        let tags = children::tags_of(&self.reader, id).await?;
        Ok(Some(rows::registration(row, environments, tags)))
    }

    /// The registration a retry with `request_id` created before.
    pub(crate) async fn find_by_request_id(
        &self,
        request_id: &RequestId,
    ) -> Result<Option<Registration>> {
        let found = registration::Entity::find()
            .filter(registration::Column::RequestId.eq(request_id.as_str()))
            .one(&self.reader)
            .await?;
        Ok(match found {
            Some(row) => self.attach_children(vec![row]).await?.pop(),
            None => None,
        })
    }

    /// Reads the registration under a row lock, lets `change` compute its new content, and
    /// writes it, all in one transaction: concurrent updates of one registration run one after
    /// the other, so the stored list of environments is always exactly one writer's list.
    /// `None` when there is no such registration.
    ///
    /// With `declared`, an artifact version of bytes stored elsewhere is recorded too, as
    /// `declare_artifact` records it, in the same transaction: the current version changes
    /// nothing more, a lower one fails the whole update.
    pub(crate) async fn update(
        &self,
        id: RegistrationId,
        actor: &Actor,
        declared: Option<ArtifactVersion>,
        change: impl FnOnce(&Registration) -> Result<ModelSpec>,
    ) -> Result<Option<Registration>> {
        let txn = self.begin_write().await?;
        let updated = async {
            let Some(row) = lock_registration(&txn, id).await? else {
                return Ok(None);
            };
            let current = children::attach_one(&txn, row.clone()).await?;
            let spec = change(&current)?;

            let (etag, update_time) = (Etag::generate(), rows::now());
            let mut active = row.into_active_model();
            active.description = Set(spec.description.to_owned());
            active.model_location = Set(spec.location.as_deref().map(str::to_owned));
            active.author = Set(spec.author.to_owned());
            active.owner = Set(spec.owner.as_deref().map(str::to_owned));
            active.input_data_type = Set(DataTypes(spec.input_data_type.to_vec()));
            active.output_data_type = Set(DataTypes(spec.output_data_type.to_vec()));
            active.input_data_type_text = Set(spec.data_type_spelling.input.clone());
            active.output_data_type_text = Set(spec.data_type_spelling.output.clone());
            active.etag = Set(etag.as_str().to_owned());
            active.update_time = Set(update_time);
            active.search_terms = Set(search_terms::of(&spec));
            let updated_row = active.update(&txn).await?;

            if spec.target_environments != current.spec.target_environments {
                environment::Entity::delete_many()
                    .filter(environment::Column::ModelRelatedInformationId.eq(id.uuid()))
                    .exec(&txn)
                    .await?;
                let environments = rows::environment_rows(id, &spec.target_environments);
                children::insert_environments(&txn, environments).await?;
            }
            if spec.labels != current.spec.labels {
                children::replace_labels(&txn, id, &spec.labels).await?;
            }
            let etag_before = current.etag.clone();
            let updated = Registration {
                spec,
                etag,
                update_time,
                ..current
            };
            let event = NewEvent {
                kind: EventType::ModelUpdated,
                time: update_time,
                registration: &updated,
                etag_before: Some(&etag_before),
                actor,
                alias: None,
            };
            append(&txn, event).await?;
            match declared {
                Some(version) if version != updated.artifact_version => {
                    let declared = artifacts::declared_record(
                        &txn,
                        updated_row,
                        &updated.artifact_version,
                        version,
                        actor,
                    )
                    .await?;
                    Ok(Some(declared))
                }
                _ => Ok(Some(updated)),
            }
        }
        .await;
        let updated = settle(txn, updated).await?;
        if updated.is_some() {
            self.appended();
        }
        Ok(updated)
    }

    /// Deletes a registration after `check` accepted its name and current etag; the foreign keys' ON
    /// DELETE CASCADE removes its environments and artifact records with it. Returns the
    /// object keys of its artifacts, for the caller to remove once the deletion is committed,
    /// or `None` when there is no such registration. The row is locked before the keys are
    /// read, so an upload committing at the same moment cannot add a key that this list misses.
    pub(crate) async fn delete(
        &self,
        id: RegistrationId,
        actor: &Actor,
        check: impl FnOnce(&str, &Etag) -> Result<()>,
    ) -> Result<Option<Vec<String>>> {
        let txn = self.begin_write().await?;
        let deleted = async {
            let Some(row) = lock_registration(&txn, id).await? else {
                return Ok(None);
            };
            check(&row.model_name, &Etag::stored(row.etag.clone()))?;
            // The events keep the registration as it was.
            let last = children::attach_one(&txn, row).await?;
            let keys: Vec<String> = artifact::Entity::find()
                .select_only()
                .column(artifact::Column::ObjectKey)
                .filter(artifact::Column::ModelRelatedInformationId.eq(id.uuid()))
                .into_tuple()
                .all(&txn)
                .await?;
            registration::Entity::delete_by_id(id.uuid())
                .exec(&txn)
                .await?;
            // Its aliases went with it (ON DELETE CASCADE): each is an event of its own, so
            // that a watcher of alias moves learns that the alias is gone.
            for alias in &last.aliases {
                let change = AliasChange {
                    alias: alias.clone(),
                    previous: None,
                };
                let event = NewEvent {
                    kind: EventType::AliasDeleted,
                    time: rows::now(),
                    registration: &last,
                    etag_before: Some(&last.etag),
                    actor,
                    alias: Some(&change),
                };
                append(&txn, event).await?;
            }
            let event = NewEvent {
                kind: EventType::ModelDeregistered,
                time: rows::now(),
                registration: &last,
                etag_before: Some(&last.etag),
                actor,
                alias: None,
            };
            append(&txn, event).await?;
            Ok(Some(keys))
        }
        .await;
        let deleted = settle(txn, deleted).await?;
        if deleted.is_some() {
            self.appended();
        }
        Ok(deleted)
    }
}

/// Reads a registration under a row lock, held until the transaction ends (on SQLite the write
/// transaction already holds the database's write lock).
pub(super) async fn lock_registration(
    txn: &DatabaseTransaction,
    id: RegistrationId,
) -> Result<Option<registration::Model>> {
    Ok(registration::Entity::find_by_id(id.uuid())
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// Commits the transaction when its work succeeded, and rolls it back when it failed.
pub(super) async fn settle<T>(txn: DatabaseTransaction, outcome: Result<T>) -> Result<T> {
    match outcome {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(err) => {
            rollback(txn).await;
            Err(err)
        }
    }
}

/// Ends a failed transaction. Its own failure is only logged: the error that made the
/// transaction fail is the one to report (and the driver rolls back a dropped one anyway).
pub(super) async fn rollback(txn: DatabaseTransaction) {
    if let Err(err) = txn.rollback().await {
        tracing::warn!(error = %err, "rollback failed");
    }
}
