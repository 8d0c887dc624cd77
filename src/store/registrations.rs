//! Registration writes (each one transaction) and reads of one registration.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, IntoActiveModel, ModelTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use uuid::Uuid;

use super::Store;
use super::entity::model_artifact as artifact;
use super::entity::model_related_information::{self as registration, DataTypes};
use super::entity::target_environment as environment;
use crate::convert::{self, Assigned};
use crate::domain::ModelSpec;
use crate::error::{Error, Result};

/// Artifact version of a model that has no stored artifact yet.
pub const INITIAL_ARTIFACT_VERSION: &str = "0.0.0";

/// A registration with its target environments in list order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub model: registration::Model,
    pub target_environments: Vec<environment::Model>,
}

impl Store {
    /// Inserts a registration and its environments in one transaction. With a `request_id`
    /// that created a registration before, returns that registration instead (AIP-155).
    pub async fn register(
        &self,
        spec: ModelSpec,
        request_id: Option<String>,
    ) -> Result<Registration> {
        if let Some(request_id) = &request_id
            && let Some(existing) = self.find_by_request_id(request_id).await?
        {
            return Ok(existing);
        }
        let name_and_version = (spec.model_name.clone(), spec.model_version.clone());
        let new = convert::new_registration(
            spec,
            Assigned {
                // Time-ordered ids keep the primary key index append-mostly.
                id: Uuid::now_v7(),
                artifact_version: INITIAL_ARTIFACT_VERSION.to_owned(),
                request_id: request_id.clone(),
                etag: new_etag(),
                time: now(),
            },
        );

        let txn = self.begin_write().await?;
        let inserted = async {
            registration::Entity::insert(new.model.clone().into_active_model())
                .exec_without_returning(&txn)
                .await?;
            insert_environments(&txn, &new.target_environments).await
        }
        .await;
        match inserted {
            Ok(()) => txn.commit().await?,
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                rollback(txn).await;
                // Either the name and version are taken, or a concurrent retry with the same
                // request id won the race: then its registration is the answer.
                if let Some(request_id) = &request_id
                    && let Some(existing) = self.find_by_request_id(request_id).await?
                {
                    return Ok(existing);
                }
                let (name, version) = name_and_version;
                return Err(Error::ModelAlreadyRegistered { name, version });
            }
            Err(err) => {
                rollback(txn).await;
                return Err(err.into());
            }
        }
        Ok(new)
    }

    /// One registration with its environments, in one statement (a LEFT JOIN): a read is
    /// one round trip to the database, the cost that bounds GetModelRegistration.
    pub async fn get(&self, id: Uuid) -> Result<Registration> {
        let (model, target_environments) = registration::Entity::find_by_id(id)
            .find_with_related(environment::Entity)
            .order_by_asc(environment::Column::Position)
            .all(&self.reader)
            .await?
            .pop()
            .ok_or_else(|| not_found(id))?;
        Ok(Registration {
            model,
            target_environments,
        })
    }

    /// Reads the registration under a row lock, lets `change` compute its new content, and
    /// writes it, all in one transaction: concurrent updates of one registration run one after
    /// the other, so the stored list of environments is always exactly one writer's list.
    pub async fn update<F>(
        &self,
        id: Uuid,
        expected_etag: Option<&str>,
        change: F,
    ) -> Result<Registration>
    where
        F: FnOnce(&Registration) -> Result<ModelSpec>,
    {
        let txn = self.begin_write().await?;
        let updated = async {
            let model = lock_registration(&txn, id).await?;
            check_etag(&model, expected_etag)?;
            let target_environments = model
                .find_related(environment::Entity)
                .order_by_asc(environment::Column::Position)
                .all(&txn)
                .await?;
            let current = Registration {
                model,
                target_environments,
            };
            let spec = change(&current)?;

            let mut row = current.model.clone().into_active_model();
            row.description = Set(spec.description);
            row.model_location = Set(spec.model_location);
            row.author = Set(spec.author);
            row.owner = Set(spec.owner);
            row.input_data_type = Set(DataTypes(spec.input_data_type));
            row.output_data_type = Set(DataTypes(spec.output_data_type));
            row.etag = Set(new_etag());
            row.update_time = Set(now());
            let model = row.update(&txn).await?;

            let new_environments = convert::environment_rows(id, &spec.target_environments);
            let target_environments =
                if same_environments(&current.target_environments, &new_environments) {
                    current.target_environments
                } else {
                    environment::Entity::delete_many()
                        .filter(environment::Column::ModelRelatedInformationId.eq(id))
                        .exec(&txn)
                        .await?;
                    insert_environments(&txn, &new_environments).await?;
                    new_environments
                };
            Ok(Registration {
                model,
                target_environments,
            })
        }
        .await;
        settle(txn, updated).await
    }

    /// Deletes a registration; the foreign keys' ON DELETE CASCADE removes its environments and
    /// artifact records with it. Returns the object keys of its artifacts, for the caller to
    /// remove once the deletion is committed. The row is locked before the keys are read, so an
    /// upload committing at the same moment cannot add a key that this list misses.
    pub async fn delete(&self, id: Uuid, expected_etag: Option<&str>) -> Result<Vec<String>> {
        let txn = self.begin_write().await?;
        let deleted = async {
            let model = lock_registration(&txn, id).await?;
            check_etag(&model, expected_etag)?;
            let keys: Vec<String> = artifact::Entity::find()
                .select_only()
                .column(artifact::Column::ObjectKey)
                .filter(artifact::Column::ModelRelatedInformationId.eq(id))
                .into_tuple()
                .all(&txn)
                .await?;
            registration::Entity::delete_by_id(id).exec(&txn).await?;
            Ok(keys)
        }
        .await;
        settle(txn, deleted).await
    }

    async fn find_by_request_id(&self, request_id: &str) -> Result<Option<Registration>> {
        let found = registration::Entity::find()
            .filter(registration::Column::RequestId.eq(request_id))
            .one(&self.reader)
            .await?;
        Ok(match found {
            Some(model) => self.attach_environments(vec![model]).await?.pop(),
            None => None,
        })
    }
}

