//! A change of one registration as the core decided it: the registration it leaves, the
//! artifact record it adds, and the events that record it. The store persists it as a whole,
//! in one transaction, and decides nothing about it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AliasChange, Artifact, Etag, EventType, Registration};

#[derive(Clone, Debug)]
pub(crate) struct ModelChange {
    /// The registration as the change leaves it.
    pub(crate) registration: Registration,
    /// An artifact record the change adds.
    pub(crate) artifact: Option<ArtifactRecord>,
    /// What the change records, in order. Every write records at least one event: a change
    /// without any changes nothing.
    pub(crate) events: Vec<NewEvent>,
}

/// An artifact record, under the id its object key was made with.
#[derive(Clone, Debug)]
pub(crate) struct ArtifactRecord {
    pub(crate) id: Uuid,
    pub(crate) artifact: Artifact,
}

/// An event about to be recorded, in the transaction of its change; the store numbers it.
#[derive(Clone, Debug)]
pub(crate) struct NewEvent {
    pub(crate) kind: EventType,
    pub(crate) time: DateTime<Utc>,
    /// The registration after the change (before it, for a deregistration).
    pub(crate) registration: Registration,
    pub(crate) etag_before: Option<Etag>,
    pub(crate) alias: Option<AliasChange>,
}

impl NewEvent {
    pub(crate) fn etag_after(&self) -> Option<&Etag> {
        (self.kind != EventType::ModelDeregistered).then_some(&self.registration.etag)
    }

    /// An event of `registration` that leaves it as it is: its etag before is its etag now.
    pub(crate) fn of(
        kind: EventType,
        time: DateTime<Utc>,
        registration: &Registration,
        alias: Option<AliasChange>,
    ) -> Self {
        Self {
            kind,
            time,
            etag_before: Some(registration.etag.clone()),
            registration: registration.clone(),
            alias,
        }
    }
}

impl ModelChange {
    /// A new registration, recorded as MODEL_REGISTERED at its creation time.
    pub(crate) fn registered(registration: Registration) -> Self {
        let event = NewEvent {
            kind: EventType::ModelRegistered,
            time: registration.create_time,
            registration: registration.clone(),
            etag_before: None,
            alias: None,
        };
        Self {
            registration,
            artifact: None,
            events: vec![event],
        }
    }

    /// A change of `current` that changes nothing yet.
    pub(crate) fn of(current: Registration) -> Self {
        Self {
            registration: current,
            artifact: None,
            events: Vec::new(),
        }
    }

    /// Edits the registration at `time`, which gives it a new etag and update time, and
    /// records the edit as `kind`.
    pub(crate) fn revise(
        &mut self,
        kind: EventType,
        time: DateTime<Utc>,
        edit: impl FnOnce(&mut Registration),
    ) {
        let etag_before = std::mem::replace(&mut self.registration.etag, Etag::generate());
        edit(&mut self.registration);
        self.registration.update_time = time;
        self.events.push(NewEvent {
            kind,
            time,
            registration: self.registration.clone(),
            etag_before: Some(etag_before),
            alias: None,
        });
    }

    /// Whether the change writes anything.
    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}
