//! Discovery filters as SQL conditions. Every literal of a filter is a bound parameter; the
//! text of the filter never becomes SQL. A platform or a label compared for equality is asked
//! of the registration's search terms (`search_terms`), written with its side tables; every
//! other condition on a side table (environments, labels, aliases) is an `EXISTS` sub-query
//! correlated with the registration, served by an index of its table. Either way a page is
//! still one statement for its registrations.

use sea_orm::sea_query::{Condition, Expr, Func, Query, SelectStatement};
use sea_orm::{DbBackend, ExprTrait, Iden, Value};

use super::entity::model_alias as alias;
use super::entity::model_label as label;
use super::entity::model_related_information as registration;
use super::entity::target_environment as environment;
use super::scope::wildcard_match;
use super::{rows, search_terms};
use crate::domain::filter::{
    Comparator, DataTypeField, EnvironmentField, EnvironmentFilter, Filter, Pattern, TextField,
    TextMatch, TimeField,
};

/// The condition a registration row meets when it passes `filter`.
pub(super) fn condition(filter: &Filter, backend: DbBackend) -> Condition {
    match filter {
        // Tests of the row itself first: SQLite evaluates a conjunction in the order written,
        // and a sub-query then runs only for the registrations that passed them.
        Filter::All(parts) => {
            let (row, sub_queries): (Vec<&Filter>, Vec<&Filter>) =
                parts.iter().partition(|part| tests_the_row_only(part));
            row.into_iter()
                .chain(sub_queries)
                .fold(Condition::all(), |all, part| {
                    all.add(condition(part, backend))
                })
        }
        Filter::Any(parts) => parts.iter().fold(Condition::any(), |any, part| {
            any.add(condition(part, backend))
        }),
        Filter::Not(part) => condition(part, backend).not(),
        Filter::Text(field, matching) => {
            Condition::all().add(text_match(text_column(*field), matching, backend))
        }
        Filter::Time(field, comparator, time) => {
            let column = match field {
                TimeField::CreateTime => registration::Column::CreateTime,
                TimeField::UpdateTime => registration::Column::UpdateTime,
            };
            let time = rows::time_value(*time, backend);
            Condition::all().add(compare(Expr::col(column), *comparator, time))
        }
        Filter::DataType(field, value) => {
            Condition::all().add(holds_data_type(*field, value, backend))
        }
        Filter::Label { key, value } => label_condition(key, value.as_ref(), backend),
        Filter::Alias(name) => Condition::all().add(Expr::exists(
            of_registration(alias::Entity, alias::Column::ModelRelatedInformationId)
                .and_where(Expr::col((alias::Entity, alias::Column::Alias)).eq(name.as_str()))
                .to_owned(),
        )),
        Filter::Environment(EnvironmentFilter::Field(
            EnvironmentField::PlatformName,
            TextMatch::Compare(Comparator::Eq, platform),
        )) => Condition::all().add(search_terms::holds(
            search_terms::platform(platform),
            backend,
        )),
        Filter::Environment(tree) => {
            let exists = Expr::exists(
                of_registration(
                    environment::Entity,
                    environment::Column::ModelRelatedInformationId,
                )
                .cond_where(environment_condition(tree, backend))
                .to_owned(),
            );
            // The platforms the one environment must have are a cheaper test of the row to
            // make first: the sub-query then runs for the registrations that pass it only.
            implied_platforms(tree)
                .into_iter()
                .fold(Condition::all(), |all, platform| {
                    all.add(search_terms::holds(
                        search_terms::platform(platform),
                        backend,
                    ))
                })
                .add(exists)
        }
    }
}

/// The platforms named with `=` at the top of an environment group's conjunction: an
/// environment that meets the group has each of them.
fn implied_platforms(tree: &EnvironmentFilter) -> Vec<&str> {
    let parts = match tree {
        EnvironmentFilter::All(parts) => parts.as_slice(),
        single => std::slice::from_ref(single),
    };
    parts
        .iter()
        .filter_map(|part| match part {
            EnvironmentFilter::Field(
                EnvironmentField::PlatformName,
                TextMatch::Compare(Comparator::Eq, platform),
            ) => Some(platform.as_str()),
            _ => None,
        })
        .collect()
}

/// Whether `filter` is decided by the registration's row alone, without a sub-query.
fn tests_the_row_only(filter: &Filter) -> bool {
    match filter {
        Filter::All(parts) | Filter::Any(parts) => parts.iter().all(tests_the_row_only),
        Filter::Not(part) => tests_the_row_only(part),
        Filter::Text(..) | Filter::Time(..) => true,
        Filter::Label {
            value: Some(TextMatch::Compare(Comparator::Eq | Comparator::Ne, _)),
            ..
        } => true,
        Filter::Environment(EnvironmentFilter::Field(
            EnvironmentField::PlatformName,
            TextMatch::Compare(Comparator::Eq, _),
        )) => true,
        Filter::DataType(..) | Filter::Label { .. } | Filter::Alias(_) | Filter::Environment(_) => {
            false
        }
    }
}

/// `SELECT 1 FROM table WHERE table.parent = model_related_information.id`.
fn of_registration<T, C>(table: T, parent: C) -> SelectStatement
where
    T: Iden + Copy + 'static,
    C: Iden + 'static,
{
    Query::select()
        .expr(Expr::val(1))
        .from(table)
        .and_where(
            Expr::col((table, parent)).equals((registration::Entity, registration::Column::Id)),
        )
        .to_owned()
}

