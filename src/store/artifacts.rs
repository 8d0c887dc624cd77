//! Artifact records: the version history of a model's stored bytes, read here. A record is
//! written as part of its registration's change (`changes`), only after its bytes are in the
//! object store; a client that stores the bytes elsewhere declares a version instead: an
//! external record, with no object.

use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entity::model_alias as alias;
use super::entity::model_artifact as artifact;
use super::entity::model_related_information as registration;
use super::{Store, rows};
use crate::domain::{
    Artifact, ArtifactCursor, ArtifactVersion, ModelIdentity, ModelRef, Page, PageSize,
    RegistrationId, Result,
};

impl Store {
    /// The registration a request names, by id, by name and version, or by name and alias.
    pub(crate) async fn resolve(&self, model: &ModelRef) -> Result<Option<ModelIdentity>> {
        let select = match model {
            ModelRef::Id(id) => registration::Entity::find_by_id(id.uuid()),
            ModelRef::NameVersion(name, version) => registration::Entity::find()
                .filter(registration::Column::ModelName.eq(name.as_str()))
                .filter(registration::Column::ModelVersion.eq(version.as_str())),
            // The alias's key (name, alias) finds the one registration it names.
            ModelRef::NameAlias(name, name_alias) => registration::Entity::find()
                .inner_join(alias::Entity)
                .filter(alias::Column::ModelName.eq(name.as_str()))
                .filter(alias::Column::Alias.eq(name_alias.as_str())),
        };
        Ok(select.one(&self.reader).await?.as_ref().map(rows::identity))
    }

    /// Which of `keys` belong to recorded artifacts.
    pub(crate) async fn recorded_object_keys(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        let mut recorded = std::collections::HashSet::new();
        // Bounded `IN (…)` lists: databases limit the parameters of one statement.
        for batch in keys.chunks(500) {
            let found: Vec<String> = artifact::Entity::find()
                .select_only()
                .column(artifact::Column::ObjectKey)
                .filter(artifact::Column::ObjectKey.is_in(batch.iter().cloned()))
                .into_tuple()
                .all(&self.reader)
                .await?;
            recorded.extend(found);
        }
        Ok(recorded)
    }

    /// One artifact of a registration: the given version, or the latest.
    pub(crate) async fn find_artifact(
        &self,
        registration_id: RegistrationId,
        version: Option<&ArtifactVersion>,
    ) -> Result<Option<Artifact>> {
        let mut select = artifact::Entity::find()
            .filter(artifact::Column::ModelRelatedInformationId.eq(registration_id.uuid()));
        if let Some(version) = version {
            select = select.filter(artifact::Column::ArtifactVersion.eq(version.as_str()));
        }
        let found = select
            .order_by_desc(artifact::Column::Sequence)
            .one(&self.reader)
            .await?;
        Ok(found.map(rows::artifact))
    }

    /// A page of a registration's artifacts, newest first, older than `before` if given.
    pub(crate) async fn list_artifacts(
        &self,
        registration_id: RegistrationId,
        before: Option<i64>,
        page_size: PageSize,
    ) -> Result<Page<Artifact, ArtifactCursor>> {
        let limit = page_size.get();
        let mut select = artifact::Entity::find()
            .filter(artifact::Column::ModelRelatedInformationId.eq(registration_id.uuid()));
        if let Some(before) = before {
            select = select.filter(artifact::Column::Sequence.lt(before));
        }
        // One extra row tells whether another page follows.
        let artifacts = select
            .order_by_desc(artifact::Column::Sequence)
            .limit(limit + 1)
            .all(&self.reader)
            .await?;
        let (artifacts, next) = super::split_page(artifacts, limit, |last| ArtifactCursor {
            model: registration_id,
            before_sequence: last.sequence,
        });
        Ok(Page {
            items: artifacts.into_iter().map(rows::artifact).collect(),
            next,
        })
    }
}

/// The sequence of a registration's next artifact record.
pub(super) async fn next_sequence(
    txn: &DatabaseTransaction,
    registration_id: RegistrationId,
) -> Result<i64> {
    let last: Option<i64> = artifact::Entity::find()
        .select_only()
        .column(artifact::Column::Sequence)
        .filter(artifact::Column::ModelRelatedInformationId.eq(registration_id.uuid()))
        .order_by_desc(artifact::Column::Sequence)
        .into_tuple()
        .one(txn)
        .await?;
    Ok(last.unwrap_or(0) + 1)
}
