//! Discovery: pages of registrations in (name, version) order. The environments of a whole page
//! are loaded in one `IN (…)` query, so a page costs two statements whatever its size.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, EntityTrait, ExprTrait, LoaderTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entity::model_related_information as registration;
use super::entity::target_environment as environment;
use super::{Registration, Store};
use crate::error::Result;

/// The keyset position of a model in discovery order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelKey {
    pub model_name: String,
    pub model_version: String,
}

#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    /// Only models after this key are listed.
    pub after: Option<ModelKey>,
    pub limit: u64,
}

#[derive(Debug)]
pub struct Page {
    pub registrations: Vec<Registration>,
    /// The key of the last listed model when more models follow it.
    pub next: Option<ModelKey>,
}

impl Store {
    /// One page of discovery: the parents, then all their environments in one query.
    pub async fn list(&self, query: ListQuery) -> Result<Page> {
        let mut select = registration::Entity::find();
        if let Some(name) = query.model_name {
            select = select.filter(registration::Column::ModelName.eq(name));
        }
        if let Some(version) = query.model_version {
            select = select.filter(registration::Column::ModelVersion.eq(version));
        }
        if let Some(after) = query.after {
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
        let mut models = select
            .order_by_asc(registration::Column::ModelName)
            .order_by_asc(registration::Column::ModelVersion)
            .limit(query.limit + 1)
            .all(&self.reader)
            .await?;
        let more = models.len() as u64 > query.limit;
        models.truncate(query.limit as usize);
        let next = more.then(|| models.last()).flatten().map(|last| ModelKey {
            model_name: last.model_name.clone(),
            model_version: last.model_version.clone(),
        });
        let registrations = self.attach_environments(models).await?;
        Ok(Page {
            registrations,
            next,
        })
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
            .map(|(model, target_environments)| Registration {
                model,
                target_environments,
            })
            .collect())
    }
}
