//! ModelArtifactService: upload (see `upload`), download and list a model's artifacts.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use super::page_token;
use crate::artifact_store::ArtifactStore;
use crate::convert::artifact_to_proto;
use crate::domain::{DownloadSpec, ModelRef};
use crate::error::{Error, Result, both};
use crate::metrics;
use crate::pb::{
    self, download_artifact_response::Payload, model_artifact_service_server::ModelArtifactService,
};
use crate::store::Store;

#[derive(Clone)]
pub struct ArtifactService {
    pub(super) store: Store,
    pub(super) objects: ArtifactStore,
    /// The largest artifact accepted, in bytes.
    pub(super) max_bytes: u64,
}

impl ArtifactService {
    pub fn new(store: Store, objects: ArtifactStore, max_bytes: u64) -> Self {
        Self {
            store,
            objects,
            max_bytes,
        }
    }
}

type DownloadStream = BoxStream<'static, Result<pb::DownloadArtifactResponse, Status>>;

#[tonic::async_trait]
impl ModelArtifactService for ArtifactService {
    async fn upload_artifact(
        &self,
        request: Request<Streaming<pb::UploadArtifactRequest>>,
    ) -> Result<Response<pb::ArtifactInfo>, Status> {
        // The upload runs in a task of its own. When a client goes away, tonic drops this
        // handler's future at whatever it awaits; the task instead sees the stream fail and
        // removes what it stored.
        let upload = tokio::spawn(self.clone().receive(request.into_inner()).in_current_span());
        let info = upload
            .await
            .map_err(|err| Error::Internal(Box::new(err)))??;
        Ok(Response::new(info))
    }

    type DownloadArtifactStream = DownloadStream;

    async fn download_artifact(
        &self,
        request: Request<pb::DownloadArtifactRequest>,
    ) -> Result<Response<DownloadStream>, Status> {
        let spec = DownloadSpec::parse(request.get_ref())?;
        let model = self.store.resolve(&spec.model).await?;
        let artifact = self
            .store
            .find_artifact(model.id, spec.artifact_version.as_deref())
            .await?;
        let size = artifact.size_bytes as u64;
        if spec.offset > size {
            return Err(Error::OffsetOutOfRange {
                offset: spec.offset,
                size,
            }
            .into());
        }
        let info = pb::DownloadArtifactResponse {
            payload: Some(Payload::Info(artifact_to_proto(&artifact, &model))),
        };
        let key = artifact.object_key;
        // Opened before answering, so a missing object is an error status, not a broken stream.
        let body = if spec.offset < size {
            self.objects
                .read(&key, spec.offset..size)
                .await
                .map_err(|err| read_error(err, &key))?
        } else {
            futures::stream::empty().boxed()
        };
        let expected = size - spec.offset;
        let stream = async_stream::try_stream! {
            yield info;
            let mut body = body;
            let mut sent = 0;
            while let Some(chunk) = body.next().await {
                let chunk: Bytes = chunk.map_err(|err| Status::from(read_error(err, &key)))?;
                sent += chunk.len() as u64;
                metrics::artifact_bytes_sent(chunk.len());
                yield pb::DownloadArtifactResponse { payload: Some(Payload::Chunk(chunk)) };
            }
            // The store must have had every recorded byte.
            if sent != expected {
                Err(Status::from(Error::ArtifactDataLoss { key: key.clone() }))?;
            }
        };
        Ok(Response::new(stream.boxed()))
    }

    async fn list_artifacts(
        &self,
        request: Request<pb::ListArtifactsRequest>,
    ) -> Result<Response<pb::ListArtifactsResponse>, Status> {
        let request = request.into_inner();
        let (model, limit) = both(
            ModelRef::parse(
                &request.model_registration_id,
                request.model_id.as_ref(),
                "",
            ),
            page_token::page_size(request.page_size),
        )?;
        let model = self.store.resolve(&model).await?;
        let before = match request.page_token.as_str() {
            "" => None,
            token => Some(page_token::decode_artifacts(token, model.id)?),
        };
        let page = self.store.list_artifacts(model.id, before, limit).await?;
        Ok(Response::new(pb::ListArtifactsResponse {
            artifacts: page
                .artifacts
                .iter()
                .map(|artifact| artifact_to_proto(artifact, &model))
                .collect(),
            next_page_token: page
                .next
                .map(|before| page_token::encode_artifacts(model.id, before))
                .unwrap_or_default(),
        }))
    }
}

/// A recorded artifact whose object is gone has lost data; other failures are the store's.
fn read_error(err: object_store::Error, key: &str) -> Error {
    match err {
        object_store::Error::NotFound { .. } => Error::ArtifactDataLoss {
            key: key.to_owned(),
        },
        err => Error::ArtifactStore(err),
    }
}
