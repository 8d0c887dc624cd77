//! `POST …/model-registrations/updateArtifact/{modelName}/{modelVersion}/{artifactVersion}`, the
//! Go model management service's route that AIMLFW's training pipelines call (with no body)
//! after writing a trained model to their own object store: the core's artifact declaration.
//! It is served under every profile and answers as the Go service did.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Gateway;
use super::problem::Problem;
use super::profile::{GoModelRelatedInformation, Updated};
use super::request::etag_header;
use crate::domain::{Caller, DeclareSpec, ModelIdDraft};

/// Records `artifactVersion` (MAJOR.MINOR.PATCH) as the model's artifact version, for bytes the
/// caller stored elsewhere. The current version again changes nothing; a lower one is 409.
/// `ListArtifacts` shows it as external, and a download of it is 409 `ARTIFACT_NOT_HELD`.
#[utoipa::path(
    post,
    path = "/ai-ml-model-registration/v1/model-registrations/updateArtifact/{modelName}/{modelVersion}/{artifactVersion}",
    tag = "artifacts",
    params(
        ("modelName" = String, Path),
        ("modelVersion" = String, Path),
        ("artifactVersion" = String, Path, description = "MAJOR.MINOR.PATCH, e.g. 1.0.0"),
    ),
    responses(
        (status = 200, description = "Recorded, or already the current version", body = Updated,
            headers(("ETag" = String))),
        (status = 400, description = "Not a version MAJOR.MINOR.PATCH"),
        (status = 404, description = "The model is not registered"),
        (status = 409, description = "Lower than the current artifact version (ARTIFACT_VERSION_BACKWARDS)"),
    ),
)]
pub(crate) async fn update_artifact(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path((model_name, model_version, artifact_version)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let model_id = ModelIdDraft {
        model_name,
        model_version,
    };
    let spec = DeclareSpec::parse("", Some(&model_id), None, artifact_version)?;
    let declared = gateway.registry.declare_artifact(&caller, spec).await?;
    let registration = &declared.registration;
    let body = Updated {
        modelinfo: GoModelRelatedInformation::of(registration),
    };
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag_header(&registration.etag)),
        ],
        serde_json::to_vec(&body).expect("a registration serializes"),
    )
        .into_response())
}
