//! The resource as each REST profile answers it. `r1ap` is the standard's JSON
//! (`resource::ModelRelatedInformation`); `aimlfw` is that same projection reshaped, member for
//! member, into the Go model management service's resource, which AIMLFW's training manager,
//! pipelines and component tests read: `id` for the registration id, every optional string
//! present (`""` when empty), data types as the string the client sent (`"c, d"` keeps its
//! space; arrays are joined with `,`), and no members the Go service did not have (times,
//! etag, labels and aliases; the etag stays in the `ETag` header).

use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;

use super::resource::{DataTypes, ModelRelatedInformation, TargetEnvironment};
use crate::config::RestProfile;
use crate::domain::{DataTypeSpelling, Encoding, Held, Registration};

/// A registered model as the Go model management service answered it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoModelRelatedInformation {
    /// The registration id (`modelRegistrationId` under the standard's profile).
    pub(crate) id: String,
    pub(crate) model_id: GoModelId,
    pub(crate) description: String,
    pub(crate) model_information: GoModelInformation,
    /// Where the model can be fetched from; `""` when unknown.
    pub(crate) model_location: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoModelId {
    pub(crate) model_name: String,
    pub(crate) model_version: String,
    /// `0.0.0` until an artifact is stored or declared.
    pub(crate) artifact_version: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GoModelInformation {
    pub(crate) metadata: GoMetadata,
    /// Data type ids separated by commas, exactly as the client sent them.
    pub(crate) input_data_type: String,
    /// Data type ids separated by commas, exactly as the client sent them.
    pub(crate) output_data_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) target_environment: Vec<TargetEnvironment>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct GoMetadata {
    pub(crate) author: String,
    /// `""` when none.
    pub(crate) owner: String,
}

/// What a registration answers under `aimlfw`: `201 {"modelInfo": …}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Registered {
    pub(crate) model_info: GoModelRelatedInformation,
}

/// What a replacement and `updateArtifact` answer under `aimlfw`: `200 {"modelinfo": …}`
/// (lowercase, as the Go service wrote it).
#[derive(Serialize, ToSchema)]
pub(crate) struct Updated {
    pub(crate) modelinfo: GoModelRelatedInformation,
}

impl GoModelRelatedInformation {
    pub(crate) fn of(registration: &Registration) -> Self {
        Self::reshape(
            ModelRelatedInformation::of(registration),
            &registration.spec.data_type_spelling,
        )
    }

    /// The standard's resource in the Go service's shape.
    fn reshape(standard: ModelRelatedInformation, spelling: &DataTypeSpelling) -> Self {
        let model_id = standard.model_id.unwrap_or_default();
        let information = standard.model_information.unwrap_or_default();
        let metadata = information.metadata.unwrap_or_default();
        Self {
            id: standard.model_registration_id,
            model_id: GoModelId {
                model_name: model_id.model_name,
                model_version: model_id.model_version,
                artifact_version: model_id.artifact_version,
            },
            description: standard.description,
            model_information: GoModelInformation {
                metadata: GoMetadata {
                    author: metadata.author,
                    owner: metadata.owner,
                },
                input_data_type: spelled(information.input_data_type, &spelling.input),
                output_data_type: spelled(information.output_data_type, &spelling.output),
                target_environment: information.target_environment,
            },
            model_location: standard.model_location,
        }
    }
}

/// Data types as the client spelled them, else joined with commas.
fn spelled(ids: DataTypes, spelling: &Option<String>) -> String {
    if let Some(spelling) = spelling {
        return spelling.clone();
    }
    match ids {
        DataTypes::None => String::new(),
        DataTypes::Ids(ids) => ids.join(","),
        DataTypes::Joined(joined) => joined,
    }
}

/// A registration's JSON under `profile`, made once while the read cache holds it.
pub(crate) fn held_json(profile: RestProfile, held: &Held) -> &[u8] {
    let encoding = match profile {
        RestProfile::R1ap => Encoding::R1apJson,
        RestProfile::Aimlfw => Encoding::AimlfwJson,
    };
    held.encoded(encoding, |registration| {
        Bytes::from(resource_json(profile, registration))
    })
}

/// A registration's JSON under `profile`.
pub(crate) fn resource_json(profile: RestProfile, registration: &Registration) -> String {
    match profile {
        RestProfile::R1ap => serde_json::to_string(&ModelRelatedInformation::of(registration)),
        RestProfile::Aimlfw => serde_json::to_string(&GoModelRelatedInformation::of(registration)),
    }
    .expect("a registration serializes")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{ModelDraft, ModelSpec};

    fn standard(input: serde_json::Value, owner: &str, location: &str) -> ModelRelatedInformation {
        serde_json::from_value(json!({
            "modelRegistrationId": "0193a1a0-0000-7000-8000-000000000001",
            "modelId": {"modelName": "qoe", "modelVersion": "1", "artifactVersion": "1.0.0"},
            "description": "QoE",
            "modelInformation": {
                "metadata": {"author": "alice", "owner": owner},
                "inputDataType": input,
                "outputDataType": ["qoe"],
            },
            "modelLocation": location,
            "createTime": "2026-12-07T00:00:00Z",
            "etag": "abc",
            "labels": {"team": "ran"},
        }))
        .unwrap()
    }

    #[test]
    fn the_go_shape_has_the_go_members_and_empty_strings() {
        let go = GoModelRelatedInformation::reshape(
            standard(json!(["a", "b"]), "", ""),
            &DataTypeSpelling::default(),
        );
        assert_eq!(
            serde_json::to_value(&go).unwrap(),
            json!({
                "id": "0193a1a0-0000-7000-8000-000000000001",
                "modelId": {"modelName": "qoe", "modelVersion": "1", "artifactVersion": "1.0.0"},
                "description": "QoE",
                "modelInformation": {
                    "metadata": {"author": "alice", "owner": ""},
                    "inputDataType": "a,b",
                    "outputDataType": "qoe",
                },
                "modelLocation": "",
            })
        );
    }

    #[test]
    fn data_types_keep_the_spelling_the_client_sent() {
        let spelling = DataTypeSpelling {
            input: Some("a, b".to_owned()),
            output: None,
        };
        let go = GoModelRelatedInformation::reshape(
            standard(json!(["a", "b"]), "bob", "s3://m/qoe.zip"),
            &spelling,
        );
        assert_eq!(go.model_information.input_data_type, "a, b");
        assert_eq!(go.model_information.metadata.owner, "bob");
        assert_eq!(go.model_location, "s3://m/qoe.zip");
    }

    #[test]
    fn a_spelling_survives_the_domain_only_while_it_spells_the_ids() {
        let parse = |input: serde_json::Value| {
            let resource = standard(input, "", "");
            ModelSpec::parse(ModelDraft {
                model_id: resource.model_id.clone().map(|id| id.into_draft()),
                ..resource.into_draft()
            })
            .unwrap()
        };
        let spelled = parse(json!("c, d"));
        assert_eq!(spelled.input_data_type, ["c", "d"]);
        assert_eq!(spelled.data_type_spelling.input.as_deref(), Some("c, d"));
        assert_eq!(parse(json!(["c", "d"])).data_type_spelling.input, None);
        // Changed by other means (a gRPC update): the old spelling goes.
        let mut draft = spelled.to_draft();
        draft.model_information.as_mut().unwrap().input_data_type = vec!["e".into()];
        let changed = ModelSpec::parse(draft).unwrap();
        assert_eq!(changed.data_type_spelling.input, None);
    }
}
