//! Registration and discovery: register, get, update, delete and list models.

use std::sync::Arc;

use super::Registry;
use crate::domain::{
    Action, Actor, AliasChange, ArtifactVersion, Caller, Error, Etag, EventType, Held, ListQuery,
    ModelChange, ModelCursor, ModelRef, ModelSpec, NewEvent, Page, Patch, Registration,
    RegistrationId, RequestId, Result, clock,
};
use crate::store::{Inserted, Locked, Reading};

impl Registry {
    /// Registers a model. A retry with the `request_id` of an earlier registration gets that
    /// registration instead of ALREADY_EXISTS (AIP-155). The name must be one the caller may
    /// use, whether or not it is taken. Like every operation that opens a transaction, it runs
    /// detached: a call dropped at its deadline must not drop the transaction half-way (the
    /// driver could hand its connection to the next caller still inside it).
    pub(crate) async fn register(
        &self,
        caller: &Caller,
        spec: ModelSpec,
        request_id: Option<RequestId>,
    ) -> Result<Registration> {
        caller.require(Action::Write)?;
        caller.require_in_scope(spec.name.as_str())?;
        super::detached(self.clone().register_now(caller.clone(), spec, request_id)).await
    }

    async fn register_now(
        self,
        caller: Caller,
        spec: ModelSpec,
        request_id: Option<RequestId>,
    ) -> Result<Registration> {
        let caller = &caller;
        if let Some(earlier) = self
            .earlier_registration(caller, request_id.as_ref())
            .await?
        {
            return Ok(earlier);
        }
        let now = clock::now();
        let new = Registration {
            id: RegistrationId::generate(),
            spec,
            artifact_version: ArtifactVersion::initial(),
            etag: Etag::generate(),
            create_time: now,
            update_time: now,
            aliases: Vec::new(),
        };
        let actor = Actor::of(caller, request_id.as_ref());
        let change = ModelChange::registered(new);
        match self.store.insert(&change, &actor).await? {
            Inserted::Created => Ok(change.registration),
            // Either the name and version are taken, or a concurrent retry with the same
            // request id won the race: then its registration is the answer.
            Inserted::Duplicate => match self
                .earlier_registration(caller, request_id.as_ref())
                .await?
            {
                Some(earlier) => Ok(earlier),
                None => Err(Error::ModelAlreadyRegistered {
                    name: change.registration.spec.name.to_string(),
                    version: change.registration.spec.version.to_string(),
                }),
            },
        }
    }

    /// The registration an earlier request with `request_id` made. One the caller may not see
    /// is not its answer: the request id is then taken, and says nothing more.
    async fn earlier_registration(
        &self,
        caller: &Caller,
        request_id: Option<&RequestId>,
    ) -> Result<Option<Registration>> {
        let Some(request_id) = request_id else {
            return Ok(None);
        };
        match self.store.find_by_request_id(request_id).await? {
            Some(earlier) if caller.sees(earlier.spec.name.as_str()) => Ok(Some(earlier)),
            Some(_) => Err(Error::invalid_request(
                "request_id",
                "was sent with another registration; use a new request id",
            )),
            None => Ok(None),
        }
    }

    /// A registration the caller may see; outside its scope a model does not exist for it.
    pub(crate) async fn get(&self, caller: &Caller, id: RegistrationId) -> Result<Registration> {
        self.get_by(caller, ModelRef::Id(id)).await
    }

    /// Applies `patch` to the stored model if `etag` (when given) is still current; the result
    /// is validated as a whole, like a registration. It gets a new etag and update time, and a
    /// MODEL_UPDATED event; an artifact version it declares is recorded after the edit (see
    /// `declare_artifact`), in the same transaction.
    pub(crate) async fn update(
        &self,
        caller: &Caller,
        id: RegistrationId,
        etag: Option<Etag>,
        patch: Patch,
    ) -> Result<Registration> {
        caller.require(Action::Write)?;
        super::detached(self.clone().update_now(caller.clone(), id, etag, patch)).await
    }

