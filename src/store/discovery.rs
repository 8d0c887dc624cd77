//! Discovery: pages of registrations that pass a filter, in an order, continued by keyset.
//! A page costs three statements whatever its size and filter: the registrations, then all
//! their environments in one `IN (…)` query, then their labels and aliases in one more, plus
//! the read of the event log's sequence in the same snapshot.

use sea_orm::sea_query::{Condition, Expr, Order};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect, Value,
};

use super::entity::model_related_information as registration;
use super::{Store, children, filter, rows};
use crate::domain::filter::{OrderField, OrderKey};
use crate::domain::{ListQuery, ModelCursor, Page, Registration, Result, Scope};

impl Store {
    /// One page of discovery among the models of `scope`, with the sequence of the event log
    /// it was read at: the page and its children in one snapshot.
    pub(crate) async fn list(
        &self,
        query: ListQuery,
        scope: &Scope,
    ) -> Result<(Page<Registration, ModelCursor>, i64)> {
        let (txn, sequence) = self.snapshot().await?;
        let page = list_page(&txn, self.backend(), query, scope).await?;
        txn.commit().await?;
        Ok((page, sequence))
    }

    pub(super) async fn attach_children(
        &self,
        models: Vec<registration::Model>,
    ) -> Result<Vec<Registration>> {
        Ok(children::attach(&self.reader, models).await?)
    }
}

/// One page of discovery, read through `db`.
pub(super) async fn list_page(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    query: ListQuery,
    scope: &Scope,
) -> Result<Page<Registration, ModelCursor>> {
    let ListQuery {
        model_name,
        model_version,
        filter,
        order,
        after,
        page_size,
    } = query;
    let limit = page_size.get();
    let keys = order.keys();
    let mut select = registration::Entity::find();
    if let Some(in_scope) = super::scope::condition(scope, backend) {
        select = select.filter(in_scope);
    }
    if let Some(name) = model_name {
        select = select.filter(registration::Column::ModelName.eq(name));
    }
    if let Some(version) = model_version {
        select = select.filter(registration::Column::ModelVersion.eq(version));
    }
    if let Some(filter) = &filter {
        select = select.filter(filter::condition(filter, backend));
    }
    if let Some(after) = &after {
        select = select.filter(after_cursor(&keys, after, backend));
    }
    for key in &keys {
        let direction = if key.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        select = select.order_by(column(key.field), direction);
    }
    // One extra row tells whether another page follows.
    let models = select.limit(limit + 1).all(db).await?;
    let (models, next) = super::split_page(models, limit, |last| ModelCursor {
        model_name: last.model_name.clone(),
        model_version: last.model_version.clone(),
        create_time: last.create_time,
        update_time: last.update_time,
    });
    let items = children::attach(db, models).await?;
    Ok(Page { items, next })
}

fn column(field: OrderField) -> registration::Column {
    match field {
        OrderField::ModelName => registration::Column::ModelName,
        OrderField::ModelVersion => registration::Column::ModelVersion,
        OrderField::CreateTime => registration::Column::CreateTime,
        OrderField::UpdateTime => registration::Column::UpdateTime,
    }
}

fn cursor_value(field: OrderField, cursor: &ModelCursor, backend: DbBackend) -> Value {
    match field {
        OrderField::ModelName => cursor.model_name.as_str().into(),
        OrderField::ModelVersion => cursor.model_version.as_str().into(),
        OrderField::CreateTime => rows::time_value(cursor.create_time, backend),
        OrderField::UpdateTime => rows::time_value(cursor.update_time, backend),
    }
}

/// The models after `cursor` in the order of `keys`: for some key, every key before it equal
/// and that key past the cursor's value in its direction.
fn after_cursor(keys: &[OrderKey], cursor: &ModelCursor, backend: DbBackend) -> Condition {
    let mut any = Condition::any();
    for (index, key) in keys.iter().enumerate() {
        let mut all = Condition::all();
        for earlier in &keys[..index] {
            all = all.add(Expr::col(column(earlier.field)).eq(cursor_value(
                earlier.field,
                cursor,
                backend,
            )));
        }
        let value = cursor_value(key.field, cursor, backend);
        let past = if key.descending {
            Expr::col(column(key.field)).lt(value)
        } else {
            Expr::col(column(key.field)).gt(value)
        };
        any = any.add(all.add(past));
    }
    any
}

impl Store {
    /// Every registration of `scope` with the given name and version (when given), as one
    /// snapshot, and the sequence of the last event committed in it. Read whole and then
    /// sent: the snapshot's transaction is not held open while a client reads slowly.
    pub(crate) async fn initial_state(
        &self,
        model_name: Option<&str>,
        model_version: Option<&str>,
        scope: &Scope,
    ) -> Result<(Vec<Registration>, i64)> {
        let (txn, sequence) = self.snapshot().await?;
        let mut registrations = Vec::new();
        let mut after = None;
        loop {
            let query = ListQuery::exact(model_name, model_version, after);
            let page = list_page(&txn, self.backend(), query, scope).await?;
            registrations.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        txn.commit().await?;
        Ok((registrations, sequence))
    }
}
