//! A valid model: `ModelSpec::parse` checks a whole draft and reports every violation at once,
//! with the path of each field inside the resource (`model_information.target_environment[1]…`).
//! A `Registration` is a model as the registry holds it, with what the server assigned.

use std::ops::Deref;

use chrono::{DateTime, Utc};

use super::check::Checker;
use super::draft::{
    DataTypeSpelling, EnvironmentDraft, InformationDraft, MetadataDraft, ModelDraft, ModelIdDraft,
    split_data_types,
};
use super::error::Result;
use super::labels::{Alias, Labels, check_labels};
use super::limits;
use super::names::{ArtifactVersion, Etag, ModelName, ModelVersion, RegistrationId};

/// The identifying and mutable content of a registration. Any value of it can be written;
/// only a `ModelSpec` holds one that is known to be valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModelFields {
    pub(crate) name: ModelName,
    pub(crate) version: ModelVersion,
    pub(crate) description: String,
    pub(crate) location: Option<String>,
    pub(crate) author: String,
    pub(crate) owner: Option<String>,
    pub(crate) input_data_type: Vec<String>,
    pub(crate) output_data_type: Vec<String>,
    pub(crate) target_environments: Vec<TargetEnvironment>,
    pub(crate) labels: Labels,
    /// How the client spelled the data types, if it sent strings.
    pub(crate) data_type_spelling: DataTypeSpelling,
}

/// A platform a model can run on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TargetEnvironment {
    pub(crate) platform_name: String,
    pub(crate) environment_type: String,
    pub(crate) dependency_list: String,
}

/// Valid model content, read through `Deref`: made by `parse`, which checks every rule, or by
/// `stored` for content the store wrote after parsing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModelSpec(ModelFields);

impl Deref for ModelSpec {
    type Target = ModelFields;

    fn deref(&self) -> &ModelFields {
        &self.0
    }
}

impl ModelSpec {
    /// Validates a draft. Every violation is reported, not only the first.
    pub(crate) fn parse(draft: ModelDraft) -> Result<Self> {
        let mut check = Checker::resource();
        let ModelDraft {
            model_id,
            description,
            model_location,
            model_information,
            labels,
        } = draft;

        let (name, version) = match &model_id {
            None => {
                check.violation("model_id", "is required");
                (None, None)
            }
            Some(ModelIdDraft {
                model_name,
                model_version,
            }) => (
                ModelName::parse(&mut check, "model_id.model_name", model_name),
                ModelVersion::parse(&mut check, "model_id.model_version", model_version),
            ),
        };
        check.required_text("description", &description, limits::DESCRIPTION_CHARS);
        check_location(&mut check, &model_location);
        check_labels(&mut check, "labels", &labels);

        let mut author = String::new();
        let mut owner = String::new();
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let mut environments = Vec::new();
        let mut spelling = DataTypeSpelling::default();
        match model_information {
            None => check.violation("model_information", "is required"),
            Some(InformationDraft {
                metadata,
                input_data_type,
                output_data_type,
                target_environment,
                spelling: given_spelling,
            }) => {
                match metadata {
                    None => check.violation("model_information.metadata", "is required"),
                    Some(MetadataDraft {
                        author: given_author,
                        owner: given_owner,
                    }) => {
                        check.required_text(
                            "model_information.metadata.author",
                            &given_author,
                            limits::NAME_CHARS,
                        );
                        check.max_chars(
                            "model_information.metadata.owner",
                            &given_owner,
                            limits::NAME_CHARS,
                        );
                        (author, owner) = (given_author, given_owner);
                    }
                }
                check_data_types(
                    &mut check,
                    "model_information.input_data_type",
                    &input_data_type,
                );
                check_data_types(
                    &mut check,
                    "model_information.output_data_type",
                    &output_data_type,
                );
                environments = parse_environments(&mut check, target_environment);
                spelling = DataTypeSpelling {
                    input: spelled(given_spelling.input, &input_data_type),
                    output: spelled(given_spelling.output, &output_data_type),
                };
                (inputs, outputs) = (input_data_type, output_data_type);
            }
        }
        let spec = match (name, version) {
            (Some(name), Some(version)) => Some(Self(ModelFields {
                name,
                version,
                description,
                location: non_empty(model_location),
                author,
                owner: non_empty(owner),
                input_data_type: inputs,
                output_data_type: outputs,
                target_environments: environments,
                labels,
                data_type_spelling: spelling,
            })),
            _ => None,
        };
        check.finish(spec)
    }

