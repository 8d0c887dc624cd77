//! `GET …/downloadModel/{modelName}/{modelVersion}/{artifactVersion}/model.zip`, the Go model
//! management service's download: the bytes streamed from the core's artifact download, with
//! `Range` honoured so that `curl -C -` resumes an interrupted one.

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::{StreamExt, TryStreamExt};

use super::Gateway;
use super::problem::Problem;
use crate::domain::{Caller, DownloadSpec, Error, ModelIdDraft};
use crate::metrics;

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
        (status = 400, description = "Not a valid name, version or artifact version"),
        (status = 404),
        (status = 416),
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
    let body = Body::from_stream(
        limit(bytes, length).inspect_ok(|chunk| metrics::artifact_bytes_sent(chunk.len())),
    );
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
