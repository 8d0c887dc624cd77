//! Model change subscriptions, and the leases by which exactly one replica delivers each: a
//! replica claims the subscriptions whose lease is free or has run out, renews its own, and
//! writes a subscription's progress only while it still holds the lease (each write checks
//! it), so that a replica that lost its lease (paused, cut off) stops without overwriting the
//! progress of the one that took over.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Value,
};

use super::Store;
use super::entity::model_subscription::{self as row, StoredTypes};
use super::rows::time_value;
use crate::domain::{
    Delivery, Error, EventType, ModelVersion, NamePattern, Result, Scope, Subscription,
    SubscriptionFilter, SubscriptionId,
};

/// Whose subscriptions a request may see.
#[derive(Clone, Debug)]
pub(crate) enum Owners {
    Everyone,
    /// A principal's.
    Only(String),
}

impl Store {
    /// Stores a new subscription with its sealed signing secret.
    pub(crate) async fn insert_subscription(
        &self,
        subscription: &Subscription,
        sealed_secret: String,
    ) -> Result<()> {
        row::Entity::insert(to_row(subscription, sealed_secret).into_active_model())
            .exec_without_returning(&self.writer)
            .await?;
        Ok(())
    }

    pub(crate) async fn subscription(
        &self,
        id: SubscriptionId,
        owners: &Owners,
    ) -> Result<Option<Subscription>> {
        let found = row::Entity::find_by_id(id.uuid())
            .filter(owned_by(owners))
            .one(&self.reader)
            .await?;
        found.map(subscription).transpose()
    }

    /// Subscriptions, oldest first.
    pub(crate) async fn subscriptions(&self, owners: &Owners) -> Result<Vec<Subscription>> {
        row::Entity::find()
            .filter(owned_by(owners))
            .order_by_asc(row::Column::CreateTime)
            .order_by_asc(row::Column::Id)
            .all(&self.reader)
            .await?
            .into_iter()
            .map(subscription)
            .collect()
    }

    /// Whether there was such a subscription to delete.
    pub(crate) async fn delete_subscription(
        &self,
        id: SubscriptionId,
        owners: &Owners,
    ) -> Result<bool> {
        let deleted = row::Entity::delete_many()
            .filter(row::Column::Id.eq(id.uuid()))
            .filter(owned_by(owners))
            .exec(&self.writer)
            .await?;
        Ok(deleted.rows_affected > 0)
    }

