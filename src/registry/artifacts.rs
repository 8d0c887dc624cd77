//! Artifacts: upload, download and list a model's stored bytes. An upload streams into the
//! object store while its size and SHA-256 are computed; the record is committed only after the
//! object is complete and verified, and every failure removes what was stored.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::Registry;
use super::artifact_versions::{missing_sequence, record};
use super::models::not_found;
use crate::domain::{
    Action, Actor, Artifact, ArtifactCursor, ArtifactRecord, ArtifactVersion, Caller, Error,
    FieldViolation, ModelChange, ModelIdentity, ModelRef, Page, PageSize, Result, StreamFailure,
    UploadSpec, clock,
};
use crate::objects::{ObjectUpload, Objects};
use crate::store::{Locked, Reading};

/// An artifact with the model it belongs to.
#[derive(Clone, Debug)]
pub(crate) struct StoredArtifact {
    pub(crate) model: ModelIdentity,
    pub(crate) artifact: Artifact,
}

impl Registry {
    /// Stores the bytes of `chunks` as the next artifact version of the model `spec` names.
    /// Detached: when the client goes away, the stream fails and what was stored is removed.
    pub(crate) async fn upload(
        &self,
        caller: &Caller,
        spec: UploadSpec,
        chunks: impl Stream<Item = Result<Bytes>> + Send + 'static,
    ) -> Result<StoredArtifact> {
        caller.require(Action::Write)?;
        // A name outside the scope is refused; an id outside it is not found.
        if let ModelRef::NameVersion(name, _) = &spec.model {
            caller.require_in_scope(name.as_str())?;
        }
        let model = self.resolve(caller, &spec.model).await?;
        // Dropped with this call: an upload whose caller went away stops reading and is not
        // committed.
        let (_waiting, waiting) = oneshot::channel::<()>();
        let actor = Actor::of(caller, None);
        super::detached(self.clone().receive(model, actor, spec, chunks, waiting)).await
    }

