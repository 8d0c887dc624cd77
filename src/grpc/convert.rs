//! Proto messages ⇄ domain types. Messages are destructured field by field, so that a field
//! added to the proto breaks the build here until it is handled.

use chrono::{DateTime, Utc};

use crate::domain::{
    Artifact, EnvironmentDraft, InformationDraft, MetadataDraft, ModelDraft, ModelIdDraft,
    ModelIdentity, Registration, SelectorDraft, UploadDraft, VersionOrAlias,
};
use crate::pb;
use crate::registry::StoredArtifact;

/// The content of a resource as the client sent it. Output-only fields are ignored.
pub(super) fn model_draft(info: pb::ModelRelatedInformation) -> ModelDraft {
    let pb::ModelRelatedInformation {
        model_registration_id: _,
        model_id,
        description,
        model_information,
        model_location,
        create_time: _,
        update_time: _,
        etag: _,
        labels,
        aliases: _,
    } = info;
    ModelDraft {
        model_id: model_id.map(model_id_draft),
        description,
        model_location,
        model_information: model_information.map(information_draft),
        labels,
    }
}

pub(super) fn selector_draft(selector: pb::ModelSelector) -> SelectorDraft {
    use pb::model_selector::VersionOrAlias as Given;
    let pb::ModelSelector {
        model_name,
        version_or_alias,
    } = selector;
    SelectorDraft {
        model_name,
        version_or_alias: version_or_alias.map(|given| match given {
            Given::ModelVersion(version) => VersionOrAlias::Version(version),
            Given::Alias(alias) => VersionOrAlias::Alias(alias),
        }),
    }
}

pub(super) fn model_id_draft(model_id: pb::ModelId) -> ModelIdDraft {
    let pb::ModelId {
        model_name,
        model_version,
        artifact_version: _,
    } = model_id;
    ModelIdDraft {
        model_name,
        model_version,
    }
}

pub(super) fn information_draft(information: pb::ModelInformation) -> InformationDraft {
    let pb::ModelInformation {
        metadata,
        input_data_type,
        output_data_type,
        target_environment,
    } = information;
    InformationDraft {
        metadata: metadata.map(metadata_draft),
        input_data_type,
        output_data_type,
        target_environment: target_environment
            .into_iter()
            .map(environment_draft)
            .collect(),
        spelling: Default::default(),
    }
}

pub(super) fn metadata_draft(metadata: pb::Metadata) -> MetadataDraft {
    let pb::Metadata { author, owner } = metadata;
    MetadataDraft { author, owner }
}

pub(super) fn environment_draft(environment: pb::TargetEnvironment) -> EnvironmentDraft {
    let pb::TargetEnvironment {
        platform_name,
        environment_type,
        dependency_list,
    } = environment;
    EnvironmentDraft {
        platform_name,
        environment_type,
        dependency_list,
    }
}

pub(super) fn upload_draft(header: pb::ArtifactHeader) -> UploadDraft {
    let pb::ArtifactHeader {
        model_registration_id,
        model_id,
        sha256,
        size_bytes,
        filename,
        content_type,
    } = header;
    UploadDraft {
        model_registration_id,
        model_id: model_id.map(model_id_draft),
        sha256,
        size_bytes,
        filename,
        content_type,
    }
}

/// The API form of a registration.
pub(super) fn registration(registration: &Registration) -> pb::ModelRelatedInformation {
    let Registration {
        id,
        spec,
        artifact_version,
        etag,
        create_time,
        update_time,
        aliases,
    } = registration;
    pb::ModelRelatedInformation {
        model_registration_id: id.to_string(),
        model_id: Some(pb::ModelId {
            model_name: spec.name.to_string(),
            model_version: spec.version.to_string(),
            artifact_version: artifact_version.as_str().to_owned(),
        }),
        description: spec.description.to_owned(),
        model_information: Some(pb::ModelInformation {
            metadata: Some(pb::Metadata {
                author: spec.author.to_owned(),
                owner: spec.owner.as_deref().unwrap_or_default().to_owned(),
            }),
            input_data_type: spec.input_data_type.to_vec(),
            output_data_type: spec.output_data_type.to_vec(),
            target_environment: spec
                .target_environments
                .iter()
                .map(|env| pb::TargetEnvironment {
                    platform_name: env.platform_name.to_owned(),
                    environment_type: env.environment_type.to_owned(),
                    dependency_list: env.dependency_list.to_owned(),
                })
                .collect(),
        }),
        model_location: spec.location.as_deref().unwrap_or_default().to_owned(),
        create_time: Some(timestamp(*create_time)),
        update_time: Some(timestamp(*update_time)),
        etag: etag.as_str().to_owned(),
        labels: spec.labels.clone(),
        aliases: aliases.iter().map(ToString::to_string).collect(),
    }
}

/// An artifact of `model` as the API shows it.
pub(super) fn artifact_info(model: &ModelIdentity, artifact: &Artifact) -> pb::ArtifactInfo {
    let Artifact {
        sequence: _,
        version,
        object_key: _,
        size_bytes,
        sha256,
        filename,
        content_type,
        create_time,
        external,
    } = artifact;
    pb::ArtifactInfo {
        model_registration_id: model.id.to_string(),
        model_id: Some(pb::ModelId {
            model_name: model.name.to_string(),
            model_version: model.version.to_string(),
            artifact_version: version.as_str().to_owned(),
        }),
        artifact_version: version.as_str().to_owned(),
        size_bytes: *size_bytes,
        sha256: sha256.clone(),
        filename: filename.clone(),
        content_type: content_type.clone(),
        create_time: Some(timestamp(*create_time)),
        external: *external,
    }
}

pub(super) fn stored_artifact(stored: &StoredArtifact) -> pb::ArtifactInfo {
    artifact_info(&stored.model, &stored.artifact)
}

pub(super) fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}
