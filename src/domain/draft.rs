//! A model resource as a client wrote it, not yet validated: the shape of R1AP's
//! `ModelRelatedInformation` without the server-assigned fields. Front-ends fill it from their
//! protocol; `ModelSpec::parse` turns it into a valid model or lists what is wrong.

use super::labels::Labels;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ModelDraft {
    pub(crate) model_id: Option<ModelIdDraft>,
    pub(crate) description: String,
    /// Empty means unset.
    pub(crate) model_location: String,
    pub(crate) model_information: Option<InformationDraft>,
    pub(crate) labels: Labels,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ModelIdDraft {
    pub(crate) model_name: String,
    pub(crate) model_version: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct InformationDraft {
    pub(crate) metadata: Option<MetadataDraft>,
    pub(crate) input_data_type: Vec<String>,
    pub(crate) output_data_type: Vec<String>,
    pub(crate) target_environment: Vec<EnvironmentDraft>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MetadataDraft {
    pub(crate) author: String,
    /// Empty means unset.
    pub(crate) owner: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EnvironmentDraft {
    pub(crate) platform_name: String,
    pub(crate) environment_type: String,
    pub(crate) dependency_list: String,
}