    /// Takes every subscription whose lease is free, expired, or already `holder`'s, until
    /// `until`; returns those `holder` now holds, each with its sealed secret.
    pub(crate) async fn claim_subscriptions(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(Subscription, String)>> {
        let backend = self.backend();
        let claimed = row::Entity::update_many()
            .col_expr(row::Column::LeaseHolder, Expr::value(holder))
            .col_expr(
                row::Column::LeaseUntil,
                Expr::value(time_value(until, backend)),
            )
            .filter(
                Condition::any()
                    .add(row::Column::LeaseHolder.is_null())
                    .add(row::Column::LeaseHolder.eq(holder))
                    .add(row::Column::LeaseUntil.lt(time_value(now, backend))),
            )
            .exec(&self.writer)
            .await?;
        if claimed.rows_affected == 0 {
            // Nothing to deliver: the usual case of a replica, one statement a round.
            return Ok(Vec::new());
        }
        row::Entity::find()
            .filter(row::Column::LeaseHolder.eq(holder))
            .filter(row::Column::LeaseUntil.gt(time_value(now, backend)))
            .order_by_asc(row::Column::CreateTime)
            .all(&self.writer)
            .await?
            .into_iter()
            .map(|row| {
                let sealed = row.sealed_secret.clone();
                Ok((subscription(row)?, sealed))
            })
            .collect()
    }

    /// Gives `holder`'s leases up (the server stops): another replica takes them at once.
    pub(crate) async fn release_subscriptions(&self, holder: &str) -> Result<()> {
        row::Entity::update_many()
            .col_expr(
                row::Column::LeaseHolder,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                row::Column::LeaseUntil,
                Expr::value(no_time(self.backend())),
            )
            .filter(row::Column::LeaseHolder.eq(holder))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    /// Records how the deliveries of `id` stand, if `holder` still holds its lease at `now`;
    /// `false` when it does not (or the subscription was deleted): the holder stops.
    pub(crate) async fn record_delivery(
        &self,
        id: SubscriptionId,
        holder: &str,
        now: DateTime<Utc>,
        delivery: &Delivery,
    ) -> Result<bool> {
        let backend = self.backend();
        let recorded = row::Entity::update_many()
            .col_expr(
                row::Column::AcknowledgedSequence,
                Expr::value(delivery.acknowledged),
            )
            .col_expr(
                row::Column::LostThroughSequence,
                Expr::value(delivery.lost_through),
            )
            .col_expr(
                row::Column::FailingSince,
                Expr::value(optional_time(delivery.failing_since, backend)),
            )
            .col_expr(
                row::Column::LastError,
                Expr::value(delivery.last_error.clone()),
            )
            .col_expr(
                row::Column::LastErrorTime,
                Expr::value(optional_time(delivery.last_error_time, backend)),
            )
            .filter(row::Column::Id.eq(id.uuid()))
            .filter(row::Column::LeaseHolder.eq(holder))
            .filter(row::Column::LeaseUntil.gt(time_value(now, backend)))
            .exec(&self.writer)
            .await?;
        Ok(recorded.rows_affected > 0)
    }
}

/// A time that may be unset, as `rows::time_value` binds it.
fn optional_time(time: Option<DateTime<Utc>>, backend: DbBackend) -> Value {
    match time {
        Some(time) => time_value(time, backend),
        None => no_time(backend),
    }
}

fn no_time(backend: DbBackend) -> Value {
    if backend == DbBackend::MySql {
        Option::<chrono::NaiveDateTime>::None.into()
    } else {
        Option::<DateTime<Utc>>::None.into()
    }
}

fn owned_by(owners: &Owners) -> Condition {
    match owners {
        Owners::Everyone => Condition::all(),
        Owners::Only(owner) => Condition::all().add(row::Column::Owner.eq(owner)),
    }
}

fn to_row(subscription: &Subscription, sealed_secret: String) -> row::Model {
    let Delivery {
        acknowledged,
        failing_since,
        last_error,
        last_error_time,
        lost_through,
    } = subscription.delivery.clone();
    let filter = &subscription.filter;
    row::Model {
        id: subscription.id.uuid(),
        notification_destination: subscription.destination.to_string(),
        model_name: filter.model_name.as_ref().map(ToString::to_string),
        model_version: filter
            .model_version
            .as_ref()
            .map(|version| version.as_str().to_owned()),
        event_types: StoredTypes(
            filter
                .types
                .iter()
                .map(|kind| kind.as_str().to_owned())
                .collect(),
        ),
        description: subscription.description.clone(),
        owner: subscription.owner.clone(),
        scope: match &subscription.scope {
            Scope::All => None,
            Scope::Only(patterns) => Some(StoredTypes(
                patterns.iter().map(ToString::to_string).collect(),
            )),
        },
        sealed_secret,
        max_batch: subscription.max_batch,
        create_time: subscription.create_time,
        acknowledged_sequence: acknowledged,
        lost_through_sequence: lost_through,
        failing_since,
        last_error,
        last_error_time,
        lease_holder: None,
        lease_until: None,
    }
}

fn subscription(row: row::Model) -> Result<Subscription> {
    let corrupt = |what: String| Error::Internal(format!("stored subscription: {what}").into());
    let pattern = |text: String| NamePattern::parse(&text).map_err(corrupt);
    let types = row
        .event_types
        .0
        .iter()
        .map(|text| {
            EventType::from_stored(text).ok_or_else(|| corrupt(format!("event type {text}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let scope = match row.scope {
        None => Scope::All,
        Some(StoredTypes(patterns)) => Scope::Only(
            patterns
                .into_iter()
                .map(pattern)
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    let destination = url::Url::parse(&row.notification_destination)
        .map_err(|err| corrupt(format!("destination: {err}")))?;
    Ok(Subscription {
        id: SubscriptionId::from_uuid(row.id),
        destination,
        filter: SubscriptionFilter {
            model_name: row.model_name.map(pattern).transpose()?,
            model_version: row.model_version.map(ModelVersion::stored),
            types,
        },
        description: row.description,
        owner: row.owner,
        scope,
        max_batch: row.max_batch,
        create_time: row.create_time,
        delivery: Delivery {
            acknowledged: row.acknowledged_sequence,
            failing_since: row.failing_since,
            last_error: row.last_error,
            last_error_time: row.last_error_time,
            lost_through: row.lost_through_sequence,
        },
    })
}
