//! The routes of the Go model management service that its clients call beside R1AP's:
//! `uploadModel`, `downloadModel` and `getModelInfo`, with the standard's status codes where
//! the Go service answered 500. Uploads and downloads stream through the core's artifact
//! operations, as over gRPC, so memory stays bounded; downloads honour `Range`, so `curl -C -`
//! resumes one.

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use utoipa::ToSchema;

use super::Gateway;
use super::discovery::{Search, every_match};
use super::problem::{Problem, ProblemDetails};
use super::resource::{ModelRelatedInformation, timestamp};
use crate::domain::{
    Caller, DownloadSpec, Error, ModelIdDraft, StreamFailure, UploadDraft, UploadSpec,
};
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
        (status = 400, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "The model is not registered", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, description = "Not a multipart form, or not a .zip file", body = ProblemDetails, content_type = "application/problem+json"),
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
    let chunks = file.map_err(|err| Error::UploadStream {
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

/// The bytes of an artifact version, whole or (with `Range: bytes=N-` or `bytes=N-M`) in
/// part. Its `ETag` is its SHA-256, for `If-Range`.
#[utoipa::path(
    get,
    path = "/ai-ml-model-registration/v1/downloadModel/{modelName}/{modelVersion}/{artifactVersion}/model.zip",
    tag = "artifacts",
    params(
        ("modelName" = String, Path), ("modelVersion" = String, Path), ("artifactVersion" = String, Path),
        ("Range" = Option<String>, Header, description = "`bytes=N-` or `bytes=N-M`"),
    ),
    responses(
        (status = 200, content_type = "application/zip", body = Vec<u8>),
        (status = 206, content_type = "application/zip", body = Vec<u8>, description = "The range asked for"),
        (status = 400, description = "Not a valid name, version or artifact version", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 416, body = ProblemDetails, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn download(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path((model_name, model_version, artifact_version)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let model_id = ModelIdDraft {
        model_name,
        model_version,
    };
    let mut range = requested_range(&headers);
    let fetch = |offset: u64| {
        let spec = DownloadSpec::parse("", Some(&model_id), None, artifact_version.clone(), offset);
        let (registry, caller) = (&gateway.registry, &caller);
        async move {
            match registry.download(caller, spec?).await {
                Err(Error::OffsetOutOfRange { size, .. }) => Err(unsatisfiable(size)),
                other => Ok(other?),
            }
        }
    };
    let mut download = fetch(range.map_or(0, |(first, _)| first)).await?;
    // A range of another version of the bytes than the client's is answered whole.
    if range.is_some() && !if_range_holds(&headers, &download.info.artifact.sha256) {
        range = None;
        download = fetch(0).await?;
    }
    let offset = range.map_or(0, |(first, _)| first);
    let artifact = &download.info.artifact;
    let size = artifact.size_bytes;
    let etag = HeaderValue::try_from(format!("\"{}\"", artifact.sha256)).expect("hex is ASCII");
    if range.is_some() && offset >= size {
        return Err(unsatisfiable(size));
    }
    let last = match range {
        Some((_, Some(last))) => last.min(size.saturating_sub(1)),
        _ => size.saturating_sub(1),
    };
    let length = if size == 0 { 0 } else { last + 1 - offset };
    let bytes = download.bytes.map_err(|err| {
        err.log_cause();
        std::io::Error::other(err.reason())
    });
    let body = Body::from_stream(limit(bytes, length));
    let mut answer = Response::new(body);
    let answer_headers = answer.headers_mut();
    answer_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    answer_headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"model.zip\""),
    );
    answer_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    answer_headers.insert(header::ETAG, etag);
    answer_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if range.is_some() {
        *answer.status_mut() = StatusCode::PARTIAL_CONTENT;
        answer.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::try_from(format!("bytes {offset}-{last}/{size}")).expect("ASCII"),
        );
    }
    Ok(answer)
}

/// Every registered version of a model, as an array; 404 when none is.
#[utoipa::path(
    get,
    path = "/ai-ml-model-registration/v1/getModelInfo/{modelName}",
    tag = "artifacts",
    params(("modelName" = String, Path)),
    responses(
        (status = 200, body = Vec<ModelRelatedInformation>),
        (status = 404, body = ProblemDetails, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn model_info(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path(model_name): Path<String>,
) -> Result<Response, Problem> {
    let search = Search::named(model_name.clone());
    let (answer, first_page) = every_match(gateway.registry.clone(), caller, search).await?;
    if first_page == 0 {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "MODEL_NOT_FOUND",
            format!("no version of model {model_name:?} is registered"),
        ));
    }
    Ok(answer)
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

/// The first byte and, if given, the last of a `Range: bytes=N-` or `bytes=N-M` header.
/// Other forms (suffixes, several ranges) are answered whole, as RFC 9110 allows.
fn requested_range(headers: &HeaderMap) -> Option<(u64, Option<u64>)> {
    let text = headers.get(header::RANGE)?.to_str().ok()?;
    let spec = text.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let first = first.trim().parse().ok()?;
    let last = match last.trim() {
        "" => None,
        last => Some(last.parse().ok().filter(|last| *last >= first)?),
    };
    Some((first, last))
}

/// Whether `If-Range`, if sent, names the artifact's current entity tag.
fn if_range_holds(headers: &HeaderMap, sha256: &str) -> bool {
    match headers
        .get(header::IF_RANGE)
        .and_then(|value| value.to_str().ok())
    {
        None => true,
        Some(tag) => tag.trim().trim_matches('"') == sha256,
    }
}

/// The first `length` bytes of `bytes`.
fn limit(
    bytes: impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    length: u64,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    async_stream::stream! {
        let mut left = length;
        futures::pin_mut!(bytes);
        while left > 0 {
            match bytes.next().await {
                None => break,
                Some(Ok(mut chunk)) => {
                    let keep = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
                    chunk.truncate(keep);
                    left -= keep as u64;
                    yield Ok(chunk);
                }
                Some(Err(err)) => {
                    yield Err(err);
                    break;
                }
            }
        }
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

fn unsatisfiable(size: u64) -> Problem {
    Problem::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "RANGE_NOT_SATISFIABLE",
        format!("the range starts beyond the artifact's {size} bytes"),
    )
    .with_header(
        header::CONTENT_RANGE,
        HeaderValue::try_from(format!("bytes */{size}")).expect("ASCII"),
    )
}
