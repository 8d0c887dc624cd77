//! The event log: events are appended by the transaction of the change they record, numbered
//! in commit order (see `numbering`), and read back in that order by watchers, by the audit
//! view and by the pruner.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entity::event_log;
use super::entity::model_event::{
    self as event, StoredAliasChange, StoredEnvironment, StoredRegistration,
};
use super::{Store, rows, split_page};
use crate::domain::{
    Alias, AliasChange, ArtifactVersion, DataTypeSpelling, Etag, Event, EventQuery, EventType,
    ModelFields, ModelName, ModelSpec, ModelVersion, NewEvent, Page, Registration, RegistrationId,
    Result, Scope, TargetEnvironment, Via,
};

/// Events the pruner deletes in one transaction.
const PRUNE_BATCH: u64 = 5_000;

/// How far the log reaches: events after `pruned_through`, up to `last`, are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LogPosition {
    pub(crate) last: i64,
    pub(crate) pruned_through: i64,
}

impl Store {
    /// The log's reach now.
    pub(crate) async fn log_position(&self) -> Result<LogPosition> {
        let row = event_log::Entity::find_by_id(1)
            .one(&self.reader)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the event_log row".into()))?;
        Ok(LogPosition {
            last: row.last_sequence,
            pruned_through: row.pruned_through,
        })
    }

    /// Up to `limit` events after `after`, oldest first.
    pub(crate) async fn events_after(&self, after: i64, limit: u64) -> Result<Vec<Event>> {
        read_after(&self.reader, after, limit).await
    }

    /// The feed's read of up to `limit` events after `after`, oldest first: on the log's own
    /// connections where it has them, so that it never queues behind writers for the pool.
    pub(crate) async fn new_events_after(&self, after: i64, limit: u64) -> Result<Vec<Event>> {
        read_after(self.numbering.log().unwrap_or(&self.reader), after, limit).await
    }

    /// A page of the audit view among the events of `scope`.
    pub(crate) async fn list_events(
        &self,
        query: EventQuery,
        scope: &Scope,
    ) -> Result<Page<Event, i64>> {
        // The audit view shows every change whose call has answered.
        self.number_events().await?;
        let limit = query.page_size.get();
        let backend = self.backend();
        let mut select = event::Entity::find();
        if let Some(in_scope) =
            super::scope::condition_on(scope, self.backend(), Expr::col(event::Column::ModelName))
        {
            select = select.filter(in_scope);
        }
        if let Some(id) = query.registration {
            select = select.filter(event::Column::ModelRelatedInformationId.eq(id.uuid()));
        }
        if let Some(name) = query.model_name {
            select = select.filter(event::Column::ModelName.eq(name));
        }
        if let Some(actor) = query.actor {
            select = select.filter(event::Column::Actor.eq(actor));
        }
        if !query.types.is_empty() {
            select = select
                .filter(event::Column::EventType.is_in(query.types.iter().map(|t| t.as_str())));
        }
        if let Some(start) = query.start_time {
            select = select.filter(event::Column::EventTime.gte(rows::time_value(start, backend)));
        }
        if let Some(end) = query.end_time {
            select = select.filter(event::Column::EventTime.lt(rows::time_value(end, backend)));
        }
        select = match (query.newest_first, query.after) {
            (false, Some(after)) => select.filter(event::Column::Sequence.gt(after)),
            (true, Some(after)) => select.filter(event::Column::Sequence.lt(after)),
            (_, None) => select,
        };
        select = if query.newest_first {
            select.order_by_desc(event::Column::Sequence)
        } else {
            select.order_by_asc(event::Column::Sequence)
        };
        // One extra row tells whether another page follows.
        let rows = select.limit(limit + 1).all(&self.reader).await?;
        let (rows, next) = split_page(rows, limit, |last| last.sequence);
        Ok(Page {
            items: rows.into_iter().map(event).collect::<Result<_>>()?,
            next,
        })
    }

    /// Deletes the events older than `before`, a batch per transaction, and records how far
    /// the log now reaches back. Returns how many were deleted.
    pub(crate) async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut deleted = 0;
        loop {
            // The newest event of the next batch that is old enough.
            let batch: Vec<i64> = event::Entity::find()
                .select_only()
                .column(event::Column::Sequence)
                .filter(event::Column::EventTime.lt(rows::time_value(before, self.backend())))
                .order_by_asc(event::Column::Sequence)
                .limit(PRUNE_BATCH)
                .into_tuple()
                .all(&self.reader)
                .await?;
            let Some(&through) = batch.last() else {
                return Ok(deleted);
            };
            let txn = self.begin_write().await?;
            let pruned = async {
                let result = event::Entity::delete_many()
                    .filter(event::Column::Sequence.lte(through))
                    .exec(&txn)
                    .await?;
                // Last, so that the counter's row is locked only for the commit.
                // Another replica may have pruned further already.
                event_log::Entity::update_many()
                    .col_expr(event_log::Column::PrunedThrough, Expr::value(through))
                    .filter(event_log::Column::Id.eq(1))
                    .filter(event_log::Column::PrunedThrough.lt(through))
                    .exec(&txn)
                    .await?;
                Ok(result.rows_affected)
            }
            .await;
            deleted += super::registrations::settle(txn, pruned).await?;
            if (batch.len() as u64) < PRUNE_BATCH {
                return Ok(deleted);
            }
        }
    }
}

async fn read_after(db: &DatabaseConnection, after: i64, limit: u64) -> Result<Vec<Event>> {
    let rows = event::Entity::find()
        .filter(event::Column::Sequence.gt(after))
        .order_by_asc(event::Column::Sequence)
        .limit(limit)
        .all(db)
        .await?;
    rows.into_iter().map(event).collect()
}

pub(super) fn event_row(sequence: i64, new: &NewEvent<'_>) -> event::Model {
    let registration = new.registration;
    let spec = &registration.spec;
    event::Model {
        sequence,
        event_time: new.time,
        event_type: new.kind.as_str().to_owned(),
        model_related_information_id: registration.id.uuid(),
        model_name: spec.name.as_str().to_owned(),
        model_version: spec.version.as_str().to_owned(),
        artifact_version: registration.artifact_version.as_str().to_owned(),
        etag_before: new.etag_before.map(|etag| etag.as_str().to_owned()),
        etag_after: new.etag_after().map(|etag| etag.as_str().to_owned()),
        actor: new.actor.principal.clone(),
        request_id: new
            .actor
            .request_id
            .as_ref()
            .map(|id| id.as_str().to_owned()),
        via: new.actor.via.map(|via| via.as_str().to_owned()),
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
            alias_change: new.alias.map(|change| StoredAliasChange {
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

fn event(row: event::Model) -> Result<Event> {
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
