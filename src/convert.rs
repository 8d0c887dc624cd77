//! Conversions between proto messages and stored rows, in both directions.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{ModelSpec, TargetEnvironmentSpec};
use crate::pb;
use crate::store::Registration;
use crate::store::entity::model_artifact;
use crate::store::entity::model_related_information::{self, DataTypes};
use crate::store::entity::target_environment;

/// What the server assigns to a new registration.
pub struct Assigned {
    pub id: Uuid,
    pub artifact_version: String,
    pub request_id: Option<String>,
    pub etag: String,
    pub time: DateTime<Utc>,
}

/// The rows of a new registration: the validated content plus what the server assigned.
pub fn new_registration(spec: ModelSpec, assigned: Assigned) -> Registration {
    let target_environments = environment_rows(assigned.id, &spec.target_environments);
    Registration {
        model: model_related_information::Model {
            id: assigned.id,
            model_name: spec.model_name,
            model_version: spec.model_version,
            artifact_version: assigned.artifact_version,
            description: spec.description,
            model_location: spec.model_location,
            author: spec.author,
            owner: spec.owner,
            input_data_type: DataTypes(spec.input_data_type),
            output_data_type: DataTypes(spec.output_data_type),
            request_id: assigned.request_id,
            etag: assigned.etag,
            create_time: assigned.time,
            update_time: assigned.time,
        },
        target_environments,
    }
}

/// The rows of a registration's environments, positioned in list order.
pub fn environment_rows(
    parent: Uuid,
    environments: &[TargetEnvironmentSpec],
) -> Vec<target_environment::Model> {
    environments
        .iter()
        .zip(0..)
        .map(|(env, position)| target_environment::Model {
            id: Uuid::now_v7(),
            model_related_information_id: parent,
            position,
            platform_name: env.platform_name.clone(),
            environment_type: env.environment_type.clone(),
            dependency_list: env.dependency_list.clone(),
        })
        .collect()
}

/// The API form of a stored registration. Row ids of environments never leave the store.
pub fn registration_to_proto(registration: &Registration) -> pb::ModelRelatedInformation {
    let model = &registration.model;
    pb::ModelRelatedInformation {
        model_registration_id: model.id.to_string(),
        model_id: Some(pb::ModelId {
            model_name: model.model_name.clone(),
            model_version: model.model_version.clone(),
            artifact_version: model.artifact_version.clone(),
        }),
        description: model.description.clone(),
        model_information: Some(pb::ModelInformation {
            metadata: Some(pb::Metadata {
                author: model.author.clone(),
                owner: model.owner.clone().unwrap_or_default(),
            }),
            input_data_type: model.input_data_type.0.clone(),
            output_data_type: model.output_data_type.0.clone(),
            target_environment: registration
                .target_environments
                .iter()
                .map(|env| pb::TargetEnvironment {
                    platform_name: env.platform_name.clone(),
                    environment_type: env.environment_type.clone(),
                    dependency_list: env.dependency_list.clone(),
                })
                .collect(),
        }),
        model_location: model.model_location.clone().unwrap_or_default(),
        create_time: Some(timestamp(model.create_time)),
        update_time: Some(timestamp(model.update_time)),
        etag: model.etag.clone(),
    }
}

/// An artifact record of `model` as the API shows it.
pub fn artifact_to_proto(
    artifact: &model_artifact::Model,
    model: &model_related_information::Model,
) -> pb::ArtifactInfo {
    pb::ArtifactInfo {
        model_registration_id: model.id.to_string(),
        model_id: Some(pb::ModelId {
            model_name: model.model_name.clone(),
            model_version: model.model_version.clone(),
            artifact_version: artifact.artifact_version.clone(),
        }),
        artifact_version: artifact.artifact_version.clone(),
        size_bytes: artifact.size_bytes as u64,
        sha256: artifact.sha256.clone(),
        filename: artifact.filename.clone(),
        content_type: artifact.content_type.clone(),
        create_time: Some(timestamp(artifact.create_time)),
    }
}

pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn spec() -> ModelSpec {
        ModelSpec {
            model_name: "qoe".into(),
            model_version: "2".into(),
            description: "d".into(),
            model_location: None,
            author: "alice".into(),
            owner: Some("ran-team".into()),
            input_data_type: vec!["a,b".into(), "c".into()],
            output_data_type: vec!["q".into()],
            target_environments: vec![
                TargetEnvironmentSpec {
                    platform_name: "kserve".into(),
                    environment_type: "onnx".into(),
                    dependency_list: "x,y".into(),
                },
                TargetEnvironmentSpec {
                    platform_name: "triton".into(),
                    environment_type: "tensorrt".into(),
                    dependency_list: "z".into(),
                },
            ],
        }
    }

    fn stored(spec: &ModelSpec) -> Registration {
        let time = Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap();
        let mut registration = new_registration(
            spec.clone(),
            Assigned {
                id: Uuid::now_v7(),
                artifact_version: "0.0.0".into(),
                request_id: Some("retry-key".into()),
                etag: "e1".into(),
                time,
            },
        );
        registration.model.update_time = time + chrono::Duration::microseconds(1_500_001);
        registration
    }

    #[test]
    fn environment_rows_keep_list_order_and_parent() {
        let parent = Uuid::now_v7();
        let rows = environment_rows(parent, &spec().target_environments);
        assert_eq!(rows.iter().map(|r| r.position).collect::<Vec<_>>(), [0, 1]);
        assert!(
            rows.iter()
                .all(|r| r.model_related_information_id == parent)
        );
        assert_ne!(rows[0].id, rows[1].id);
    }

    #[test]
    fn stored_registration_round_trips_through_proto() {
        let spec = spec();
        let registration = stored(&spec);
        let proto = registration_to_proto(&registration);
        assert_eq!(
            proto.model_registration_id,
            registration.model.id.to_string()
        );
        assert_eq!(proto.model_id.as_ref().unwrap().artifact_version, "0.0.0");
        assert_eq!(proto.etag, "e1");
        let update_time = proto.update_time.unwrap();
        assert_eq!(update_time.nanos, 500_001_000);
        assert_eq!(
            ModelSpec::parse(&proto, "m").unwrap(),
            spec,
            "proto -> spec gives back what was stored"
        );
    }
}