/// Reads a registration under a row lock, held until the transaction ends (on SQLite the write
/// transaction already holds the database's write lock).
pub(super) async fn lock_registration(
    txn: &DatabaseTransaction,
    id: Uuid,
) -> Result<registration::Model> {
    registration::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| not_found(id))
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
async fn rollback(txn: DatabaseTransaction) {
    if let Err(err) = txn.rollback().await {
        tracing::warn!(error = %err, "rollback failed");
    }
}

/// Inserts all environments of a registration in one statement.
async fn insert_environments(
    db: &impl ConnectionTrait,
    rows: &[environment::Model],
) -> Result<(), sea_orm::DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    environment::Entity::insert_many(rows.iter().cloned().map(IntoActiveModel::into_active_model))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn same_environments(current: &[environment::Model], new: &[environment::Model]) -> bool {
    current.len() == new.len()
        && current.iter().zip(new).all(|(a, b)| {
            (&a.platform_name, &a.environment_type, &a.dependency_list)
                == (&b.platform_name, &b.environment_type, &b.dependency_list)
        })
}

fn check_etag(model: &registration::Model, expected: Option<&str>) -> Result<()> {
    match expected {
        Some(given) if given != model.etag => Err(Error::EtagMismatch {
            id: model.id.to_string(),
            given: given.to_owned(),
        }),
        _ => Ok(()),
    }
}

pub(super) fn not_found(id: Uuid) -> Error {
    Error::RegistrationNotFound { id: id.to_string() }
}

pub(super) fn new_etag() -> String {
    Uuid::new_v4().simple().to_string()
}

/// Both backends store microseconds; rounding first makes what we answer equal what we read.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
