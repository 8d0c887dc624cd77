//! PostgreSQL: writes in fewer statements. A new registration is one statement, which is its
//! own transaction: the registration's row, its environments, its labels and its pending
//! events are inserts in one `WITH`, one round trip instead of seven (BEGIN, four inserts, the
//! append lock, COMMIT). Every other change appends its events with the append lock in one
//! statement instead of two.
//!
//! The inserts of a `WITH` see one snapshot and run as one statement: the foreign keys of the
//! children are checked at its end, when the parent is there, and a taken name fails the
//! whole statement. Each pending event is selected from the CTE that takes the append lock
//! (see `numbering`), so that no event row exists before the lock is held; the lock is held
//! until the statement commits, as a writer's is from its append to its commit.

use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, InsertStatement, Query, SelectStatement, WithClause,
    WithQuery,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, Iterable,
    QueryTrait,
};

use super::entity::model_artifact as artifact;
use super::entity::model_related_information as registration;
use super::entity::pending_event as pending;
use super::entity::target_environment as environment;
use super::numbering::{APPEND_LOCK_KEY, pending_row};
use super::{children, rows};
use crate::domain::{Actor, ModelChange, NewEvent};

/// The CTE that takes the append lock; every pending event is selected from it.
const LOCK: &str = "append_lock";

/// Inserts `change`, a new registration, with its children and events, in one statement.
pub(super) async fn insert_new(
    db: &impl ConnectionTrait,
    change: &ModelChange,
    actor: &Actor,
) -> Result<(), DbErr> {
    let new = &change.registration;
    let mut inserts = vec![
        registration::Entity::insert(
            rows::new_registration_row(new, actor.request_id.as_ref()).into_active_model(),
        )
        .into_query(),
    ];
    let environments = rows::environment_rows(new.id, &new.spec.target_environments);
    if !environments.is_empty() {
        let environments = environments
            .into_iter()
            .map(IntoActiveModel::into_active_model);
        inserts.push(environment::Entity::insert_many(environments).into_query());
    }
    let labels = children::label_rows(new.id, &new.spec.labels);
    if !labels.is_empty() {
        inserts.push(super::entity::model_label::Entity::insert_many(labels).into_query());
    }
    if let Some(record) = &change.artifact {
        inserts.push(artifact::Entity::insert(rows::artifact_row(new.id, record)?).into_query());
    }
    db.execute(&with_events(inserts, &change.events, actor)?)
        .await?;
    Ok(())
}

/// Appends `events` to the log, the append lock taken first, in one statement of `db`'s
/// transaction.
pub(super) async fn append(
    db: &impl ConnectionTrait,
    events: &[NewEvent],
    actor: &Actor,
) -> Result<(), DbErr> {
    db.execute(&with_events(Vec::new(), events, actor)?).await?;
    Ok(())
}

/// `WITH append_lock AS (SELECT pg_advisory_xact_lock_shared(…)), insert_0 AS (…), … SELECT 1`:
/// `inserts`, then each event's pending row selected from the lock's CTE.
fn with_events(
    mut inserts: Vec<InsertStatement>,
    events: &[NewEvent],
    actor: &Actor,
) -> Result<WithQuery, DbErr> {
    debug_assert!(!events.is_empty(), "a write appends its events");
    for event in events {
        inserts.push(after_the_lock(pending_row(event, actor))?);
    }
    let mut with = WithClause::new();
    with.cte(
        CommonTableExpression::new()
            .query(
                Query::select()
                    .expr_as(
                        Expr::cust(format!("pg_advisory_xact_lock_shared({APPEND_LOCK_KEY})")),
                        "held",
                    )
                    .to_owned(),
            )
            .table_name(Alias::new(LOCK))
            .to_owned(),
    );
    for (index, insert) in inserts.into_iter().enumerate() {
        with.cte(
            CommonTableExpression::new()
                .query(insert)
                .table_name(Alias::new(format!("insert_{index}")))
                .to_owned(),
        );
    }
    // The inserts run whether or not the statement's own query reads them.
    Ok(with.query(Query::select().expr(Expr::val(1)).to_owned()))
}

/// `INSERT INTO pending_events (…) SELECT <values> FROM append_lock`.
fn after_the_lock(row: pending::ActiveModel) -> Result<InsertStatement, DbErr> {
    let mut columns = Vec::new();
    let mut values: SelectStatement = Query::select();
    for column in pending::Column::iter() {
        if let ActiveValue::Set(value) | ActiveValue::Unchanged(value) = row.get(column) {
            columns.push(column);
            values.expr(Expr::val(value));
        }
    }
    values.from(Alias::new(LOCK));
    let mut insert = Query::insert();
    insert
        .into_table(pending::Entity)
        .columns(columns)
        .select_from(values)
        .map_err(|err| DbErr::Custom(err.to_string()))?;
    Ok(insert)
}
