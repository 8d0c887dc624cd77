//! Downloads: an artifact's bytes from an offset, checked against what was recorded.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use super::{Registry, StoredArtifact};
use crate::domain::{Action, Artifact, Caller, DownloadSpec, Error, ModelIdentity, Result};

/// A download: what is sent, then its bytes from the requested offset. The byte stream ends
/// with an error if the store has fewer bytes than recorded.
pub(crate) struct Download {
    pub(crate) info: StoredArtifact,
    pub(crate) bytes: BoxStream<'static, Result<Bytes>>,
}

impl Registry {
    /// An artifact of a model (the latest without a version) and its bytes from an offset.
    pub(crate) async fn download(&self, caller: &Caller, spec: DownloadSpec) -> Result<Download> {
        caller.require(Action::Read)?;
        let model = self.resolve(caller, &spec.model).await?;
        let artifact = self
            .store
            .find_artifact(model.id, spec.artifact_version.as_ref())
            .await?
            .ok_or_else(|| Error::ArtifactNotFound {
                id: model.id.to_string(),
                version: spec.artifact_version.map(|v| v.into_string()),
            })?;
        if artifact.external {
            return Err(Error::ArtifactNotHeld {
                id: model.id.to_string(),
                version: artifact.version.into_string(),
            });
        }
        let size = artifact.size_bytes;
        if spec.offset > size {
            return Err(Error::OffsetOutOfRange {
                offset: spec.offset,
                size,
            });
        }
        // Opened before answering, so a missing object is an error, not a broken stream.
        let body = if spec.offset < size {
            match self
                .objects
                .read(&artifact.object_key, spec.offset..size)
                .await
            {
                Ok(body) => body,
                Err(err) => return Err(self.unless_deleted(err, &model, &artifact).await),
            }
        } else {
            futures::stream::empty().boxed()
        };
        let bytes = self.complete(body, size - spec.offset, model.clone(), artifact.clone());
        Ok(Download {
            info: StoredArtifact { model, artifact },
            bytes,
        })
    }

    /// `body`, failing at its end if it held fewer than `expected` bytes: the store must have
    /// had every recorded byte.
    fn complete(
        &self,
        body: BoxStream<'static, Result<Bytes>>,
        expected: u64,
        model: ModelIdentity,
        artifact: Artifact,
    ) -> BoxStream<'static, Result<Bytes>> {
        let registry = self.clone();
        async_stream::try_stream! {
            let mut body = body;
            let mut sent = 0;
            while let Some(chunk) = body.next().await {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(err) => Err(registry.unless_deleted(err, &model, &artifact).await)?,
                };
                sent += chunk.len() as u64;
                yield chunk;
            }
            if sent != expected {
                let lost = Error::ArtifactDataLoss { key: artifact.object_key.clone() };
                Err(registry.unless_deleted(lost, &model, &artifact).await)?;
            }
        }
        .boxed()
    }

    /// A read of an artifact's bytes failed: when the artifact was deleted meanwhile, it is
    /// simply not found any more; otherwise the failure stands (lost bytes are data loss).
    async fn unless_deleted(
        &self,
        err: Error,
        model: &ModelIdentity,
        artifact: &Artifact,
    ) -> Error {
        if !matches!(err, Error::ArtifactDataLoss { .. }) {
            return err;
        }
        match self
            .store
            .find_artifact(model.id, Some(&artifact.version))
            .await
        {
            Ok(Some(_)) => err,
            Ok(None) => Error::ArtifactNotFound {
                id: model.id.to_string(),
                version: Some(artifact.version.as_str().to_owned()),
            },
            Err(check_failed) => {
                tracing::warn!(error = %check_failed, "cannot tell a lost artifact from a deleted one");
                err
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Caller, ModelRef, UploadSpec};
    use crate::registry::testing::{registry, spec};

    #[tokio::test]
    async fn lost_bytes_of_a_deleted_artifact_are_not_found_rather_than_lost() {
        let folder = tempfile::tempdir().unwrap();
        let registry = registry(folder.path()).await;
        let admin = Caller::anonymous_admin();
        let registration = registry.register(&admin, spec("qoe"), None).await.unwrap();
        let chunks = futures::stream::iter([Ok(Bytes::from_static(b"weights"))]);
        let upload = UploadSpec {
            model: ModelRef::Id(registration.id),
            sha256: None,
            size_bytes: None,
            filename: "m".into(),
            content_type: "application/octet-stream".into(),
        };
        let stored = registry.upload(&admin, upload, chunks).await.unwrap();
        let lost = || Error::ArtifactDataLoss {
            key: stored.artifact.object_key.clone(),
        };

        let still_recorded = registry
            .unless_deleted(lost(), &stored.model, &stored.artifact)
            .await;
        assert_eq!(still_recorded.reason(), "ARTIFACT_DATA_LOSS");

        registry
            .delete(&admin, registration.id, None)
            .await
            .unwrap();
        let deleted_meanwhile = registry
            .unless_deleted(lost(), &stored.model, &stored.artifact)
            .await;
        assert_eq!(deleted_meanwhile.reason(), "ARTIFACT_NOT_FOUND");
    }
}
