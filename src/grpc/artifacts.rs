//! ModelArtifactService: upload, download, list and declare a model's artifacts. An upload's messages
//! become a header and a stream of byte chunks for the registry; a download's bytes become
//! chunk messages after the artifact's info.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use tonic::{Code, Request, Response, Status, Streaming};

use super::caller::take_caller;
use super::convert;
use crate::domain::page_token;
use crate::domain::{
    DeclareSpec, DownloadSpec, Error, ModelRef, PageSize, StreamFailure, UploadSpec, both,
};
use crate::metrics;
use crate::pb::{
    self, download_artifact_response, model_artifact_service_server::ModelArtifactService,
    upload_artifact_request,
};
use crate::registry::Registry;

pub(crate) struct ArtifactService {
    registry: Registry,
}

impl ArtifactService {
    pub(crate) fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

type DownloadStream = BoxStream<'static, Result<pb::DownloadArtifactResponse, Status>>;
type Uploads = Streaming<pb::UploadArtifactRequest>;

#[tonic::async_trait]
impl ModelArtifactService for ArtifactService {
    async fn upload_artifact(
        &self,
        mut request: Request<Uploads>,
    ) -> Result<Response<pb::ArtifactInfo>, Status> {
        let caller = take_caller(&mut request)?;
        let mut requests = request.into_inner();
        let spec = read_header(&mut requests).await?;
        let stored = self
            .registry
            .upload(&caller, spec, chunks(requests))
            .await?;
        Ok(Response::new(convert::stored_artifact(&stored)))
    }

    type DownloadArtifactStream = DownloadStream;

    async fn download_artifact(
        &self,
        mut request: Request<pb::DownloadArtifactRequest>,
    ) -> Result<Response<DownloadStream>, Status> {
        let caller = take_caller(&mut request)?;
        let pb::DownloadArtifactRequest {
            model_registration_id,
            model_id,
            model,
            artifact_version,
            offset,
        } = request.into_inner();
        let model_id = model_id.map(convert::model_id_draft);
        let selector = model.map(convert::selector_draft);
        let spec = DownloadSpec::parse(
            &model_registration_id,
            model_id.as_ref(),
            selector.as_ref(),
            artifact_version,
            offset,
        )?;
        let download = self.registry.download(&caller, spec).await?;
        let info = pb::DownloadArtifactResponse {
            payload: Some(download_artifact_response::Payload::Info(
                convert::stored_artifact(&download.info),
            )),
        };
        let chunks = download.bytes.map(|chunk| {
            let chunk = chunk.map_err(Status::from)?;
            metrics::artifact_bytes_sent(chunk.len());
            Ok(pb::DownloadArtifactResponse {
                payload: Some(download_artifact_response::Payload::Chunk(chunk)),
            })
        });
        Ok(Response::new(
            futures::stream::once(async { Ok(info) })
                .chain(chunks)
                .boxed(),
        ))
    }

    async fn list_artifacts(
        &self,
        mut request: Request<pb::ListArtifactsRequest>,
    ) -> Result<Response<pb::ListArtifactsResponse>, Status> {
        let caller = take_caller(&mut request)?;
        let pb::ListArtifactsRequest {
            model_registration_id,
            model_id,
            page_size,
            page_token,
        } = request.into_inner();
        let model_id = model_id.map(convert::model_id_draft);
        let (model, page_size) = both(
            ModelRef::parse(&model_registration_id, model_id.as_ref(), None, ""),
            PageSize::parse(page_size),
        )?;
        let after = match page_token.as_str() {
            "" => None,
            token => Some(page_token::decode_artifacts(
                self.registry.page_token_key(),
                token,
            )?),
        };
        let (model, page) = self
            .registry
            .list_artifacts(&caller, model, after, page_size)
            .await?;
        Ok(Response::new(pb::ListArtifactsResponse {
            artifacts: page
                .items
                .iter()
                .map(|artifact| convert::artifact_info(&model, artifact))
                .collect(),
            next_page_token: page
                .next
                .map(|cursor| page_token::encode_artifacts(self.registry.page_token_key(), cursor))
                .unwrap_or_default(),
        }))
    }

    async fn declare_artifact(
        &self,
        mut request: Request<pb::DeclareArtifactRequest>,
    ) -> Result<Response<pb::DeclareArtifactResponse>, Status> {
        let caller = take_caller(&mut request)?;
        let pb::DeclareArtifactRequest {
            model_registration_id,
            model_id,
            model,
            artifact_version,
        } = request.into_inner();
        let model_id = model_id.map(convert::model_id_draft);
        let selector = model.map(convert::selector_draft);
        let spec = DeclareSpec::parse(
            &model_registration_id,
            model_id.as_ref(),
            selector.as_ref(),
            artifact_version,
        )?;
        let declared = self.registry.declare_artifact(&caller, spec).await?;
        Ok(Response::new(pb::DeclareArtifactResponse {
            model: Some(convert::registration(&declared.registration)),
            recorded: declared.recorded,
        }))
    }
}

async fn read_header(requests: &mut Uploads) -> Result<UploadSpec, Error> {
    match requests.message().await.map_err(stream_failure)? {
        Some(pb::UploadArtifactRequest {
            payload: Some(upload_artifact_request::Payload::Header(header)),
        }) => UploadSpec::parse(convert::upload_draft(header)),
        Some(_) => Err(Error::invalid_request(
            "header",
            "must come first: the first message carried no header",
        )),
        None => Err(Error::invalid_request(
            "header",
            "is required: the stream ended before its first message",
        )),
    }
}

/// The bytes of the messages after the header. A message without a chunk, or a failed
/// stream, ends the upload with an error.
fn chunks(requests: Uploads) -> impl Stream<Item = Result<Bytes, Error>> + Send + 'static {
    futures::stream::unfold(Some(requests), |requests| async move {
        let mut requests = requests?;
        let chunk = match requests.message().await {
            Ok(None) => return None,
            Err(status) => Err(stream_failure(status)),
            Ok(Some(pb::UploadArtifactRequest { payload })) => match payload {
                Some(upload_artifact_request::Payload::Chunk(chunk)) => {
                    metrics::artifact_bytes_received(chunk.len());
                    Ok(chunk)
                }
                Some(upload_artifact_request::Payload::Header(_)) => Err(Error::invalid_request(
                    "header",
                    "must be sent once, in the first message",
                )),
                None => Err(Error::invalid_request(
                    "chunk",
                    "every message after the header must carry a chunk",
                )),
            },
        };
        // Nothing is read after a failure.
        let rest = chunk.is_ok().then_some(requests);
        Some((chunk, rest))
    })
}

/// A failed client stream, classified by tonic's code: its decoder answers OUT_OF_RANGE for a
/// message over the size limit and INTERNAL for one that does not decode.
fn stream_failure(status: Status) -> Error {
    let failure = match status.code() {
        Code::OutOfRange | Code::ResourceExhausted => StreamFailure::MessageTooLarge,
        Code::Internal => StreamFailure::Malformed,
        _ => StreamFailure::Cancelled,
    };
    Error::UploadStream {
        failure,
        message: status.message().to_owned(),
    }
}
