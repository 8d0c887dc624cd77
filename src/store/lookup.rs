//! One registration with all its children in one statement, however it is named: a read the
//! cache cannot answer is one round trip. Three branches of a UNION ALL each select the
//! registration's row with one kind of child (its environments, by a LEFT JOIN so that a
//! registration without any still has a row; its labels; its aliases): every branch is a
//! lookup by key and index on every backend, and rows carry no cross product of children.

use sea_orm::sea_query::{Expr, Query, SelectStatement, UnionType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, ExprTrait, FromQueryResult, Iterable, JoinType, Value,
};

use super::children::Tags;
use super::entity::model_alias as alias;
use super::entity::model_label as label;
use super::entity::model_related_information as registration;
use super::entity::target_environment as environment;
use super::rows;
use crate::domain::{Alias, ModelRef, Registration};

const ENVIRONMENT: i32 = 0;
const LABEL: i32 = 1;
const ALIAS: i32 = 2;

/// The registration `model` names, with its environments, labels and aliases.
pub(super) async fn registration_of(
    db: &impl ConnectionTrait,
    model: &ModelRef,
) -> Result<Option<Registration>, DbErr> {
    let mut select = with_environments(model);
    select.union(UnionType::All, with_labels(model));
    select.union(UnionType::All, with_aliases(model));
    let statement = db.get_database_backend().build(&select);
    let mut row = None;
    let mut environments = Vec::new();
    let mut tags = Tags::default();
    for found in db.query_all_raw(statement).await? {
        if row.is_none() {
            row = Some(registration::Model::from_query_result(&found, "")?);
        }
        let kind: i32 = found.try_get("", "child_kind")?;
        let a: Option<String> = found.try_get("", "child_a")?;
        let Some(a) = a else {
            continue; // the environments' branch of a registration without any
        };
        match kind {
            ENVIRONMENT => environments.push(environment::Model {
                id: found.try_get("", "child_id")?,
                model_related_information_id: found.try_get("", "id")?,
                position: found.try_get("", "child_position")?,
                platform_name: a,
                environment_type: found.try_get("", "child_b")?,
                dependency_list: found.try_get("", "child_c")?,
            }),
            LABEL => {
                tags.labels.insert(a, found.try_get("", "child_b")?);
            }
            _ => tags.aliases.push(Alias::stored(a)),
        }
    }
    environments.sort_by_key(|environment| environment.position);
    tags.aliases.sort();
    Ok(row.map(|row| rows::registration(row, environments, tags)))
}

/// The registration's columns, of the registrations `model` names.
fn parent(model: &ModelRef, kind: i32) -> SelectStatement {
    let mut select = Query::select();
    select
        .columns(registration::Column::iter().map(|column| (registration::Entity, column)))
        .expr_as(Expr::val(kind), "child_kind")
        .from(registration::Entity);
    let column = |column: registration::Column| Expr::col((registration::Entity, column));
    match model {
        ModelRef::Id(id) => {
            select.and_where(column(registration::Column::Id).eq(id.uuid()));
        }
        ModelRef::NameVersion(name, version) => {
            select
                .and_where(column(registration::Column::ModelName).eq(name.as_str()))
                .and_where(column(registration::Column::ModelVersion).eq(version.as_str()));
        }
        ModelRef::NameAlias(name, named) => {
            let aliased = Query::select()
                .column(alias::Column::ModelRelatedInformationId)
                .from(alias::Entity)
                .and_where(alias::Column::ModelName.eq(name.as_str()))
                .and_where(alias::Column::Alias.eq(named.as_str()))
                .to_owned();
            select.and_where(column(registration::Column::Id).in_subquery(aliased));
        }
    }
    select
}

fn with_environments(model: &ModelRef) -> SelectStatement {
    let child = |column: environment::Column| Expr::col((environment::Entity, column));
    let mut select = parent(model, ENVIRONMENT);
    select
        .expr_as(child(environment::Column::Id), "child_id")
        .expr_as(child(environment::Column::Position), "child_position")
        .expr_as(child(environment::Column::PlatformName), "child_a")
        .expr_as(child(environment::Column::EnvironmentType), "child_b")
        .expr_as(child(environment::Column::DependencyList), "child_c")
        .join(
            JoinType::LeftJoin,
            environment::Entity,
            Expr::col((
                environment::Entity,
                environment::Column::ModelRelatedInformationId,
            ))
            .equals((registration::Entity, registration::Column::Id)),
        );
    select
}

fn with_labels(model: &ModelRef) -> SelectStatement {
    let child = |column: label::Column| Expr::col((label::Entity, column));
    let mut select = parent(model, LABEL);
    none_of_an_environment(&mut select)
        .expr(child(label::Column::LabelKey))
        .expr(child(label::Column::LabelValue))
        .expr(Expr::val(Value::String(None)))
        .join(
            JoinType::InnerJoin,
            label::Entity,
            Expr::col((label::Entity, label::Column::ModelRelatedInformationId))
                .equals((registration::Entity, registration::Column::Id)),
        );
    select
}

fn with_aliases(model: &ModelRef) -> SelectStatement {
    let mut select = parent(model, ALIAS);
    none_of_an_environment(&mut select)
        .expr(Expr::col((alias::Entity, alias::Column::Alias)))
        .expr(Expr::val(Value::String(None)))
        .expr(Expr::val(Value::String(None)))
        .join(
            JoinType::InnerJoin,
            alias::Entity,
            Expr::col((alias::Entity, alias::Column::ModelRelatedInformationId))
                .equals((registration::Entity, registration::Column::Id)),
        );
    select
}

/// Typed NULLs where the environments' branch has its id and position: PostgreSQL then
/// knows each column's type across the branches.
fn none_of_an_environment(select: &mut SelectStatement) -> &mut SelectStatement {
    select
        .expr(Expr::val(Value::Uuid(None)))
        .expr(Expr::val(Value::Int(None)))
}
