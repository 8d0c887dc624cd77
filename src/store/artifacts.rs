//! Artifact records: the version history of a model's stored bytes. A record is written only
//! after its bytes are in the object store, in one transaction with the registration's new
//! artifact version, so versions only go forward and none is ever lost. A client that stores
//! the bytes elsewhere may declare a version instead: an external record, with no object.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};

use super::entity::model_alias as alias;
use super::entity::model_artifact as artifact;
use super::entity::model_related_information as registration;
use super::numbering::append;
use super::registrations::{lock_registration, settle};
use super::{Store, children, rows};
use crate::domain::{
    Actor, Artifact, ArtifactCursor, ArtifactVersion, Error, Etag, EventType, ModelIdentity,
    ModelRef, NewArtifact, NewEvent, Page, PageSize, Registration, RegistrationId, Result,
};

/// What a declaration left: the registration, and whether it recorded a new version (or the
/// version was already the current one).
#[derive(Clone, Debug)]
pub(crate) struct Declared {
    pub(crate) registration: Registration,
    pub(crate) recorded: bool,
}

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

    /// Records a stored artifact as its model's next version and makes it the registration's
    /// artifact version. The registration row is locked first, so concurrent uploads to one
    /// model take turns and a concurrent delete either waits or wins (then `None`).
    pub(crate) async fn commit_artifact(
        &self,
        new: NewArtifact,
        actor: &Actor,
    ) -> Result<Option<(Artifact, ModelIdentity)>> {
        let size_bytes = i64::try_from(new.size_bytes)
            .map_err(|_| Error::Internal("an artifact size beyond i64".into()))?;
        let txn = self.begin_write().await?;
        let committed = async {
            let Some(model) = lock_registration(&txn, new.registration_id).await? else {
                return Ok(None);
            };
            let sequence = next_sequence(&txn, new.registration_id).await?;
            let current = ArtifactVersion::stored(model.artifact_version.clone());
            let record = artifact::Model {
                id: new.id,
                model_related_information_id: new.registration_id.uuid(),
                sequence,
                artifact_version: ArtifactVersion::next(&current, sequence).into_string(),
                object_key: new.object_key,
                size_bytes,
                sha256: new.sha256,
                filename: new.filename,
                content_type: new.content_type,
                create_time: rows::now(),
                external: false,
            };
            let identity = rows::identity(&model);
            let (artifact, _) = record_artifact(&txn, model, record, actor).await?;
            Ok(Some((artifact, identity)))
        }
        .await;
        let committed = settle(txn, committed).await?;
        if committed.is_some() {
            self.appended();
        }
        Ok(committed)
    }

    /// Records `version`, declared by a client that stored the bytes elsewhere, as the
    /// registration's next artifact. Declaring the current version again changes nothing (a
    /// retried pipeline step is safe); a lower one is refused. `None` when the registration
    /// is gone.
    pub(crate) async fn declare_artifact(
        &self,
        registration_id: RegistrationId,
        version: ArtifactVersion,
        actor: &Actor,
    ) -> Result<Option<Declared>> {
        let txn = self.begin_write().await?;
        let declared = async {
            let Some(model) = lock_registration(&txn, registration_id).await? else {
                return Ok(None);
            };
            let current = ArtifactVersion::stored(model.artifact_version.clone());
            if current == version {
                let registration = children::attach_one(&txn, model).await?;
                return Ok(Some(Declared {
                    registration,
                    recorded: false,
                }));
            }
            let registration = declared_record(&txn, model, &current, version, actor).await?;
            Ok(Some(Declared {
                registration,
                recorded: true,
            }))
        }
        .await;
        let declared = settle(txn, declared).await?;
        if declared.as_ref().is_some_and(|declared| declared.recorded) {
            self.appended();
        }
        Ok(declared)
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
async fn next_sequence(txn: &DatabaseTransaction, registration_id: RegistrationId) -> Result<i64> {
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

/// Records `version`, declared for bytes stored elsewhere, as the next artifact of the locked
/// registration row `model` whose artifact version is `current` (another one): refused when
/// it is lower.
pub(super) async fn declared_record(
    txn: &DatabaseTransaction,
    model: registration::Model,
    current: &ArtifactVersion,
    version: ArtifactVersion,
    actor: &Actor,
) -> Result<Registration> {
    if current.numbers() > version.numbers() {
        return Err(Error::ArtifactVersionBackwards {
            id: model.id.to_string(),
            given: version.into_string(),
            current: current.as_str().to_owned(),
        });
    }
    let registration_id = RegistrationId::from_uuid(model.id);
    let record = artifact::Model {
        id: uuid::Uuid::now_v7(),
        model_related_information_id: model.id,
        sequence: next_sequence(txn, registration_id).await?,
        artifact_version: version.into_string(),
        object_key: String::new(),
        size_bytes: 0,
        sha256: String::new(),
        filename: String::new(),
        content_type: String::new(),
        create_time: rows::now(),
        external: true,
    };
    let (_, registration) = record_artifact(txn, model, record, actor).await?;
    Ok(registration)
}

/// Inserts an artifact record, makes its version the registration's (new etag and update
/// time) and appends the `ARTIFACT_STORED` event, in the caller's transaction, on the locked
/// registration row `model`.
async fn record_artifact(
    txn: &DatabaseTransaction,
    model: registration::Model,
    record: artifact::Model,
    actor: &Actor,
) -> Result<(Artifact, Registration)> {
    artifact::Entity::insert(record.clone().into_active_model())
        .exec_without_returning(txn)
        .await?;
    let etag_before = Etag::stored(model.etag.clone());
    let mut row = model.into_active_model();
    row.artifact_version = Set(record.artifact_version.clone());
    row.etag = Set(Etag::generate().as_str().to_owned());
    row.update_time = Set(record.create_time);
    let updated = row.update(txn).await?;
    let after = children::attach_one(txn, updated).await?;
    let event = NewEvent {
        kind: EventType::ArtifactStored,
        time: record.create_time,
        registration: &after,
        etag_before: Some(&etag_before),
        actor,
        alias: None,
    };
    append(txn, event).await?;
    Ok((rows::artifact(record), after))
}
