//! `POST /ai-ml-model-registration/v1/uploadModel/{modelName}/{modelVersion}`, the Go model
//! management service's upload: a multipart form whose `file` is streamed through the core's
//! artifact upload as it arrives, as over gRPC, so memory stays bounded whatever its size.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use super::Gateway;
use super::problem::Problem;
use super::resource::{ModelRelatedInformation, timestamp};
use crate::domain::{Caller, Error, ModelIdDraft, StreamFailure, UploadDraft, UploadSpec};
use crate::metrics;
use crate::registry::StoredArtifact;

/// The multipart field that carries the file, as in the Go service.
const FILE_FIELD: &str = "file";

/// The form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)] // Describes the form in the OpenAPI document; the form is streamed.
pub(crate) struct UploadForm {
    /// The artifact; its file name must end in `.zip`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// The answer to an upload: the Go service's, with the stored artifact added.
#[derive(Serialize, ToSchema)]
pub(crate) struct Uploaded {
    /// 200, as the Go service wrote it.
    code: u16,
    message: &'static str,
    /// The model, with its new artifact version.
    modelinfo: ModelRelatedInformation,
    artifact: ArtifactInfo,
}

/// A stored artifact.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ArtifactInfo {
    artifact_version: String,
    size_bytes: u64,
    /// Lowercase hex.
    sha256: String,
    filename: String,
    content_type: String,
    #[schema(format = DateTime)]
    create_time: String,
}

/// Stores the `file` of a multipart form as the model's next artifact version (`0.0.0` →
/// `1.0.0` → `1.1.0` …). The file name must end in `.zip`.
#[utoipa::path(
    post,
    path = "/ai-ml-model-registration/v1/uploadModel/{modelName}/{modelVersion}",
    tag = "artifacts",
    params(("modelName" = String, Path), ("modelVersion" = String, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = Uploaded),
        (status = 400),
        (status = 404, description = "The model is not registered"),
        (status = 413),
        (status = 415, description = "Not a multipart form, or not a .zip file"),
    ),
)]
pub(crate) async fn upload(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path((model_name, model_version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| multer::parse_boundary(value).ok())
        .ok_or_else(|| unsupported("the body must be multipart/form-data with a boundary"))?;
    let mut form = multer::Multipart::new(body.into_data_stream(), boundary);
    let file = loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some(FILE_FIELD) => break field,
            Ok(Some(_)) => continue,
            Ok(None) => {
                return Err(Problem::invalid_params(vec![(
                    FILE_FIELD.to_owned(),
                    "is required: the form has no field named file".to_owned(),
                )]));
            }
            Err(err) => return Err(malformed(err)),
        }
    };
    let filename = file.file_name().unwrap_or_default().to_owned();
    if !filename.to_ascii_lowercase().ends_with(".zip") {
        return Err(unsupported(format!(
            "the file {filename:?} is not a .zip file; only .zip files are stored"
        )));
    }
    let content_type = file
        .content_type()
        .map(ToString::to_string)
        .unwrap_or_else(|| "application/zip".to_owned());
    let spec = UploadSpec::parse(UploadDraft {
        model_registration_id: String::new(),
        model_id: Some(ModelIdDraft {
            model_name,
            model_version,
        }),
        sha256: String::new(),
        size_bytes: 0,
        filename,
        content_type,
    })?;
    // The form's other parts are not read: the file is streamed as it arrives.
    let chunks = file
        .inspect_ok(|chunk| metrics::artifact_bytes_received(chunk.len()))
        .map_err(|err| Error::UploadStream {
            failure: StreamFailure::Malformed,
            message: err.to_string(),
        });
    let stored = gateway.registry.upload(&caller, spec, chunks).await?;
    let registration = gateway.registry.get(&caller, stored.model.id).await?;
    let answer = Uploaded {
        code: 200,
        message: "Model uploaded successfully..",
        modelinfo: ModelRelatedInformation::of(&registration),
        artifact: artifact_info(&stored),
    };
    let body = serde_json::to_vec(&answer).expect("an upload's answer serializes");
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

fn artifact_info(stored: &StoredArtifact) -> ArtifactInfo {
    let artifact = &stored.artifact;
    ArtifactInfo {
        artifact_version: artifact.version.as_str().to_owned(),
        size_bytes: artifact.size_bytes,
        sha256: artifact.sha256.clone(),
        filename: artifact.filename.clone(),
        content_type: artifact.content_type.clone(),
        create_time: timestamp(artifact.create_time),
    }
}

fn unsupported(detail: impl Into<String>) -> Problem {
    Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        detail,
    )
}

fn malformed(err: multer::Error) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "MALFORMED_FORM",
        format!("the multipart form cannot be read: {err}"),
    )
}
