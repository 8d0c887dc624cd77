//! Registering and deregistering (each one transaction), and reads of one registration.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, SqlErr};

use super::entity::model_artifact as artifact;
use super::entity::model_related_information as registration;
use super::numbering::{append, numbered_after_commit};
use super::transaction::{lock_registration, rollback, settle};
use super::{Store, changes, children, lookup, one_statement};
use crate::domain::{
    Actor, ModelChange, ModelRef, NewEvent, Registration, RegistrationId, RequestId, Result,
};

/// What inserting a new registration came to.
pub(crate) enum Inserted {
    Created,
    /// A unique key is taken: the name and version, or the request id.
    Duplicate,
}

impl Store {
    /// Inserts a new registration with its environments, labels and events, in one
    /// transaction: on PostgreSQL one statement (`one_statement`).
    pub(crate) async fn insert(&self, change: &ModelChange, actor: &Actor) -> Result<Inserted> {
        if numbered_after_commit(self.backend()) {
            let _waiting = self.write_waiters.wait();
            return match one_statement::insert_new(&self.writer, change, actor).await {
                Ok(()) => {
                    self.appended();
                    Ok(Inserted::Created)
                }
                Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    Ok(Inserted::Duplicate)
                }
                Err(err) => Err(err.into()),
            };
        }
        let txn = self.begin_write().await?;
        match changes::insert_new(&txn, change, actor).await {
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

    /// The registration `model` names, by id, by name and version or by alias, with all its
    /// children, in one statement (`lookup`): the cost of a read the cache does not answer.
    pub(crate) async fn find(&self, model: &ModelRef) -> Result<Option<Registration>> {
        Ok(lookup::registration_of(&self.reader, model).await?)
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

    /// Deletes a registration, with the events `decide` makes of it as it was (or its
    /// refusal); the foreign keys' ON DELETE CASCADE removes its children and artifact records
    /// with it. Returns the object keys of its artifacts, for the caller to remove once the
    /// deletion is committed, or `None` when there is no such registration. The row is locked
    /// before the keys are read, so an upload committing at the same moment cannot add a key
    /// that this list misses.
    pub(crate) async fn delete(
        &self,
        id: RegistrationId,
        actor: &Actor,
        decide: impl FnOnce(&Registration) -> Result<Vec<NewEvent>>,
    ) -> Result<Option<Vec<String>>> {
        let txn = self.begin_write().await?;
        let deleted = async {
            let Some(row) = lock_registration(&txn, id).await? else {
                return Ok(None);
            };
            let last = children::attach_one(&txn, row).await?;
            let events = decide(&last)?;
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
            for event in &events {
                append(&txn, event, actor).await?;
            }
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
