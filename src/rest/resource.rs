//! The JSON of the REST API: R1AP's `ModelRelatedInformation` exactly as proto3's JSON mapping
//! writes the gRPC resource (lowerCamelCase names, empty fields left out, RFC 3339 times), so
//! one document works on both front-ends. Input is read as proto3 JSON parsers read it (the
//! proto field names are accepted too), and data types may also come as one comma-separated
//! string, as the Go service's clients send them; the string is kept as it was spelled (the
//! `aimlfw` profile answers it), and the standard's answers carry arrays. Unknown members are
//! found by `request::resource_body`, which refuses or ignores them as the profile says.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::domain::{
    DataTypeSpelling, EnvironmentDraft, InformationDraft, MetadataDraft, ModelDraft, ModelIdDraft,
    Registration, split_data_types,
};

/// A registered model (R1AP `ModelRelatedInformation`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelRelatedInformation {
    /// Assigned by the registry. (`id`, the Go service's name for it, is read too.)
    #[serde(
        default,
        alias = "model_registration_id",
        alias = "id",
        skip_serializing_if = "String::is_empty"
    )]
    #[schema(read_only)]
    pub(crate) model_registration_id: String,
    #[serde(default, alias = "model_id", skip_serializing_if = "Option::is_none")]
    #[schema(required = true, value_type = ModelId)]
    pub(crate) model_id: Option<ModelId>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(required = true, min_length = 1, max_length = 10000)]
    pub(crate) description: String,
    #[serde(
        default,
        alias = "model_information",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(required = true, value_type = ModelInformation)]
    pub(crate) model_information: Option<ModelInformation>,
    /// Where the model can be fetched from (a URI).
    #[serde(
        default,
        alias = "model_location",
        skip_serializing_if = "String::is_empty"
    )]
    #[schema(max_length = 2048)]
    pub(crate) model_location: String,
    #[serde(
        default,
        alias = "create_time",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(read_only, value_type = Option<String>, format = DateTime)]
    pub(crate) create_time: Option<String>,
    #[serde(
        default,
        alias = "update_time",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(read_only, value_type = Option<String>, format = DateTime)]
    pub(crate) update_time: Option<String>,
    /// The version of the resource; also in the `ETag` header. On a `PUT` without `If-Match`,
    /// a stale etag fails with 412.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) etag: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) labels: BTreeMap<String, String>,
    /// Names that point at this version of the model (set over gRPC).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(read_only)]
    pub(crate) aliases: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelId {
    #[serde(
        default,
        alias = "model_name",
        skip_serializing_if = "String::is_empty"
    )]
    #[schema(required = true, min_length = 1, max_length = 255)]
    pub(crate) model_name: String,
    #[serde(
        default,
        alias = "model_version",
        skip_serializing_if = "String::is_empty"
    )]
    #[schema(required = true, min_length = 1, max_length = 255)]
    pub(crate) model_version: String,
    /// `0.0.0` until an artifact is stored; assigned by the registry.
    #[serde(
        default,
        alias = "artifact_version",
        skip_serializing_if = "String::is_empty"
    )]
    #[schema(read_only)]
    pub(crate) artifact_version: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelInformation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = true, value_type = Metadata)]
    pub(crate) metadata: Option<Metadata>,
    #[serde(default, alias = "input_data_type")]
    #[schema(required = true, schema_with = data_types_schema)]
    pub(crate) input_data_type: DataTypes,
    #[serde(default, alias = "output_data_type")]
    #[schema(required = true, schema_with = data_types_schema)]
    pub(crate) output_data_type: DataTypes,
    #[serde(
        default,
        alias = "target_environment",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schema(max_items = 100)]
    pub(crate) target_environment: Vec<TargetEnvironment>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Metadata {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(required = true, min_length = 1, max_length = 255)]
    pub(crate) author: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) owner: String,
}

/// Where the model can run.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TargetEnvironment {
    #[serde(
        default,
        alias = "platform_name",
        skip_serializing_if = "String::is_empty"
    )]
    #[schema(required = true, min_length = 1, max_length = 255)]
    pub(crate) platform_name: String,
    #[serde(
        default,
        alias = "environment_type",
        skip_serializing_if = "String::is_empty"
    )]
    #[schema(required = true, min_length = 1, max_length = 255)]
    pub(crate) environment_type: String,
    #[serde(
        default,
        alias = "dependency_list",
        skip_serializing_if = "String::is_empty"
    )]
    #[schema(required = true, min_length = 1, max_length = 4096)]
    pub(crate) dependency_list: String,
}