    async fn update_now(
        self,
        caller: Caller,
        id: RegistrationId,
        etag: Option<Etag>,
        mut patch: Patch,
    ) -> Result<Registration> {
        let actor = Actor::of(&caller, None);
        let declared = patch.artifact_version.take();
        let reading = match declared {
            Some(_) => Reading::WithNextArtifact,
            None => Reading::Registration,
        };
        let decide = |Locked {
                          registration: current,
                          next_artifact,
                      }: Locked| {
            // Before the etag: an unseen model must not answer ABORTED.
            if !caller.sees(current.spec.name.as_str()) {
                return Err(not_found(id));
            }
            check_etag(id, &current.etag, etag.as_ref())?;
            let spec = patch.apply_to(&current.spec)?;
            let now = clock::now();
            let mut change = ModelChange::of(current);
            change.revise(EventType::ModelUpdated, now, |edited| edited.spec = spec);
            if let (Some(version), Some(sequence)) = (declared, next_artifact) {
                super::artifact_versions::declare(&mut change, version, sequence, now)?;
            }
            Ok(change)
        };
        let change = self
            .store
            .change(id, &actor, reading, decide)
            .await?
            .ok_or_else(|| not_found(id))?;
        Ok(change.registration)
    }

    /// Deregisters a model with its environments and artifacts, recording ALIAS_DELETED for
    /// each of its aliases and then MODEL_DEREGISTERED. The artifacts' bytes are removed once
    /// the deletion is committed, also when the client stops waiting; an object that cannot be
    /// removed is logged (and left to the sweeper).
    pub(crate) async fn delete(
        &self,
        caller: &Caller,
        id: RegistrationId,
        etag: Option<Etag>,
    ) -> Result<()> {
        caller.require(Action::Delete)?;
        super::detached(self.clone().delete_now(caller.clone(), id, etag)).await
    }

    async fn delete_now(
        self,
        caller: Caller,
        id: RegistrationId,
        etag: Option<Etag>,
    ) -> Result<()> {
        let actor = Actor::of(&caller, None);
        let keys = self
            .store
            .delete(id, &actor, |last| {
                if !caller.sees(last.spec.name.as_str()) {
                    return Err(not_found(id));
                }
                check_etag(id, &last.etag, etag.as_ref())?;
                let now = clock::now();
                // Its aliases go with it, each an event of its own, so that a watcher of alias
                // moves learns that the alias is gone. The events keep the registration as it
                // was.
                let mut events: Vec<NewEvent> = last
                    .aliases
                    .iter()
                    .map(|alias| {
                        let change = AliasChange {
                            alias: alias.clone(),
                            previous: None,
                        };
                        NewEvent::of(EventType::AliasDeleted, now, last, Some(change))
                    })
                    .collect();
                events.push(NewEvent::of(EventType::ModelDeregistered, now, last, None));
                Ok(events)
            })
            .await?
            .ok_or_else(|| not_found(id))?;
        self.objects.delete(keys).await;
        Ok(())
    }

    /// A page of the models the caller may see, with the sequence of the event log it was
    /// read at: the scope is part of the query, so pages stay full and their tokens stay valid.
    pub(crate) async fn list(
        &self,
        caller: &Caller,
        query: ListQuery,
    ) -> Result<(Page<Arc<Held>, ModelCursor>, i64)> {
        caller.require(Action::Read)?;
        if let Some(answer) = self.cache.page(&self.store, &query, &caller.scope).await? {
            return Ok(answer);
        }
        // Detached like the writes: it reads in a transaction.
        let (store, scope) = (self.store.clone(), caller.scope.clone());
        let (page, sequence) =
            super::detached(async move { store.list(query, &scope).await }).await?;
        let Page { items, next } = page;
        let items = items.into_iter().map(Held::new).collect();
        Ok((Page { items, next }, sequence))
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
