//! Events ⇄ their rows: the log stores each event with a snapshot of its registration as the
//! change left it, so that it reads back whole after the registration has changed again.

use super::entity::model_event::{
    self as event, StoredAliasChange, StoredEnvironment, StoredRegistration,
};
use crate::domain::{
    Actor, Alias, AliasChange, ArtifactVersion, DataTypeSpelling, Etag, Event, EventType,
    ModelFields, ModelName, ModelSpec, ModelVersion, NewEvent, Registration, RegistrationId,
    Result, TargetEnvironment, Via,
};

pub(super) fn event_row(sequence: i64, new: &NewEvent, actor: &Actor) -> event::Model {
    let registration = &new.registration;
    let spec = &registration.spec;
    event::Model {
        sequence,
        event_time: new.time,
        event_type: new.kind.as_str().to_owned(),
        model_related_information_id: registration.id.uuid(),
        model_name: spec.name.as_str().to_owned(),
        model_version: spec.version.as_str().to_owned(),
        artifact_version: registration.artifact_version.as_str().to_owned(),
        etag_before: new
            .etag_before
            .as_ref()
            .map(|etag| etag.as_str().to_owned()),
        etag_after: new.etag_after().map(|etag| etag.as_str().to_owned()),
        actor: actor.principal.clone(),
        request_id: actor.request_id.as_ref().map(|id| id.as_str().to_owned()),
        via: actor.via.map(|via| via.as_str().to_owned()),
        registration: StoredRegistration {
            description: spec.description.clone(),
            location: spec.location.clone(),
            author: spec.author.clone(),
            owner: spec.owner.clone(),
            input_data_type: spec.input_data_type.clone(),
            output_data_type: spec.output_data_type.clone(),
            target_environments: spec
                .target_environments
                .iter()
                .map(|env| StoredEnvironment {
                    platform_name: env.platform_name.clone(),
                    environment_type: env.environment_type.clone(),
                    dependency_list: env.dependency_list.clone(),
                })
                .collect(),
            etag: registration.etag.as_str().to_owned(),
            create_time: registration.create_time,
            update_time: registration.update_time,
            labels: spec.labels.clone(),
            aliases: registration
                .aliases
                .iter()
                .map(|alias| alias.as_str().to_owned())
                .collect(),
            input_data_type_text: spec.data_type_spelling.input.clone(),
            output_data_type_text: spec.data_type_spelling.output.clone(),
            alias_change: new.alias.as_ref().map(|change| StoredAliasChange {
                alias: change.alias.as_str().to_owned(),
                previous_registration_id: change.previous.as_ref().map(|(id, _)| id.uuid()),
                previous_version: change
                    .previous
                    .as_ref()
                    .map(|(_, version)| version.as_str().to_owned()),
            }),
        },
    }
}

pub(super) fn event(row: event::Model) -> Result<Event> {
    let kind = EventType::from_stored(&row.event_type).ok_or_else(|| {
        crate::domain::Error::Internal(
            format!("unknown stored event type {}", row.event_type).into(),
        )
    })?;
    let stored = row.registration;
    let spec = ModelSpec::stored(ModelFields {
        name: ModelName::stored(row.model_name),
        version: ModelVersion::stored(row.model_version),
        description: stored.description,
        location: stored.location,
        author: stored.author,
        owner: stored.owner,
        input_data_type: stored.input_data_type,
        output_data_type: stored.output_data_type,
        target_environments: stored
            .target_environments
            .into_iter()
            .map(|env| TargetEnvironment {
                platform_name: env.platform_name,
                environment_type: env.environment_type,
                dependency_list: env.dependency_list,
            })
            .collect(),
        labels: stored.labels,
        data_type_spelling: DataTypeSpelling {
            input: stored.input_data_type_text,
            output: stored.output_data_type_text,
        },
    });
    let alias = stored.alias_change.map(|change| AliasChange {
        alias: Alias::stored(change.alias),
        previous: change
            .previous_registration_id
            .zip(change.previous_version)
            .map(|(id, version)| (RegistrationId::from_uuid(id), ModelVersion::stored(version))),
    });
    let artifact_version = ArtifactVersion::stored(row.artifact_version);
    Ok(Event {
        sequence: row.sequence,
        time: row.event_time,
        kind,
        artifact_version: (kind == EventType::ArtifactStored).then(|| artifact_version.clone()),
        registration: Registration {
            id: RegistrationId::from_uuid(row.model_related_information_id),
            spec,
            artifact_version,
            etag: Etag::stored(stored.etag),
            create_time: stored.create_time,
            update_time: stored.update_time,
            aliases: stored.aliases.into_iter().map(Alias::stored).collect(),
        },
        etag_before: row.etag_before.map(Etag::stored),
        etag_after: row.etag_after.map(Etag::stored),
        actor: row.actor,
        request_id: row.request_id,
        via: row.via.as_deref().and_then(Via::from_stored),
        alias,
    })
}