    async fn receive(
        self,
        model: ModelIdentity,
        actor: Actor,
        spec: UploadSpec,
        chunks: impl Stream<Item = Result<Bytes>>,
        mut caller: oneshot::Receiver<()>,
    ) -> Result<StoredArtifact> {
        if let Some(declared) = spec.size_bytes
            && declared > self.max_artifact_bytes
        {
            return Err(self.too_large());
        }
        let artifact_id = Uuid::now_v7();
        let key = Objects::object_key(model.id, artifact_id);
        let mut upload = self.objects.begin_upload(&key).await?;
        let sha256 = match self
            .receive_bytes(chunks, &mut upload, &spec, &mut caller)
            .await
        {
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
            return Err(err);
        }
        // A client that cancels may look like one that finished its stream: only an upload
        // that somebody still waits for is committed.
        if matches!(caller.try_recv(), Err(oneshot::error::TryRecvError::Closed)) {
            self.objects.delete(vec![key]).await;
            return Err(caller_gone());
        }
        // The registration is locked first, so concurrent uploads to one model take turns
        // and a concurrent delete either waits or wins (then `None`).
        let decide = |Locked {
                          registration,
                          next_artifact,
                      }: Locked| {
            let sequence = next_artifact.ok_or_else(missing_sequence)?;
            let now = clock::now();
            let artifact = Artifact {
                sequence,
                version: ArtifactVersion::next(&registration.artifact_version, sequence),
                object_key: key.clone(),
                size_bytes,
                sha256,
                filename: spec.filename,
                content_type: spec.content_type,
                create_time: now,
                external: false,
            };
            let mut change = ModelChange::of(registration);
            record(&mut change, artifact_id, artifact, now);
            Ok(change)
        };
        let committed = self
            .store
            .change(model.id, &actor, Reading::WithNextArtifact, decide)
            .await;
        match committed {
            Ok(Some(ModelChange {
                registration,
                artifact: Some(ArtifactRecord { artifact, .. }),
                ..
            })) => {
                tracing::info!(
                    model_registration_id = %registration.id,
                    artifact_version = artifact.version.as_str(),
                    size_bytes,
                    "artifact stored"
                );
                let model = ModelIdentity {
                    id: registration.id,
                    name: registration.spec.name.clone(),
                    version: registration.spec.version.clone(),
                };
                Ok(StoredArtifact { model, artifact })
            }
            // Deregistered while the bytes were arriving.
            Ok(None) => {
                self.objects.delete(vec![key]).await;
                Err(not_found(model.id))
            }
            // Committed: the bytes stay, whatever the answer.
            Ok(Some(_)) => Err(Error::Internal(
                "an upload committed without its record".into(),
            )),
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
        chunks: impl Stream<Item = Result<Bytes>>,
        upload: &mut ObjectUpload,
        spec: &UploadSpec,
        caller: &mut oneshot::Receiver<()>,
    ) -> Result<String> {
        let mut chunks = std::pin::pin!(chunks);
        loop {
            let chunk = tokio::select! {
                chunk = chunks.next() => match chunk {
                    Some(chunk) => chunk?,
                    None => break,
                },
                // The call ended (a deadline, a client gone) while the stream stays open.
                _ = &mut *caller => return Err(caller_gone()),
            };
            let size = upload.size() + chunk.len() as u64;
            // Stop as soon as a limit is crossed, not at the end of the stream.
            if size > self.max_artifact_bytes {
                return Err(self.too_large());
            }
            if let Some(declared) = spec.size_bytes
                && size > declared
            {
                return Err(Error::invalid_request(
                    "header.size_bytes",
                    format!("declares {declared} bytes, but more were sent"),
                ));
            }
            upload.write(chunk).await?;
        }
        verify(upload, spec)
    }

    fn too_large(&self) -> Error {
        Error::ArtifactTooLarge {
            limit: self.max_artifact_bytes,
        }
    }

    /// A page of a model's artifacts, newest first.
    pub(crate) async fn list_artifacts(
        &self,
        caller: &Caller,
        model: ModelRef,
        after: Option<ArtifactCursor>,
        page_size: PageSize,
    ) -> Result<(ModelIdentity, Page<Artifact, ArtifactCursor>)> {
        caller.require(Action::Read)?;
        let model = self.resolve(caller, &model).await?;
        if let Some(cursor) = after
            && cursor.model != model.id
        {
            return Err(Error::invalid_request(
                "page_token",
                "was issued for another model; send the model of the first request",
            ));
        }
        let before = after.map(|cursor| cursor.before_sequence);
        let page = self
            .store
            .list_artifacts(model.id, before, page_size)
            .await?;
        Ok((model, page))
    }

    /// The model `model` names, if the caller may see it: an unseen model is not found, by id
    /// or by name, exactly as a missing one.
    pub(super) async fn resolve(&self, caller: &Caller, model: &ModelRef) -> Result<ModelIdentity> {
        let found = self.store.resolve(model).await?;
        found
            .filter(|found| caller.sees(found.name.as_str()))
            .ok_or_else(|| self.not_found_error(model))
    }

    /// The NOT_FOUND of a model as a request named it.
    pub(super) fn not_found_error(&self, model: &ModelRef) -> Error {
        match model {
            ModelRef::Id(id) => not_found(*id),
            ModelRef::NameVersion(name, version) => Error::ModelNotFound {
                name: name.to_string(),
                version: version.to_string(),
            },
            ModelRef::NameAlias(name, alias) => Error::AliasNotFound {
                name: name.to_string(),
                alias: alias.to_string(),
            },
        }
    }
}

fn caller_gone() -> Error {
    Error::UploadStream {
        failure: StreamFailure::Cancelled,
        message: "the call ended before the upload was committed".into(),
    }
}

/// Checks what arrived against what the header declared; reports every difference.
fn verify(upload: &ObjectUpload, spec: &UploadSpec) -> Result<String> {
    let size = upload.size();
    let sha256 = hex::encode(upload.sha256());
    let mut violations = Vec::new();
    if size == 0 {
        violations.push(FieldViolation::request(
            "chunk",
            "the artifact is empty; send at least one byte",
        ));
    }
    if let Some(declared) = spec.size_bytes
        && declared != size
    {
        violations.push(FieldViolation::request(
            "header.size_bytes",
            format!("declares {declared} bytes, but {size} were sent"),
        ));
    }
    if let Some(declared) = &spec.sha256
        && *declared != sha256
    {
        violations.push(FieldViolation::request(
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
