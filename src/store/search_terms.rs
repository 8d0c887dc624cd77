//! A search copy of a registration's side tables in its own row: one term per platform of its
//! target environments and per label, written with the side tables in the same transaction.
//!
//! Why: a filter such as `platform_name = "kserve" AND labels.team = "ran-team"` asked of the
//! side tables costs an index probe per table and registration, or a semi-join over every
//! environment of the platform; either is several times the 10 ms a first page may take at
//! 100,000 models (docs/performance.md, "Discovery at scale"). Asked of the row, it costs a
//! string search while the page's index is walked, and on PostgreSQL an array with a GIN index
//! answers rare terms without walking at all. Only equality is answered here; every other
//! condition on a side table is an `EXISTS` sub-query (`filter`).
//!
//! The terms are stored as one text, `|platform:kserve|label:team=ran-team|`, each between
//! bars and with `%` and `|` of its parts escaped, so that no platform name can pose as
//! another term. PostgreSQL keeps the same terms as a generated `text[]` column.

use std::collections::BTreeSet;

use sea_orm::sea_query::Expr;
use sea_orm::{DbBackend, Value};

use crate::domain::ModelFields;

const SEPARATOR: char = '|';

/// The terms of a registration's content, as stored.
pub(super) fn of(fields: &ModelFields) -> String {
    let platforms = fields
        .target_environments
        .iter()
        .map(|env| platform(&env.platform_name));
    let labels = fields.labels.iter().map(|(key, value)| label(key, value));
    let terms: BTreeSet<String> = platforms.chain(labels).collect();
    if terms.is_empty() {
        return String::new();
    }
    let mut text = String::from(SEPARATOR);
    for term in terms {
        text.push_str(&term);
        text.push(SEPARATOR);
    }
    text
}

/// The term of a target environment's platform.
pub(super) fn platform(name: &str) -> String {
    format!("platform:{}", escape(name))
}

/// The term of a label.
pub(super) fn label(key: &str, value: &str) -> String {
    format!("label:{}={}", escape(key), escape(value))
}

/// `%` first, so that the `%7C` of a bar cannot be read back as an escaped `%`. The
/// migration that fills the terms of existing rows escapes the same way in SQL.
fn escape(part: &str) -> String {
    part.replace('%', "%25").replace(SEPARATOR, "%7C")
}

/// The registration row holds `term`, with the term as a bound parameter.
pub(super) fn holds(term: String, backend: DbBackend) -> Expr {
    match backend {
        // The array's element statistics give the planner true estimates, and its GIN index
        // serves terms that few registrations have. A term holds no bar, so splitting it at
        // bars makes the one-element array (sea-query would read `ARRAY[…]` as a quoted name).
        DbBackend::Postgres => Expr::cust_with_values(
            "model_related_information.search_term_set @> string_to_array($1, '|')",
            [Value::from(term)],
        ),
        DbBackend::MySql => Expr::cust_with_values(
            "LOCATE(?, model_related_information.search_terms) > 0",
            [Value::from(bounded(&term))],
        ),
        _ => Expr::cust_with_values(
            "instr(model_related_information.search_terms, ?) > 0",
            [Value::from(bounded(&term))],
        ),
    }
}

/// A term between separators, as it appears in the stored text.
fn bounded(term: &str) -> String {
    format!("{SEPARATOR}{term}{SEPARATOR}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_platform_name_cannot_pose_as_another_term() {
        let posing = platform("x|label:team=a");
        assert_eq!(posing, "platform:x%7Clabel:team=a");
        assert!(!bounded(&posing).contains(&bounded(&label("team", "a"))));
        assert_eq!(platform("100%|"), "platform:100%25%7C");
        assert_ne!(platform("a%7C"), platform("a|"));
    }
}
