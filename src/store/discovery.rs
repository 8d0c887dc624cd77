//! Discovery: pages of registrations in (name, version) order. The environments of a whole page
//! are loaded in one `IN (…)` query, so a page costs two statements whatever its size, plus
//! the read of the event log's sequence in the same snapshot.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait, LoaderTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::entity::model_related_information as registration;
use super::entity::target_environment as environment;
use super::{Store, rows};
use crate::domain::{ListQuery, ModelCursor, Page, PageSize, Registration, Result, Scope};

impl Store {
    /// One page of discovery among the models of `scope`, with the sequence of the event log
    /// it was read at: the parents, then all their environments in one query, in one snapshot.
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

    pub(super) async fn attach_environments(
        &self,
        models: Vec<registration::Model>,
    ) -> Result<Vec<Registration>> {
        attach_environments(&self.reader, models).await
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
        after,
        page_size,
    } = query;
    let limit = page_size.get();
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
    if let Some(after) = after {
        select = select.filter(
            Expr::tuple([
                Expr::col(registration::Column::ModelName),
                Expr::col(registration::Column::ModelVersion),
            ])
            .gt(Expr::tuple([
                Expr::val(after.model_name),
                Expr::val(after.model_version),
            ])),
        );
    }
    // One extra row tells whether another page follows.
    let models = select
        .order_by_asc(registration::Column::ModelName)
        .order_by_asc(registration::Column::ModelVersion)
        .limit(limit + 1)
        .all(db)
        .await?;
    let (models, next) = super::split_page(models, limit, |last| ModelCursor {
        model_name: last.model_name.clone(),
        model_version: last.model_version.clone(),
    });
    let items = attach_environments(db, models).await?;
    Ok(Page { items, next })
}

async fn attach_environments(
    db: &impl ConnectionTrait,
    models: Vec<registration::Model>,
) -> Result<Vec<Registration>> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let environments = models
        .load_many(
            // In index order (parent, position): the database reads the page's
            // environments straight off the index instead of sorting them.
            environment::Entity::find()
                .order_by_asc(environment::Column::ModelRelatedInformationId)
                .order_by_asc(environment::Column::Position),
            db,
        )
        .await?;
    Ok(models
        .into_iter()
        .zip(environments)
        .map(|(model, environments)| rows::registration(model, environments))
        .collect())
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
            let query = ListQuery {
                model_name: model_name.map(str::to_owned),
                model_version: model_version.map(str::to_owned),
                after,
                page_size: PageSize::largest(),
            };
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
