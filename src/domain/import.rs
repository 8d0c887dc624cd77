//! Models moved in from the Go model management service's database: each row as the Go
//! service stored it, checked by the same rules as a registration. A row the Go service
//! accepted that the registry refuses is reported with the reason, never changed to fit.

use super::check::{Checker, FieldPath};
use super::draft::ModelDraft;
use super::error::Error;
use super::model::{ModelSpec, Registration};
use super::names::{ArtifactVersion, Etag, RegistrationId};

/// One model as the Go service stored it: its id (a UUID as text), its content as a draft
/// (data types with their spelling), and its artifact version.
#[derive(Clone, Debug)]
pub(crate) struct ForeignModel {
    pub(crate) id: String,
    pub(crate) draft: ModelDraft,
    pub(crate) artifact_version: String,
}

/// What became of one model of an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ImportOutcome {
    Imported,
    /// A registration with its id is here already (a re-run).
    AlreadyPresent,
    /// Not imported, and why.
    Refused(String),
}

impl ForeignModel {
    /// The model's name and version as the Go service stored them, for reports.
    pub(crate) fn label(&self) -> String {
        let id = self.draft.model_id.clone().unwrap_or_default();
        format!("{:?} version {:?}", id.model_name, id.model_version)
    }

    /// The registration this model becomes, keeping its id and artifact version, or every
    /// reason the registry refuses it.
    pub(crate) fn into_registration(
        self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Registration, String> {
        let mut check = Checker::request();
        let id = RegistrationId::parse(&mut check, "id", &self.id);
        let artifact_version = if self.artifact_version == ArtifactVersion::initial().as_str() {
            Some(ArtifactVersion::initial())
        } else {
            ArtifactVersion::parse_declared(
                &mut check,
                "model_id.artifact_version",
                self.artifact_version,
            )
        };
        let mut reasons = violations(check.finish(Some(())).err());
        let spec = ModelSpec::parse(self.draft);
        let spec = match spec {
            Ok(spec) => Some(spec),
            Err(err) => {
                reasons.extend(violations(Some(err)));
                None
            }
        };
        match (id, artifact_version, spec) {
            (Some(id), Some(artifact_version), Some(spec)) if reasons.is_empty() => {
                Ok(Registration {
                    id,
                    spec,
                    artifact_version,
                    etag: Etag::generate(),
                    create_time: now,
                    update_time: now,
                    aliases: Vec::new(),
                })
            }
            _ => Err(reasons.join("; ")),
        }
    }
}

fn violations(err: Option<Error>) -> Vec<String> {
    match err {
        None => Vec::new(),
        Some(Error::InvalidArgument(violations)) => violations
            .into_iter()
            .map(|violation| {
                let (FieldPath::Resource(field) | FieldPath::Request(field)) = violation.field;
                format!("{field} {}", violation.description)
            })
            .collect(),
        Some(other) => vec![other.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        DataTypeSpelling, InformationDraft, MetadataDraft, ModelIdDraft, split_data_types,
    };

    fn foreign(name: &str, input: &str, artifact_version: &str) -> ForeignModel {
        ForeignModel {
            id: "0193a1a0-0000-4000-8000-000000000001".into(),
            draft: ModelDraft {
                model_id: Some(ModelIdDraft {
                    model_name: name.into(),
                    model_version: "1".into(),
                }),
                description: "d".into(),
                model_information: Some(InformationDraft {
                    metadata: Some(MetadataDraft {
                        author: "a".into(),
                        owner: String::new(),
                    }),
                    input_data_type: split_data_types(input),
                    output_data_type: vec!["o".into()],
                    target_environment: Vec::new(),
                    spelling: DataTypeSpelling {
                        input: Some(input.into()),
                        output: None,
                    },
                }),
                ..ModelDraft::default()
            },
            artifact_version: artifact_version.into(),
        }
    }

    #[test]
    fn a_valid_row_keeps_its_id_spelling_and_artifact_version() {
        let registration = foreign("qoe predictor", "c, d", "1.2.0")
            .into_registration(chrono::Utc::now())
            .unwrap();
        assert_eq!(
            registration.id.to_string(),
            "0193a1a0-0000-4000-8000-000000000001"
        );
        assert_eq!(registration.artifact_version.as_str(), "1.2.0");
        assert_eq!(
            registration.spec.data_type_spelling.input.as_deref(),
            Some("c, d")
        );
    }

    #[test]
    fn every_reason_to_refuse_a_row_is_given() {
        let mut row = foreign(" padded", "", "");
        row.id = "not-a-uuid".into();
        let reasons = row.into_registration(chrono::Utc::now()).unwrap_err();
        for expected in [
            "id \"not-a-uuid\" is not a UUID",
            "model_id.artifact_version",
            "model_id.model_name must not start or end with white space",
            "model_information.input_data_type must list at least one data type",
        ] {
            assert!(reasons.contains(expected), "{reasons}");
        }
    }
}
