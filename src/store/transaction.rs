//! What every write of the store shares: ending a transaction by its outcome, and the row lock
//! that makes concurrent changes of one registration take turns.

use sea_orm::{DatabaseTransaction, EntityTrait, QuerySelect};

use super::entity::model_related_information as registration;
use crate::domain::{RegistrationId, Result};

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