    /// Content the store wrote after parsing it, read back without validating it again
    /// (reads are the hot path).
    pub(crate) fn stored(fields: ModelFields) -> Self {
        Self(fields)
    }

    /// The model as a draft again, to apply changes to and parse anew.
    pub(crate) fn to_draft(&self) -> ModelDraft {
        ModelDraft {
            model_id: Some(ModelIdDraft {
                model_name: self.name.as_str().to_owned(),
                model_version: self.version.as_str().to_owned(),
            }),
            description: self.description.clone(),
            model_location: self.location.clone().unwrap_or_default(),
            model_information: Some(InformationDraft {
                metadata: Some(MetadataDraft {
                    author: self.author.clone(),
                    owner: self.owner.clone().unwrap_or_default(),
                }),
                input_data_type: self.input_data_type.clone(),
                output_data_type: self.output_data_type.clone(),
                target_environment: self
                    .target_environments
                    .iter()
                    .map(|env| EnvironmentDraft {
                        platform_name: env.platform_name.clone(),
                        environment_type: env.environment_type.clone(),
                        dependency_list: env.dependency_list.clone(),
                    })
                    .collect(),
                spelling: self.data_type_spelling.clone(),
            }),
            labels: self.labels.clone(),
        }
    }
}

/// A registered model: its content and what the server assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Registration {
    pub(crate) id: RegistrationId,
    pub(crate) spec: ModelSpec,
    pub(crate) artifact_version: ArtifactVersion,
    pub(crate) etag: Etag,
    pub(crate) create_time: DateTime<Utc>,
    pub(crate) update_time: DateTime<Utc>,
    /// The aliases that name this registration, in order. They are moved by their own calls
    /// and are not part of the etag.
    pub(crate) aliases: Vec<Alias>,
}

/// A spelling of data types, if it still spells `ids`: a change of the list by other means
/// (an array, a gRPC update) leaves no stale spelling behind.
fn spelled(spelling: Option<String>, ids: &[String]) -> Option<String> {
    spelling.filter(|text| split_data_types(text) == ids)
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

fn check_location(check: &mut Checker, value: &str) {
    let field = "model_location";
    if value.is_empty() || !check.max_chars(field, value, limits::LOCATION_CHARS) {
        return;
    }
    // An absolute URI is one with a scheme (RFC 3986 §4.3); `Url::parse` rejects the rest.
    if url::Url::parse(value).is_err() {
        check.violation(
            field,
            "must be an absolute URI, such as s3://bucket/model.zip",
        );
    }
}

fn check_data_types(check: &mut Checker, field: &str, values: &[String]) {
    if values.is_empty() {
        check.violation(field, "must list at least one data type");
    } else if values.len() > limits::DATA_TYPES {
        check.violation(
            field,
            format!("must list at most {} data types", limits::DATA_TYPES),
        );
    } else {
        for (index, value) in values.iter().enumerate() {
            check.required_text(&format!("{field}[{index}]"), value, limits::NAME_CHARS);
        }
    }
}

fn parse_environments(
    check: &mut Checker,
    environments: Vec<EnvironmentDraft>,
) -> Vec<TargetEnvironment> {
    let field = "model_information.target_environment";
    if environments.len() > limits::TARGET_ENVIRONMENTS {
        check.violation(
            field,
            format!(
                "must list at most {} environments",
                limits::TARGET_ENVIRONMENTS
            ),
        );
        return Vec::new();
    }
    environments
        .into_iter()
        .enumerate()
        .map(|(index, env)| {
            let EnvironmentDraft {
                platform_name,
                environment_type,
                dependency_list,
            } = env;
            let at = format!("{field}[{index}]");
            check.required_text(
                &format!("{at}.platform_name"),
                &platform_name,
                limits::NAME_CHARS,
            );
            check.required_text(
                &format!("{at}.environment_type"),
                &environment_type,
                limits::NAME_CHARS,
            );
            check.required_text(
                &format!("{at}.dependency_list"),
                &dependency_list,
                limits::DEPENDENCY_LIST_CHARS,
            );
            TargetEnvironment {
                platform_name,
                environment_type,
                dependency_list,
            }
        })
        .collect()
}