/// Data type ids as the client sent them: an array, or one comma-separated string
/// (`"pdcpBytesDl,pdcpBytesUl"`) whose spelling is kept.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(untagged)]
pub(crate) enum DataTypes {
    #[default]
    None,
    Ids(Vec<String>),
    Joined(String),
}

/// `null` is none.
impl<'de> Deserialize<'de> for DataTypes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            Joined(String),
            Many(Vec<String>),
        }
        Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
            None => DataTypes::None,
            Some(OneOrMany::Many(ids)) => DataTypes::Ids(ids),
            Some(OneOrMany::Joined(joined)) => DataTypes::Joined(joined),
        })
    }
}

/// Data type ids in a JSON value, as an array or a comma-separated string; `null` is none.
pub(crate) fn data_types(value: serde_json::Value) -> Result<Vec<String>, serde_json::Error> {
    Ok(DataTypes::deserialize(value)?.into_parts().0)
}

impl DataTypes {
    /// The ids, and the spelling when they came as one string.
    fn into_parts(self) -> (Vec<String>, Option<String>) {
        match self {
            DataTypes::None => (Vec::new(), None),
            DataTypes::Ids(ids) => (ids, None),
            DataTypes::Joined(joined) => (split_data_types(&joined), Some(joined)),
        }
    }
}

fn data_types_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "Data type ids separated by commas; answers carry arrays.",
                )),
        )
        .into()
}

impl ModelRelatedInformation {
    /// The model as the client wrote it; output-only fields are ignored.
    pub(crate) fn into_draft(self) -> ModelDraft {
        ModelDraft {
            model_id: self.model_id.map(ModelId::into_draft),
            description: self.description,
            model_location: self.model_location,
            model_information: self.model_information.map(ModelInformation::into_draft),
            labels: self.labels,
        }
    }

    pub(crate) fn of(registration: &Registration) -> Self {
        let Registration {
            id,
            spec,
            artifact_version,
            etag,
            create_time,
            update_time,
            aliases,
        } = registration;
        Self {
            model_registration_id: id.to_string(),
            model_id: Some(ModelId {
                model_name: spec.name.to_string(),
                model_version: spec.version.to_string(),
                artifact_version: artifact_version.as_str().to_owned(),
            }),
            description: spec.description.to_owned(),
            model_information: Some(ModelInformation {
                metadata: Some(Metadata {
                    author: spec.author.to_owned(),
                    owner: spec.owner.as_deref().unwrap_or_default().to_owned(),
                }),
                input_data_type: DataTypes::Ids(spec.input_data_type.to_vec()),
                output_data_type: DataTypes::Ids(spec.output_data_type.to_vec()),
                target_environment: spec
                    .target_environments
                    .iter()
                    .map(|env| TargetEnvironment {
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
}

impl ModelId {
    pub(crate) fn into_draft(self) -> ModelIdDraft {
        ModelIdDraft {
            model_name: self.model_name,
            model_version: self.model_version,
        }
    }
}

impl ModelInformation {
    pub(crate) fn into_draft(self) -> InformationDraft {
        let (input_data_type, input) = self.input_data_type.into_parts();
        let (output_data_type, output) = self.output_data_type.into_parts();
        InformationDraft {
            metadata: self.metadata.map(Metadata::into_draft),
            input_data_type,
            output_data_type,
            target_environment: self
                .target_environment
                .into_iter()
                .map(TargetEnvironment::into_draft)
                .collect(),
            spelling: DataTypeSpelling { input, output },
        }
    }
}

impl Metadata {
    pub(crate) fn into_draft(self) -> MetadataDraft {
        MetadataDraft {
            author: self.author,
            owner: self.owner,
        }
    }
}

impl TargetEnvironment {
    pub(crate) fn into_draft(self) -> EnvironmentDraft {
        EnvironmentDraft {
            platform_name: self.platform_name,
            environment_type: self.environment_type,
            dependency_list: self.dependency_list,
        }
    }
}

/// A time as proto3's JSON mapping writes a `Timestamp`: RFC 3339 in UTC, with 0, 3, 6 or 9
/// fractional digits.
pub(crate) fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