fn text_column(field: TextField) -> Expr {
    let column = |column: registration::Column| Expr::col((registration::Entity, column));
    match field {
        TextField::ModelName => column(registration::Column::ModelName),
        TextField::ModelVersion => column(registration::Column::ModelVersion),
        TextField::ArtifactVersion => column(registration::Column::ArtifactVersion),
        TextField::Description => column(registration::Column::Description),
        TextField::Author => column(registration::Column::Author),
        // An unset owner is stored as NULL and reads as "": it compares as "".
        TextField::Owner => {
            Func::coalesce([column(registration::Column::Owner), Expr::val("")]).into()
        }
    }
}

fn text_match(column: Expr, matching: &TextMatch, backend: DbBackend) -> Expr {
    match matching {
        TextMatch::Compare(comparator, value) => {
            compare(column, *comparator, Value::from(value.as_str()))
        }
        TextMatch::Pattern(pattern) => {
            let matched = wildcard_match(&literals(pattern), backend, column);
            if pattern.negated {
                matched.not()
            } else {
                matched
            }
        }
    }
}

/// The pattern's literal with an empty literal for each wildcard around it.
fn literals(pattern: &Pattern) -> Vec<&str> {
    let mut literals = Vec::with_capacity(3);
    if pattern.any_before {
        literals.push("");
    }
    literals.push(pattern.literal.as_str());
    if pattern.any_after {
        literals.push("");
    }
    literals
}

fn compare(column: Expr, comparator: Comparator, value: Value) -> Expr {
    match comparator {
        Comparator::Eq => column.eq(value),
        Comparator::Ne => column.ne(value),
        Comparator::Lt => column.lt(value),
        Comparator::Le => column.lte(value),
        Comparator::Gt => column.gt(value),
        Comparator::Ge => column.gte(value),
    }
}

/// The data types are a JSON array in the registration's row: each backend has its own way
/// of asking whether the array holds a string, all with the string as a bound parameter.
fn holds_data_type(field: DataTypeField, value: &str, backend: DbBackend) -> Expr {
    let column = match field {
        DataTypeField::Input => "model_related_information.input_data_type",
        DataTypeField::Output => "model_related_information.output_data_type",
    };
    let value = Value::from(value);
    match backend {
        DbBackend::Postgres => Expr::cust_with_values(
            format!("{column}::jsonb @> jsonb_build_array($1::text)"),
            [value],
        ),
        // JSON_CONTAINS compares escaped JSON text, and serde and MySQL escape control
        // characters differently: the elements are compared as strings instead, in bytes.
        DbBackend::MySql => Expr::cust_with_values(
            format!(
                "EXISTS (SELECT 1 FROM JSON_TABLE({column}, '$[*]' COLUMNS (v LONGTEXT \
                 CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin PATH '$')) AS j WHERE j.v = ?)"
            ),
            [value],
        ),
        _ => Expr::cust_with_values(
            format!("EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = ?)"),
            [value],
        ),
    }
}

/// `labels.KEY = v` holds when the registration has the label with that value; as in
/// Kubernetes' label selectors, `labels.KEY != v` holds when it does not (also when it has no
/// such key). Both are asked of the search terms; presence and patterns of the side table.
fn label_condition(key: &str, value: Option<&TextMatch>, backend: DbBackend) -> Condition {
    let has_label = |value: &str| {
        Condition::all().add(search_terms::holds(
            search_terms::label(key, value),
            backend,
        ))
    };
    let mut select = of_registration(label::Entity, label::Column::ModelRelatedInformationId);
    select.and_where(Expr::col((label::Entity, label::Column::LabelKey)).eq(key));
    let value_column = || Expr::col((label::Entity, label::Column::LabelValue));
    let negated = match value {
        Some(TextMatch::Compare(Comparator::Eq, value)) => return has_label(value),
        Some(TextMatch::Compare(Comparator::Ne, value)) => return has_label(value).not(),
        None => false,
        Some(TextMatch::Pattern(pattern)) if pattern.negated => {
            let positive = Pattern {
                negated: false,
                ..pattern.clone()
            };
            select.and_where(text_match(
                value_column(),
                &TextMatch::Pattern(positive),
                backend,
            ));
            true
        }
        Some(matching) => {
            select.and_where(text_match(value_column(), matching, backend));
            false
        }
    };
    let exists = Condition::all().add(Expr::exists(select));
    if negated { exists.not() } else { exists }
}

fn environment_condition(tree: &EnvironmentFilter, backend: DbBackend) -> Condition {
    match tree {
        EnvironmentFilter::All(parts) => parts.iter().fold(Condition::all(), |all, part| {
            all.add(environment_condition(part, backend))
        }),
        EnvironmentFilter::Any(parts) => parts.iter().fold(Condition::any(), |any, part| {
            any.add(environment_condition(part, backend))
        }),
        EnvironmentFilter::Not(part) => environment_condition(part, backend).not(),
        EnvironmentFilter::Field(field, matching) => {
            let column = match field {
                EnvironmentField::PlatformName => environment::Column::PlatformName,
                EnvironmentField::EnvironmentType => environment::Column::EnvironmentType,
                EnvironmentField::DependencyList => environment::Column::DependencyList,
            };
            Condition::all().add(text_match(
                Expr::col((environment::Entity, column)),
                matching,
                backend,
            ))
        }
    }
}
