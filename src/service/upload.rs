//! UploadArtifact: header first, then chunks streamed straight into the object store while
//! their size and SHA-256 are computed; the record is committed only after the object is
//! complete and verified. Every failure removes what was stored.

use tonic::Streaming;
use uuid::Uuid;

use super::artifacts::ArtifactService;
use crate::artifact_store::{ArtifactStore, ObjectUpload};
use crate::convert::artifact_to_proto;
use crate::domain::UploadSpec;
use crate::error::{Error, Result};
use crate::metrics;
use crate::pb::{self, upload_artifact_request::Payload};
use crate::store::NewArtifact;

type Requests = Streaming<pb::UploadArtifactRequest>;

impl ArtifactService {
    pub(super) async fn receive(self, mut requests: Requests) -> Result<pb::ArtifactInfo> {
        let spec = read_header(&mut requests).await?;
        if let Some(declared) = spec.size_bytes
            && declared > self.max_bytes
        {
            return Err(self.too_large());
        }
        let model = self.store.resolve(&spec.model).await?;
        let artifact_id = Uuid::now_v7();
        let key = ArtifactStore::object_key(model.id, artifact_id);
        let mut upload = self.objects.begin_upload(&key).await?;
        let sha256 = match self.receive_bytes(&mut requests, &mut upload, &spec).await {
            Ok(sha256) => sha256,
            Err(err) => {
                upload.abort().await;
                return Err(err);
            }
        };
        let size_bytes = upload.size();
        if let Err(err) = upload.finish().await {
            // A failed completion may still have left an object behind.
            self.objects.delete(vec![key]).await;
            return Err(err.into());
        }
        let committed = self
            .store
            .commit_artifact(NewArtifact {
                id: artifact_id,
                registration_id: model.id,
                object_key: key.clone(),
                size_bytes,
                sha256,
                filename: spec.filename,
                content_type: spec.content_type,
            })
            .await;
        match committed {
            Ok((artifact, model)) => {
                tracing::info!(
                    model_registration_id = %model.id,
                    artifact_version = %artifact.artifact_version,
                    size_bytes,
                    "artifact stored"
                );
                Ok(artifact_to_proto(&artifact, &model))
            }
            Err(err) => {
                self.objects.delete(vec![key]).await;
                Err(err)
            }
        }
    }

    /// Streams every chunk into `upload`, stopping at the first violation; returns the
    /// verified SHA-256 in lowercase hex.
    async fn receive_bytes(
        &self,
        requests: &mut Requests,
        upload: &mut ObjectUpload,
        spec: &UploadSpec,
    ) -> Result<String> {
        while let Some(request) = requests.message().await.map_err(cancelled)? {
            let chunk = match request.payload {
                Some(Payload::Chunk(chunk)) => chunk,
                Some(Payload::Header(_)) => {
                    return Err(Error::invalid_field(
                        "header",
                        "must be sent once, in the first message",
                    ));
                }
                None => {
                    return Err(Error::invalid_field(
                        "chunk",
                        "every message after the header must carry a chunk",
                    ));
                }
            };
            let size = upload.size() + chunk.len() as u64;
            // Stop as soon as a limit is crossed, not at the end of the stream.
            if size > self.max_bytes {
                return Err(self.too_large());
            }
            if let Some(declared) = spec.size_bytes
                && size > declared
            {
                return Err(Error::invalid_field(
                    "header.size_bytes",
                    format!("declares {declared} bytes, but more were sent"),
                ));
            }
            let received = chunk.len();
            upload.write(chunk).await?;
            metrics::artifact_bytes_received(received);
        }
        verify(upload, spec)
    }

    fn too_large(&self) -> Error {
        Error::ArtifactTooLarge {
            limit: self.max_bytes,
        }
    }
}

async fn read_header(requests: &mut Requests) -> Result<UploadSpec> {
    match requests.message().await.map_err(cancelled)? {
        Some(pb::UploadArtifactRequest {
            payload: Some(Payload::Header(header)),
        }) => UploadSpec::parse(&header),
        Some(_) => Err(Error::invalid_field(
            "header",
            "must come first: the first message carried no header",
        )),
        None => Err(Error::invalid_field(
            "header",
            "is required: the stream ended before its first message",
        )),
    }
}

/// Checks what arrived against what the header declared; reports every difference.
fn verify(upload: &ObjectUpload, spec: &UploadSpec) -> Result<String> {
    let size = upload.size();
    let sha256 = hex::encode(upload.sha256());
    let mut violations = Vec::new();
    if size == 0 {
        violations.push(tonic_types::FieldViolation::new(
            "chunk",
            "the artifact is empty; send at least one byte",
        ));
    }
    if let Some(declared) = spec.size_bytes
        && declared != size
    {
        violations.push(tonic_types::FieldViolation::new(
            "header.size_bytes",
            format!("declares {declared} bytes, but {size} were sent"),
        ));
    }
    if let Some(declared) = &spec.sha256
        && *declared != sha256
    {
        violations.push(tonic_types::FieldViolation::new(
            "header.sha256",
            format!("does not match the SHA-256 of the bytes received ({sha256})"),
        ));
    }
    if violations.is_empty() {
        Ok(sha256)
    } else {
        Err(Error::InvalidArgument(violations))
    }
}

fn cancelled(status: tonic::Status) -> Error {
    Error::UploadCancelled(status.message().to_owned())
}
