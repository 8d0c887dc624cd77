//! Validated model descriptions. A `ModelSpec` can only be made by `ModelSpec::parse`, which
//! checks a whole `ModelRelatedInformation` and reports every violation at once, with the field
//! path a client sent (`model_related_information.model_information.target_environment[1]…`).

mod artifact;

pub use artifact::{DownloadSpec, ModelRef, UploadSpec};

use tonic_types::FieldViolation;

use crate::error::Error;
use crate::pb;

/// Size bounds of the registry (documented in the proto and the README).
pub mod limits {
    pub const NAME_CHARS: usize = 255;
    pub const DESCRIPTION_CHARS: usize = 10_000;
    pub const LOCATION_CHARS: usize = 2_048;
    pub const DATA_TYPES: usize = 100;
    pub const TARGET_ENVIRONMENTS: usize = 100;
    pub const DEPENDENCY_LIST_CHARS: usize = 4_096;
    pub const REQUEST_ID_CHARS: usize = 255;
}

/// The mutable and identifying content of a registration, valid by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    pub model_name: String,
    pub model_version: String,
    pub description: String,
    pub model_location: Option<String>,
    pub author: String,
    pub owner: Option<String>,
    pub input_data_type: Vec<String>,
    pub output_data_type: Vec<String>,
    pub target_environments: Vec<TargetEnvironmentSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetEnvironmentSpec {
    pub platform_name: String,
    pub environment_type: String,
    pub dependency_list: String,
}

