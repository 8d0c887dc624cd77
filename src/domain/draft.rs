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
    /// The data types as the client spelled them, when it sent each list as one
    /// comma-separated string.
    pub(crate) spelling: DataTypeSpelling,
}

/// Data types as one comma-separated string each, exactly as a client of the Go service sent
/// them (`"c, d"`, with its space): what the `aimlfw` REST profile answers. A spelling is kept
/// only while it still splits into the listed data types.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DataTypeSpelling {
    pub(crate) input: Option<String>,
    pub(crate) output: Option<String>,
}

/// The data type ids of one comma-separated string: split at commas, each trimmed; a blank
/// string lists none.
pub(crate) fn split_data_types(joined: &str) -> Vec<String> {
    if joined.trim().is_empty() {
        return Vec::new();
    }
    joined.split(',').map(|id| id.trim().to_owned()).collect()
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
