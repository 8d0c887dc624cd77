//! A change to a registered model: which fields to replace, and with what. Front-ends build it
//! from their protocol's way of saying so (gRPC field masks, REST merge patches and PUTs); applying
//! it yields a new draft that is validated as a whole, like a registration.

use super::check::FieldViolation;
use super::draft::{EnvironmentDraft, InformationDraft, MetadataDraft, ModelDraft, ModelIdDraft};
use super::error::{Error, Result};
use super::labels::Labels;
use super::model::ModelSpec;
use super::names::ArtifactVersion;

/// One field replaced, even by an empty value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    Description(String),
    ModelLocation(String),
    ModelInformation(Option<InformationDraft>),
    Metadata(Option<MetadataDraft>),
    Author(String),
    Owner(String),
    InputDataType(Vec<String>),
    OutputDataType(Vec<String>),
    TargetEnvironment(Vec<EnvironmentDraft>),
    /// Every label.
    Labels(Labels),
    /// One label: set to the value, or removed.
    Label(String, Option<String>),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Patch {
    /// The model's name and version as the client sent them: they may be given, but must be
    /// the stored ones.
    pub(crate) model_id: Option<ModelIdDraft>,
    /// Applied in order.
    pub(crate) changes: Vec<Change>,
    /// What the front-end found wrong with how the change was described (an unknown mask path,
    /// say): reported together with what only the stored model reveals, so that the client
    /// learns every violation at once.
    pub(crate) rejected: Vec<FieldViolation>,
    /// An artifact version to declare with the change, for bytes stored elsewhere (the Go
    /// service's clients send it in a `PUT`): the current one changes nothing, a lower one is
    /// refused, a higher one is recorded in the same transaction.
    pub(crate) artifact_version: Option<ArtifactVersion>,
}

impl Patch {
    /// The model `current` becomes. Nothing is applied when anything is violated.
    pub(crate) fn apply_to(self, current: &ModelSpec) -> Result<ModelSpec> {
        ModelSpec::parse(self.draft_from(current)?)
    }

    /// `current` with the changes applied, not yet validated.
    pub(crate) fn draft_from(self, current: &ModelSpec) -> Result<ModelDraft> {
        let mut violations = renames(current, self.model_id.as_ref());
        violations.extend(self.rejected);
        if !violations.is_empty() {
            return Err(Error::InvalidArgument(violations));
        }
        let mut draft = current.to_draft();
        for change in self.changes {
            apply(&mut draft, change);
        }
        Ok(draft)
    }
}

fn renames(current: &ModelSpec, model_id: Option<&ModelIdDraft>) -> Vec<FieldViolation> {
    let Some(ModelIdDraft {
        model_name,
        model_version,
    }) = model_id
    else {
        return Vec::new();
    };
    [
        ("model_id.model_name", model_name, current.name.as_str()),
        (
            "model_id.model_version",
            model_version,
            current.version.as_str(),
        ),
    ]
    .into_iter()
    .filter(|(_, given, stored)| !given.is_empty() && given != stored)
    .map(|(field, _, stored)| {
        FieldViolation::resource(
            field,
            format!("cannot change after registration (is {stored:?})"),
        )
    })
    .collect()
}

fn apply(draft: &mut ModelDraft, change: Change) {
    match change {
        Change::Description(value) => draft.description = value,
        Change::ModelLocation(value) => draft.model_location = value,
        Change::ModelInformation(value) => draft.model_information = value,
        Change::Metadata(value) => information(draft).metadata = value,
        Change::Author(value) => metadata(draft).author = value,
        Change::Owner(value) => metadata(draft).owner = value,
        Change::InputDataType(value) => information(draft).input_data_type = value,
        Change::OutputDataType(value) => information(draft).output_data_type = value,
        Change::TargetEnvironment(value) => information(draft).target_environment = value,
        Change::Labels(value) => draft.labels = value,
        Change::Label(key, Some(value)) => {
            draft.labels.insert(key, value);
        }
        Change::Label(key, None) => {
            draft.labels.remove(&key);
        }
    }
}

/// The draft's model information; a change inside an absent one starts from an empty one.
fn information(draft: &mut ModelDraft) -> &mut InformationDraft {
    draft.model_information.get_or_insert_default()
}

fn metadata(draft: &mut ModelDraft) -> &mut MetadataDraft {
    information(draft).metadata.get_or_insert_default()
}