impl ModelSpec {
    /// Validates `info`, found at `path` in the request. Output-only fields are ignored.
    pub fn parse(info: &pb::ModelRelatedInformation, path: &str) -> Result<Self, Error> {
        let mut check = Checker::default();
        let model_id = info.model_id.clone().unwrap_or_default();
        let information = info.model_information.clone().unwrap_or_default();
        let metadata = information.metadata.clone().unwrap_or_default();

        if info.model_id.is_none() {
            check.violation(format!("{path}.model_id"), "is required");
        } else {
            check.identifier(format!("{path}.model_id.model_name"), &model_id.model_name);
            check.identifier(
                format!("{path}.model_id.model_version"),
                &model_id.model_version,
            );
        }
        check.required_text(
            format!("{path}.description"),
            &info.description,
            limits::DESCRIPTION_CHARS,
        );
        check.location(format!("{path}.model_location"), &info.model_location);

        let info_path = format!("{path}.model_information");
        if info.model_information.is_none() {
            check.violation(info_path.clone(), "is required");
        } else {
            if information.metadata.is_none() {
                check.violation(format!("{info_path}.metadata"), "is required");
            } else {
                check.required_text(
                    format!("{info_path}.metadata.author"),
                    &metadata.author,
                    limits::NAME_CHARS,
                );
                check.max_chars(
                    format!("{info_path}.metadata.owner"),
                    &metadata.owner,
                    limits::NAME_CHARS,
                );
            }
            check.data_types(
                format!("{info_path}.input_data_type"),
                &information.input_data_type,
            );
            check.data_types(
                format!("{info_path}.output_data_type"),
                &information.output_data_type,
            );
            check.target_environments(
                format!("{info_path}.target_environment"),
                &information.target_environment,
            );
        }
        check.finish()?;

        Ok(Self {
            model_name: model_id.model_name,
            model_version: model_id.model_version,
            description: info.description.clone(),
            model_location: non_empty(&info.model_location),
            author: metadata.author,
            owner: non_empty(&metadata.owner),
            input_data_type: information.input_data_type,
            output_data_type: information.output_data_type,
            target_environments: information
                .target_environment
                .into_iter()
                .map(|env| TargetEnvironmentSpec {
                    platform_name: env.platform_name,
                    environment_type: env.environment_type,
                    dependency_list: env.dependency_list,
                })
                .collect(),
        })
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// Collects violations instead of stopping at the first one.
#[derive(Default)]
struct Checker {
    violations: Vec<FieldViolation>,
}

impl Checker {
    fn violation(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.violations
            .push(FieldViolation::new(field, description));
    }

    fn finish(self) -> Result<(), Error> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.violations))
        }
    }

    fn max_chars(&mut self, field: String, value: &str, max: usize) -> bool {
        let chars = value.chars().count();
        if chars > max {
            self.violation(
                field,
                format!("must be at most {max} characters (is {chars})"),
            );
            return false;
        }
        true
    }

    fn required_text(&mut self, field: String, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.violation(field, "is required");
        } else {
            self.max_chars(field, value, max);
        }
    }

    /// Model names and versions identify a model, so they must be printable and unambiguous.
    fn identifier(&mut self, field: String, value: &str) {
        if value.is_empty() {
            self.violation(field, "is required");
        } else if value.chars().any(char::is_control) {
            self.violation(field, "must not contain control characters");
        } else if value.trim() != value {
            self.violation(field, "must not start or end with white space");
        } else {
            self.max_chars(field, value, limits::NAME_CHARS);
        }
    }

    fn location(&mut self, field: String, value: &str) {
        if value.is_empty() || !self.max_chars(field.clone(), value, limits::LOCATION_CHARS) {
            return;
        }
        // An absolute URI is one with a scheme (RFC 3986 §4.3); `Url::parse` rejects the rest.
        if url::Url::parse(value).is_err() {
            self.violation(
                field,
                "must be an absolute URI, such as s3://bucket/model.zip",
            );
        }
    }

    fn data_types(&mut self, field: String, values: &[String]) {
        if values.is_empty() {
            self.violation(field, "must list at least one data type");
        } else if values.len() > limits::DATA_TYPES {
            self.violation(
                field,
                format!("must list at most {} data types", limits::DATA_TYPES),
            );
        } else {
            for (index, value) in values.iter().enumerate() {
                self.required_text(format!("{field}[{index}]"), value, limits::NAME_CHARS);
            }
        }
    }

    fn target_environments(&mut self, field: String, environments: &[pb::TargetEnvironment]) {
        if environments.len() > limits::TARGET_ENVIRONMENTS {
            self.violation(
                field,
                format!(
                    "must list at most {} environments",
                    limits::TARGET_ENVIRONMENTS
                ),
            );
            return;
        }
        for (index, env) in environments.iter().enumerate() {
            let at = format!("{field}[{index}]");
            self.required_text(
                format!("{at}.platform_name"),
                &env.platform_name,
                limits::NAME_CHARS,
            );
            self.required_text(
                format!("{at}.environment_type"),
                &env.environment_type,
                limits::NAME_CHARS,
            );
            self.required_text(
                format!("{at}.dependency_list"),
                &env.dependency_list,
                limits::DEPENDENCY_LIST_CHARS,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn valid() -> pb::ModelRelatedInformation {
        pb::ModelRelatedInformation {
            model_id: Some(pb::ModelId {
                model_name: "qoe-predictor".into(),
                model_version: "1".into(),
                artifact_version: "9.9.9".into(),
            }),
            description: "predicts QoE".into(),
            model_information: Some(pb::ModelInformation {
                metadata: Some(pb::Metadata {
                    author: "alice".into(),
                    owner: String::new(),
                }),
                input_data_type: vec!["pdcpBytesDl,pdcpBytesUl".into()],
                output_data_type: vec!["qoe".into()],
                target_environment: vec![pb::TargetEnvironment {
                    platform_name: "kserve".into(),
                    environment_type: "onnx".into(),
                    dependency_list: "a,b,c".into(),
                }],
            }),
            model_location: "s3://models/qoe.zip".into(),
            ..Default::default()
        }
    }

    fn fields(err: Error) -> Vec<String> {
        match err {
            Error::InvalidArgument(violations) => violations.into_iter().map(|v| v.field).collect(),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_model_parses_and_keeps_commas() {
        let spec = ModelSpec::parse(&valid(), "m").unwrap();
        assert_eq!(spec.input_data_type, ["pdcpBytesDl,pdcpBytesUl"]);
        assert_eq!(spec.owner, None);
        assert_eq!(spec.model_location.as_deref(), Some("s3://models/qoe.zip"));
        assert_eq!(spec.target_environments[0].dependency_list, "a,b,c");
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let mut info = valid();
        info.model_id.as_mut().unwrap().model_name = " padded".into();
        info.model_id.as_mut().unwrap().model_version = "bad\u{7}".into();
        info.description = String::new();
        info.model_location = "relative/path".into();
        let information = info.model_information.as_mut().unwrap();
        information.metadata.as_mut().unwrap().author = String::new();
        information.input_data_type = vec![];
        information.output_data_type = vec!["ok".into(), String::new()];
        information
            .target_environment
            .push(pb::TargetEnvironment::default());
        let fields = fields(ModelSpec::parse(&info, "m").unwrap_err());
        assert_eq!(
            fields,
            [
                "m.model_id.model_name",
                "m.model_id.model_version",
                "m.description",
                "m.model_location",
                "m.model_information.metadata.author",
                "m.model_information.input_data_type",
                "m.model_information.output_data_type[1]",
                "m.model_information.target_environment[1].platform_name",
                "m.model_information.target_environment[1].environment_type",
                "m.model_information.target_environment[1].dependency_list",
            ]
        );
    }

    #[test]
    fn missing_messages_are_required() {
        let fields =
            fields(ModelSpec::parse(&pb::ModelRelatedInformation::default(), "m").unwrap_err());
        assert_eq!(
            fields,
            ["m.model_id", "m.description", "m.model_information"]
        );
    }

    #[test]
    fn names_longer_than_the_limit_are_rejected() {
        let mut info = valid();
        info.model_id.as_mut().unwrap().model_name = "x".repeat(limits::NAME_CHARS + 1);
        assert_eq!(
            fields(ModelSpec::parse(&info, "m").unwrap_err()),
            ["m.model_id.model_name"]
        );
        info.model_id.as_mut().unwrap().model_name = "é".repeat(limits::NAME_CHARS);
        assert!(
            ModelSpec::parse(&info, "m").is_ok(),
            "the limit counts characters, not bytes"
        );
    }

    #[test]
    fn urns_and_urls_are_absolute_uris() {
        for location in [
            "urn:model:qoe",
            "https://example.com/m.zip",
            "file:///models/m",
        ] {
            let mut info = valid();
            info.model_location = location.into();
            assert!(ModelSpec::parse(&info, "m").is_ok(), "{location}");
        }
    }
}
