//! Imported registrations: models moved in from another registry keep their ids, so that the
//! ids clients stored stay valid. A batch is one transaction.

use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use super::entity::model_related_information as registration;
use super::transaction::{rollback, settle};
use super::{Store, changes};
use crate::domain::{Actor, ImportOutcome, ModelChange, Result};

impl Store {
    /// Inserts each new registration of `batch` with its id, as the core made it (with an
    /// external artifact record when it has an artifact version, and its event), in one
    /// transaction; a dry run rolls it back after the same checks. A registration whose
    /// id is here already is left as it is; one whose name and version are registered under
    /// another id is refused.
    pub(crate) async fn import(
        &self,
        batch: &[ModelChange],
        actor: &Actor,
        dry_run: bool,
    ) -> Result<Vec<ImportOutcome>> {
        let txn = self.begin_write().await?;
        let outcomes = async {
            let mut outcomes = Vec::with_capacity(batch.len());
            for new in batch {
                outcomes.push(import_one(&txn, new, actor).await?);
            }
            Ok(outcomes)
        }
        .await;
        if dry_run {
            rollback(txn).await;
            return outcomes;
        }
        let outcomes = settle(txn, outcomes).await?;
        if outcomes.contains(&ImportOutcome::Imported) {
            self.appended();
        }
        Ok(outcomes)
    }
}

async fn import_one(
    txn: &DatabaseTransaction,
    change: &ModelChange,
    actor: &Actor,
) -> Result<ImportOutcome> {
    let new = &change.registration;
    let (name, version) = (new.spec.name.as_str(), new.spec.version.as_str());
    if let Some(present) = registration::Entity::find_by_id(new.id.uuid())
        .one(txn)
        .await?
    {
        return Ok(
            if present.model_name == name && present.model_version == version {
                ImportOutcome::AlreadyPresent
            } else {
                ImportOutcome::Refused(format!(
                    "its id {} is registered here as model {:?} version {:?}",
                    new.id, present.model_name, present.model_version
                ))
            },
        );
    }
    if let Some(other) = registration::Entity::find()
        .filter(registration::Column::ModelName.eq(name))
        .filter(registration::Column::ModelVersion.eq(version))
        .one(txn)
        .await?
    {
        return Ok(ImportOutcome::Refused(format!(
            "the name and version are registered here under another id, {}",
            other.id
        )));
    }
    changes::insert_new(txn, change, actor).await?;
    Ok(ImportOutcome::Imported)
}
