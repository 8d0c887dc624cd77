//! Registration and discovery: register, get, update, delete and list models.

use super::Registry;
use crate::domain::{
    ArtifactVersion, Error, Etag, ListQuery, ModelCursor, ModelSpec, Page, Patch, Registration,
    RegistrationId, RequestId, Result,
};
use crate::store::Inserted;

impl Registry {
    /// Registers a model. A retry with the `request_id` of an earlier registration gets that
    /// registration instead of ALREADY_EXISTS (AIP-155).
    pub(crate) async fn register(
        &self,
        spec: ModelSpec,
        request_id: Option<RequestId>,
    ) -> Result<Registration> {
        if let Some(earlier) = self.earlier_registration(request_id.as_ref()).await? {
            return Ok(earlier);
        }
        let now = crate::store::now();
        let new = Registration {
            id: RegistrationId::generate(),
            spec,
            artifact_version: ArtifactVersion::initial(),
            etag: Etag::generate(),
            create_time: now,
            update_time: now,
        };
        match self.store.insert(&new, request_id.as_ref()).await? {
            Inserted::Created => Ok(new),
            // Either the name and version are taken, or a concurrent retry with the same
            // request id won the race: then its registration is the answer.
            Inserted::Duplicate => match self.earlier_registration(request_id.as_ref()).await? {
                Some(earlier) => Ok(earlier),
                None => Err(Error::ModelAlreadyRegistered {
                    name: new.spec.name.to_string(),
                    version: new.spec.version.to_string(),
                }),
            },
        }
    }

    async fn earlier_registration(
        &self,
        request_id: Option<&RequestId>,
    ) -> Result<Option<Registration>> {
        match request_id {
            Some(request_id) => self.store.find_by_request_id(request_id).await,
            None => Ok(None),
        }
    }

    pub(crate) async fn get(&self, id: RegistrationId) -> Result<Registration> {
        self.store.get(id).await?.ok_or_else(|| not_found(id))
    }

    /// Applies `patch` to the stored model if `etag` (when given) is still current; the result
    /// is validated as a whole, like a registration.
    pub(crate) async fn update(
        &self,
        id: RegistrationId,
        etag: Option<Etag>,
        patch: Patch,
    ) -> Result<Registration> {
        self.store
            .update(id, |current| {
                check_etag(id, &current.etag, etag.as_ref())?;
                patch.apply_to(&current.spec)
            })
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Deregisters a model with its environments and artifacts. The artifacts' bytes are
    /// removed once the deletion is committed, also when the client stops waiting; an object
    /// that cannot be removed is logged (and left to the sweeper).
    pub(crate) async fn delete(&self, id: RegistrationId, etag: Option<Etag>) -> Result<()> {
        super::detached(self.clone().delete_now(id, etag)).await
    }

    async fn delete_now(self, id: RegistrationId, etag: Option<Etag>) -> Result<()> {
        let keys = self
            .store
            .delete(id, |current| check_etag(id, current, etag.as_ref()))
            .await?
            .ok_or_else(|| not_found(id))?;
        self.objects.delete(keys).await;
        Ok(())
    }

    pub(crate) async fn list(&self, query: ListQuery) -> Result<Page<Registration, ModelCursor>> {
        self.store.list(query).await
    }
}

fn check_etag(id: RegistrationId, current: &Etag, given: Option<&Etag>) -> Result<()> {
    match given {
        Some(given) if given != current => Err(Error::EtagMismatch {
            id: id.to_string(),
            given: given.as_str().to_owned(),
        }),
        _ => Ok(()),
    }
}

pub(super) fn not_found(id: RegistrationId) -> Error {
    Error::RegistrationNotFound { id: id.to_string() }
}
