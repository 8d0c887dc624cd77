//! PostgreSQL: writes in fewer statements. A new registration is one statement, which is its
//! own transaction: the registration's row, its environments, its labels and its pending
//! events are inserts in one `WITH`, one round trip instead of seven (BEGIN, four inserts, the
//! append lock, COMMIT). A change of a registration writes its row, its artifact record and
//! its events, with the append lock, in one statement instead of four.
//!
//! The inserts of a `WITH` see one snapshot and run as one statement: the foreign keys of the
//! children are checked at its end, when the parent is there, and a taken name fails the
//! whole statement. Each pending event is selected from the CTE that takes the append lock
//! (see `numbering`), so that no event row exists before the lock is held; the lock is held
//! until the statement commits, as a writer's is from its append to its commit.

use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, InsertStatement, Query, SelectStatement, SubQueryStatement,
    WithClause, WithQuery,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, Iterable, QueryFilter, QueryTrait,
};

use super::entity::model_artifact as artifact;
use super::entity::model_label as label;
use super::entity::model_related_information as registration;
use super::entity::pending_event as pending;
use super::entity::target_environment as environment;
use super::numbering::{APPEND_LOCK_KEY, pending_row};
use super::{children, rows};
use crate::domain::{Actor, ArtifactRecord, ModelChange, NewEvent, RegistrationId};

/// The CTE that takes the append lock; every pending event is selected from it.
const LOCK: &str = "append_lock";

/// Inserts `change`, a new registration, with its children and events, in one statement.
pub(super) async fn insert_new(
    db: &impl ConnectionTrait,
    change: &ModelChange,
    actor: &Actor,
) -> Result<(), DbErr> {
    let new = &change.registration;
    let mut writes: Vec<SubQueryStatement> = vec![
        registration::Entity::insert(
            rows::new_registration_row(new, actor.request_id.as_ref()).into_active_model(),
        )
        .into_query()
        .into(),
    ];
    let environments = rows::environment_rows(new.id, &new.spec.target_environments);
    if !environments.is_empty() {
        let environments = environments
            .into_iter()
            .map(IntoActiveModel::into_active_model);
        writes.push(
            environment::Entity::insert_many(environments)
                .into_query()
                .into(),
        );
    }
    let labels = children::label_rows(new.id, &new.spec.labels);
    if !labels.is_empty() {
        writes.push(label::Entity::insert_many(labels).into_query().into());
    }
    if let Some(record) = &change.artifact {
        writes.push(artifact_insert(new.id, record)?);
    }
    write(db, writes, &change.events, actor).await
}

/// Writes `change` of the registration whose row (`row`, locked) `db`'s transaction read:
/// the row as the change left it, its artifact record and its events, in one statement.
pub(super) async fn write_change(
    db: &impl ConnectionTrait,
    row: registration::Model,
    change: &ModelChange,
    actor: &Actor,
) -> Result<(), DbErr> {
    let after = &change.registration;
    let revised = registration::Entity::update_many()
        .set(rows::revised_row(row, after))
        .filter(registration::Column::Id.eq(after.id.uuid()))
        .into_query();
    let mut writes: Vec<SubQueryStatement> = vec![revised.into()];
    if let Some(record) = &change.artifact {
        writes.push(artifact_insert(after.id, record)?);
    }
    write(db, writes, &change.events, actor).await
}

/// Appends `events` to the log, the append lock taken first, in one statement of `db`'s
/// transaction.
pub(super) async fn append(
    db: &impl ConnectionTrait,
    events: &[NewEvent],
    actor: &Actor,
) -> Result<(), DbErr> {
    write(db, Vec::new(), events, actor).await
}

fn artifact_insert(
    parent: RegistrationId,
    record: &ArtifactRecord,
) -> Result<SubQueryStatement, DbErr> {
    Ok(
        artifact::Entity::insert(rows::artifact_row(parent, record)?)
            .into_query()
            .into(),
    )
}

/// `writes` and the pending rows of `events` in one statement.
async fn write(
    db: &impl ConnectionTrait,
    writes: Vec<SubQueryStatement>,
    events: &[NewEvent],
    actor: &Actor,
) -> Result<(), DbErr> {
    db.execute(&with_events(writes, events, actor)?).await?;
    Ok(())
}

/// `WITH append_lock AS (SELECT pg_advisory_xact_lock_shared(…)), write_0 AS (…), … SELECT 1`:
/// `writes`, then each event's pending row selected from the lock's CTE.
fn with_events(
    mut writes: Vec<SubQueryStatement>,
    events: &[NewEvent],
    actor: &Actor,
) -> Result<WithQuery, DbErr> {
    debug_assert!(!events.is_empty(), "a write appends its events");
    for event in events {
        writes.push(after_the_lock(pending_row(event, actor))?.into());
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
    for (index, write) in writes.into_iter().enumerate() {
        with.cte(
            CommonTableExpression::new()
                .query(write)
                .table_name(Alias::new(format!("write_{index}")))
                .to_owned(),
        );
    }
    // The writes run whether or not the statement's own query reads them.
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
