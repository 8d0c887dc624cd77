//! Artifact records: the version history of a model's stored bytes. A record is written only
//! after its bytes are in the object store, in one transaction with the registration's new
//! artifact version, so versions are consecutive and none is ever lost.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Store;
use super::entity::model_artifact as artifact;
use super::entity::model_related_information as registration;
use super::registrations::{lock_registration, new_etag, not_found, now, settle};
use crate::domain::ModelRef;
use crate::error::{Error, Result};

/// An artifact whose bytes are stored, to be recorded.
#[derive(Clone, Debug)]
pub struct NewArtifact {
    pub id: Uuid,
    pub registration_id: Uuid,
    pub object_key: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
}

/// One page of a model's artifacts, newest first.
#[derive(Debug)]
pub struct ArtifactPage {
    pub artifacts: Vec<artifact::Model>,
    /// The sequence of the last listed artifact when older ones follow.
    pub next: Option<i64>,
}

/// The artifact version of the `sequence`-th artifact: 1.0.0, then 1.1.0, 1.2.0, … as in the
/// service modelreg replaces.
pub fn artifact_version(sequence: i64) -> String {
    format!("1.{}.0", sequence - 1)
}

impl Store {
    /// The registration a request names, by id or by name and version.
    pub async fn resolve(&self, model: &ModelRef) -> Result<registration::Model> {
        match model {
            ModelRef::Id(id) => registration::Entity::find_by_id(*id)
                .one(&self.reader)
                .await?
                .ok_or_else(|| not_found(*id)),
            ModelRef::NameVersion { name, version } => registration::Entity::find()
                .filter(registration::Column::ModelName.eq(name))
                .filter(registration::Column::ModelVersion.eq(version))
                .one(&self.reader)
                .await?
                .ok_or_else(|| Error::ModelNotFound {
                    name: name.clone(),
                    version: version.clone(),
                }),
        }
    }

    /// Records a stored artifact as its model's next version and makes it the registration's
    /// artifact version. The registration row is locked first, so concurrent uploads to one
    /// model take turns and a concurrent delete either waits or wins (then NOT_FOUND).
    pub async fn commit_artifact(
        &self,
        new: NewArtifact,
    ) -> Result<(artifact::Model, registration::Model)> {
        let txn = self.begin_write().await?;
        let committed = async {
            let model = lock_registration(&txn, new.registration_id).await?;
            let last: Option<i64> = artifact::Entity::find()
                .select_only()
                .column(artifact::Column::Sequence)
                .filter(artifact::Column::ModelRelatedInformationId.eq(new.registration_id))
                .order_by_desc(artifact::Column::Sequence)
                .into_tuple()
                .one(&txn)
                .await?;
            let sequence = last.unwrap_or(0) + 1;
            let time = now();
            let record = artifact::Model {
                id: new.id,
                model_related_information_id: new.registration_id,
                sequence,
                artifact_version: artifact_version(sequence),
                object_key: new.object_key,
                size_bytes: i64::try_from(new.size_bytes).expect("artifact sizes fit in i64"),
                sha256: new.sha256,
                filename: new.filename,
                content_type: new.content_type,
                create_time: time,
            };
            artifact::Entity::insert(record.clone().into_active_model())
                .exec_without_returning(&txn)
                .await?;
            let mut row = model.into_active_model();
            row.artifact_version = Set(record.artifact_version.clone());
            row.etag = Set(new_etag());
            row.update_time = Set(time);
            let model = row.update(&txn).await?;
            Ok((record, model))
        }
        .await;
        settle(txn, committed).await
    }

    /// One artifact of a registration: the given version, or the latest.
    pub async fn find_artifact(
        &self,
        registration_id: Uuid,
        version: Option<&str>,
    ) -> Result<artifact::Model> {
        let mut select = artifact::Entity::find()
            .filter(artifact::Column::ModelRelatedInformationId.eq(registration_id));
        if let Some(version) = version {
            select = select.filter(artifact::Column::ArtifactVersion.eq(version));
        }
        select
            .order_by_desc(artifact::Column::Sequence)
            .one(&self.reader)
            .await?
            .ok_or_else(|| Error::ArtifactNotFound {
                id: registration_id.to_string(),
                version: version.map(str::to_owned),
            })
    }

    /// A page of a registration's artifacts, newest first, older than `before` if given.
    pub async fn list_artifacts(
        &self,
        registration_id: Uuid,
        before: Option<i64>,
        limit: u64,
    ) -> Result<ArtifactPage> {
        let mut select = artifact::Entity::find()
            .filter(artifact::Column::ModelRelatedInformationId.eq(registration_id));
        if let Some(before) = before {
            select = select.filter(artifact::Column::Sequence.lt(before));
        }
        // One extra row tells whether another page follows.
        let mut artifacts = select
            .order_by_desc(artifact::Column::Sequence)
            .limit(limit + 1)
            .all(&self.reader)
            .await?;
        let more = artifacts.len() as u64 > limit;
        artifacts.truncate(limit as usize);
        let next = more
            .then(|| artifacts.last())
            .flatten()
            .map(|last| last.sequence);
        Ok(ArtifactPage { artifacts, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_versions_follow_the_replaced_service() {
        assert_eq!(artifact_version(1), "1.0.0");
        assert_eq!(artifact_version(2), "1.1.0");
        assert_eq!(artifact_version(11), "1.10.0");
    }
}
