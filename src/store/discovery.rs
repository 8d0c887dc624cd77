//! Discovery: pages of registrations in (name, version) order. The environments of a whole page
//! are loaded in one `IN (…)` query, so a page costs two statements whatever its size.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, EntityTrait, ExprTrait, LoaderTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entity::model_related_information as registration;
use super::entity::target_environment as environment;
use super::{Store, rows};
use crate::domain::{ListQuery, ModelCursor, Page, Registration, Result, Scope};

impl Store {
    /// One page of discovery among the models of `scope`: the parents, then all their
    /// environments in one query.
    pub(crate) async fn list(
        &self,
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
        if let Some(in_scope) = super::scope::condition(scope, self.backend()) {
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
            .all(&self.reader)
            .await?;
        let (models, next) = super::split_page(models, limit, |last| ModelCursor {
            model_name: last.model_name.clone(),
            model_version: last.model_version.clone(),
        });
        let items = self.attach_environments(models).await?;
        Ok(Page { items, next })
    }

    pub(super) async fn attach_environments(
        &self,
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
                &self.reader,
            )
            .await?;
        Ok(models
            .into_iter()
            .zip(environments)
            .map(|(model, environments)| rows::registration(model, environments))
            .collect())
    }
}
