//! The event log: events are appended by the transaction of the change they record, numbered
//! in commit order (see `numbering`), and read back in that order by watchers, by the audit
//! view and by the pruner.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entity::event_log;
use super::entity::model_event as event;
use super::event_rows::event;
use super::transaction::settle;
use super::{Store, rows, split_page};
use crate::domain::{Event, EventQuery, Page, Result, Scope};

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

    /// The log's last sequence, and how many committed events wait for their number.
    pub(crate) async fn log_backlog(&self) -> Result<(i64, i64)> {
        Ok(super::numbering::position_in(&self.reader).await?)
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
            deleted += settle(txn, pruned).await?;
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
