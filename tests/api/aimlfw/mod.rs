//! AIMLFW's own clients against modelreg: the training pipelines' `updateArtifact`, the
//! training manager's discovery and registration, the Go service's component tests, under
//! both REST profiles; and `modelreg import mme` from a database with the Go service's schema.

mod component;
mod import;
mod pipelines;
mod training_manager;

use modelreg::RestProfile;
use serde_json::{Value, json};

use crate::common::{Backend, TestServer};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    [
        pipelines::trials(),
        training_manager::trials(),
        component::trials(),
        import::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

const REGISTRATIONS: &str = "/ai-ml-model-registration/v1/model-registrations";

/// A server whose REST API speaks `profile`.
async fn server(backend: Backend, profile: RestProfile) -> TestServer {
    TestServer::start_with(backend, |config| config.rest_profile = profile).await
}

/// What the training manager's agent (`register_model`) sends: data types as one string,
/// `metadata.owner` empty, the optional members included.
fn agent_registration(name: &str, version: &str) -> Value {
    json!({
        "modelId": {"modelName": name, "modelVersion": version, "artifactVersion": "0.0.0"},
        "description": "registered by the training manager's agent",
        "modelInformation": {
            "metadata": {"author": "agent", "owner": ""},
            "inputDataType": "pdcpBytesDl,pdcpBytesUl",
            "outputDataType": "c, d",
            "targetEnvironment": [
                {"platformName": "kserve", "environmentType": "onnx", "dependencyList": "a,b,c"}
            ]
        },
        "modelLocation": ""
    })
}

/// The pipelines' call after training: no body, no content type.
fn update_artifact_path(name: &str, version: &str, artifact_version: &str) -> String {
    format!("{REGISTRATIONS}/updateArtifact/{name}/{version}/{artifact_version}")
}

/// The training manager's (and the retraining pipeline's) discovery: with a trailing slash.
fn discovery_path(name: &str, version: &str) -> String {
    format!("/ai-ml-model-discovery/v1/models/?model-name={name}&model-version={version}")
}
