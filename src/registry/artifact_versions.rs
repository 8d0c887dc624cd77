//! Artifact versions: the version history an upload or a declaration moves forward. A
//! declaration records a version of bytes the client stored elsewhere (an external record, no
//! object); the version of an upload is the numbering's own (`ArtifactVersion::next`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Registry;
use super::models::not_found;
use crate::domain::{
    Action, Actor, Artifact, ArtifactRecord, ArtifactVersion, Caller, DeclareSpec, Error,
    EventType, ModelChange, ModelRef, Registration, Result, clock,
};
use crate::store::{Locked, Reading};

/// What a declaration left: the registration, and whether it recorded a new version (or the
/// version was already the current one).
#[derive(Clone, Debug)]
pub(crate) struct Declared {
    pub(crate) registration: Registration,
    pub(crate) recorded: bool,
}

impl Registry {
    /// Records a version of artifact bytes the caller stored elsewhere as the model's next
    /// artifact (see `declare`): a writer's call, as an upload is.
    pub(crate) async fn declare_artifact(
        &self,
        caller: &Caller,
        spec: DeclareSpec,
    ) -> Result<Declared> {
        caller.require(Action::Write)?;
        if let ModelRef::NameVersion(name, _) = &spec.model {
            caller.require_in_scope(name.as_str())?;
        }
        let model = self.resolve(caller, &spec.model).await?;
        let actor = Actor::of(caller, None);
        let store = self.store.clone();
        let version = spec.artifact_version;
        let decide = move |Locked {
                               registration,
                               next_artifact,
                           }: Locked| {
            let sequence = next_artifact.ok_or_else(missing_sequence)?;
            let mut change = ModelChange::of(registration);
            declare(&mut change, version, sequence, clock::now())?;
            Ok(change)
        };
        let change = super::detached(async move {
            store
                .change(model.id, &actor, Reading::WithNextArtifact, decide)
                .await
        })
        .await?
        .ok_or_else(|| not_found(model.id))?;
        let recorded = !change.is_empty();
        if recorded {
            tracing::info!(
                model_registration_id = %model.id,
                artifact_version = change.registration.artifact_version.as_str(),
                "external artifact declared"
            );
        }
        Ok(Declared {
            registration: change.registration,
            recorded,
        })
    }
}

/// Records `version`, declared by a client that stored the bytes elsewhere, as the
/// registration's `sequence`-th artifact. Declaring the current version again changes nothing
/// (a retried pipeline step is safe); a lower one is refused, so versions only go forward.
pub(super) fn declare(
    change: &mut ModelChange,
    version: ArtifactVersion,
    sequence: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let current = &change.registration.artifact_version;
    if *current == version {
        return Ok(());
    }
    if current.numbers() > version.numbers() {
        return Err(Error::ArtifactVersionBackwards {
            id: change.registration.id.to_string(),
            given: version.into_string(),
            current: current.as_str().to_owned(),
        });
    }
    record(
        change,
        Uuid::now_v7(),
        Artifact::external(sequence, version, now),
        now,
    );
    Ok(())
}

/// Makes `artifact` the registration's artifact version (a new etag and update time), with
/// its record and an ARTIFACT_STORED event.
pub(super) fn record(change: &mut ModelChange, id: Uuid, artifact: Artifact, now: DateTime<Utc>) {
    change.revise(EventType::ArtifactStored, now, |registration| {
        registration.artifact_version = artifact.version.clone();
    });
    change.artifact = Some(ArtifactRecord { id, artifact });
}

pub(super) fn missing_sequence() -> Error {
    Error::Internal("a change of artifacts read without the next sequence".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Etag, RegistrationId};

    fn registered(version: &str) -> ModelChange {
        let now = clock::now();
        ModelChange::of(Registration {
            id: RegistrationId::generate(),
            spec: super::super::testing::spec("m"),
            artifact_version: ArtifactVersion::stored(version.to_owned()),
            etag: Etag::generate(),
            create_time: now,
            update_time: now,
            aliases: Vec::new(),
        })
    }

    fn version(text: &str) -> ArtifactVersion {
        ArtifactVersion::stored(text.to_owned())
    }

    #[test]
    fn a_higher_version_is_recorded_with_a_new_etag_and_its_event() {
        let mut change = registered("1.0.0");
        let etag_before = change.registration.etag.clone();
        let now = clock::now();
        declare(&mut change, version("2.0.0"), 2, now).unwrap();
        assert_eq!(change.registration.artifact_version, version("2.0.0"));
        assert_ne!(change.registration.etag, etag_before);
        assert_eq!(change.registration.update_time, now);
        let record = change.artifact.as_ref().expect("a record");
        assert!(record.artifact.external);
        assert_eq!(record.artifact.sequence, 2);
        let [event] = change.events.as_slice() else {
            panic!("one event: {:?}", change.events);
        };
        assert_eq!(event.kind, EventType::ArtifactStored);
        assert_eq!(event.etag_before.as_ref(), Some(&etag_before));
        assert_eq!(event.etag_after(), Some(&change.registration.etag));
        assert_eq!(event.registration.artifact_version, version("2.0.0"));
    }

    #[test]
    fn the_current_version_changes_nothing() {
        let mut change = registered("1.2.0");
        declare(&mut change, version("1.2.0"), 3, clock::now()).unwrap();
        assert!(change.is_empty());
        assert!(change.artifact.is_none());
    }

    #[test]
    fn a_lower_version_is_refused() {
        let mut change = registered("1.2.0");
        let err = declare(&mut change, version("1.1.9"), 3, clock::now()).unwrap_err();
        assert!(
            matches!(err, Error::ArtifactVersionBackwards { .. }),
            "{err:?}"
        );
        assert!(change.is_empty());
    }
}
