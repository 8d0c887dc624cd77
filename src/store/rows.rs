//! Stored rows ⇄ domain types. Rows are made and read here and nowhere above the store.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DbBackend, DbErr, IntoActiveModel, Value};
use uuid::Uuid;

use super::children::Tags;
use super::entity::model_artifact as artifact;
use super::entity::model_related_information::{self as registration, DataTypes};
use super::entity::target_environment as environment;
use super::search_terms;
use crate::domain::{
    Artifact, ArtifactRecord, ArtifactVersion, DataTypeSpelling, Etag, ModelFields, ModelIdentity,
    ModelName, ModelSpec, ModelVersion, Registration, RegistrationId, RequestId, TargetEnvironment,
};

/// A point in time as a statement's parameter. MySQL would take a `DateTime<Utc>` for a
/// TIMESTAMP, which ends in 2038 (a later bound compares as false): there it is the UTC
/// DATETIME its columns hold.
pub(super) fn time_value(time: DateTime<Utc>, backend: DbBackend) -> Value {
    if backend == DbBackend::MySql {
        Value::from(time.naive_utc())
    } else {
        Value::from(time)
    }
}

/// The parent row of a new registration.
pub(super) fn new_registration_row(
    registration: &Registration,
    request_id: Option<&RequestId>,
) -> registration::Model {
    let spec = &registration.spec;
    registration::Model {
        id: registration.id.uuid(),
        model_name: spec.name.as_str().to_owned(),
        model_version: spec.version.as_str().to_owned(),
        artifact_version: registration.artifact_version.as_str().to_owned(),
        description: spec.description.to_owned(),
        model_location: spec.location.as_deref().map(str::to_owned),
        author: spec.author.to_owned(),
        owner: spec.owner.as_deref().map(str::to_owned),
        input_data_type: DataTypes(spec.input_data_type.to_vec()),
        output_data_type: DataTypes(spec.output_data_type.to_vec()),
        input_data_type_text: spec.data_type_spelling.input.clone(),
        output_data_type_text: spec.data_type_spelling.output.clone(),
        request_id: request_id.map(|id| id.as_str().to_owned()),
        etag: registration.etag.as_str().to_owned(),
        create_time: registration.create_time,
        update_time: registration.update_time,
        search_terms: search_terms::of(spec),
    }
}

/// The parent row of a registration that a change left as `after`: every column a change may
/// write is set.
pub(super) fn revised_row(
    row: registration::Model,
    after: &Registration,
) -> registration::ActiveModel {
    let spec = &after.spec;
    let mut active = row.into_active_model();
    active.description = Set(spec.description.to_owned());
    active.model_location = Set(spec.location.as_deref().map(str::to_owned));
    active.author = Set(spec.author.to_owned());
    active.owner = Set(spec.owner.as_deref().map(str::to_owned));
    active.input_data_type = Set(DataTypes(spec.input_data_type.to_vec()));
    active.output_data_type = Set(DataTypes(spec.output_data_type.to_vec()));
    active.input_data_type_text = Set(spec.data_type_spelling.input.clone());
    active.output_data_type_text = Set(spec.data_type_spelling.output.clone());
    active.artifact_version = Set(after.artifact_version.as_str().to_owned());
    active.etag = Set(after.etag.as_str().to_owned());
    active.update_time = Set(after.update_time);
    active.search_terms = Set(search_terms::of(spec));
    active
}

/// The row of an artifact record of the registration `parent`.
pub(super) fn artifact_row(
    parent: RegistrationId,
    record: &ArtifactRecord,
) -> Result<artifact::ActiveModel, DbErr> {
    let artifact = &record.artifact;
    let size_bytes = i64::try_from(artifact.size_bytes)
        .map_err(|_| DbErr::Custom("an artifact size beyond i64".into()))?;
    let row = artifact::Model {
        id: record.id,
        model_related_information_id: parent.uuid(),
        sequence: artifact.sequence,
        artifact_version: artifact.version.as_str().to_owned(),
        object_key: artifact.object_key.clone(),
        size_bytes,
        sha256: artifact.sha256.clone(),
        filename: artifact.filename.clone(),
        content_type: artifact.content_type.clone(),
        create_time: artifact.create_time,
        external: artifact.external,
    };
    Ok(row.into_active_model())
}

/// The rows of a registration's environments, positioned in list order.
pub(super) fn environment_rows(
    parent: RegistrationId,
    environments: &[TargetEnvironment],
) -> Vec<environment::Model> {
    environments
        .iter()
        .zip(0..)
        .map(|(env, position)| environment::Model {
            id: Uuid::now_v7(),
            model_related_information_id: parent.uuid(),
            position,
            platform_name: env.platform_name.to_owned(),
            environment_type: env.environment_type.to_owned(),
            dependency_list: env.dependency_list.to_owned(),
        })
        .collect()
}

/// A registration from its parent row, its environment rows in list order, and its labels and
/// aliases.
pub(super) fn registration(
    row: registration::Model,
    environments: Vec<environment::Model>,
    tags: Tags,
) -> Registration {
    let registration::Model {
        id,
        model_name,
        model_version,
        artifact_version,
        description,
        model_location,
        author,
        owner,
        input_data_type,
        output_data_type,
        input_data_type_text,
        output_data_type_text,
        request_id: _,
        search_terms: _,
        etag,
        create_time,
        update_time,
    } = row;
    let spec = ModelSpec::stored(ModelFields {
        name: ModelName::stored(model_name),
        version: ModelVersion::stored(model_version),
        description,
        location: model_location,
        author,
        owner,
        input_data_type: input_data_type.0,
        output_data_type: output_data_type.0,
        target_environments: environments
            .into_iter()
            .map(|env| TargetEnvironment {
                platform_name: env.platform_name,
                environment_type: env.environment_type,
                dependency_list: env.dependency_list,
            })
            .collect(),
        labels: tags.labels,
        data_type_spelling: DataTypeSpelling {
            input: input_data_type_text,
            output: output_data_type_text,
        },
    });
    Registration {
        id: RegistrationId::from_uuid(id),
        spec,
        artifact_version: ArtifactVersion::stored(artifact_version),
        etag: Etag::stored(etag),
        create_time,
        update_time,
        aliases: tags.aliases,
    }
}

pub(super) fn identity(row: &registration::Model) -> ModelIdentity {
    ModelIdentity {
        id: RegistrationId::from_uuid(row.id),
        name: ModelName::stored(row.model_name.clone()),
        version: ModelVersion::stored(row.model_version.clone()),
    }
}

pub(super) fn artifact(row: artifact::Model) -> Artifact {
    let artifact::Model {
        id: _,
        model_related_information_id: _,
        sequence,
        artifact_version,
        object_key,
        size_bytes,
        sha256,
        filename,
        content_type,
        create_time,
        external,
    } = row;
    Artifact {
        sequence,
        version: ArtifactVersion::stored(artifact_version),
        object_key,
        // Written from a u64 that fits in i64 (see `artifact_row`).
        size_bytes: size_bytes as u64,
        sha256,
        filename,
        content_type,
        create_time,
        external,
    }
}
