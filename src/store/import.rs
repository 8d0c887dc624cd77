//! Imported registrations: models moved in from another registry keep their ids, so that the
//! ids clients stored stay valid. A batch is one transaction.

use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter};

use super::entity::model_artifact as artifact;
use super::entity::model_related_information as registration;
use super::numbering::append;
use super::registrations::{rollback, settle};
use super::{Store, children, rows};
use crate::domain::{
    Actor, ArtifactVersion, EventType, ImportOutcome, NewEvent, Registration, Result,
};

impl Store {
    /// Inserts each registration of `batch` with its id, its environments, its artifact
    /// version (an external artifact record, when it has one) and a `MODEL_REGISTERED` event,
    /// in one transaction; a dry run rolls it back after the same checks. A registration whose
    /// id is here already is left as it is; one whose name and version are registered under
    /// another id is refused.
    pub(crate) async fn import(
        &self,
        batch: &[Registration],
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
    new: &Registration,
    actor: &Actor,
) -> Result<ImportOutcome> {
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
    registration::Entity::insert(rows::new_registration_row(new, None).into_active_model())
        .exec_without_returning(txn)
        .await?;
    let environments = rows::environment_rows(new.id, &new.spec.target_environments);
    children::insert_environments(txn, environments).await?;
    children::insert_labels(txn, new.id, &new.spec.labels).await?;
    if new.artifact_version != ArtifactVersion::initial() {
        // The bytes are wherever the Go service's clients stored them.
        let record = artifact::Model {
            id: uuid::Uuid::now_v7(),
            model_related_information_id: new.id.uuid(),
            sequence: 1,
            artifact_version: new.artifact_version.as_str().to_owned(),
            object_key: String::new(),
            size_bytes: 0,
            sha256: String::new(),
            filename: String::new(),
            content_type: String::new(),
            create_time: new.create_time,
            external: true,
        };
        artifact::Entity::insert(record.into_active_model())
            .exec_without_returning(txn)
            .await?;
    }
    let event = NewEvent {
        kind: EventType::ModelRegistered,
        time: new.create_time,
        registration: new,
        etag_before: None,
        actor,
        alias: None,
    };
    append(txn, event).await?;
    Ok(ImportOutcome::Imported)
}
