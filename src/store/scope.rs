//! A caller's scope as a condition of the query, so that a page holds only models the caller
//! may see and stays full. Patterns match case-sensitively, as `NamePattern::matches` does:
//! PostgreSQL's LIKE (and MySQL's with a binary comparison) and SQLite's GLOB.

use sea_orm::sea_query::extension::sqlite::SqliteExpr;
use sea_orm::sea_query::{Condition, Expr, LikeExpr};
use sea_orm::{DbBackend, ExprTrait};

use super::entity::model_related_information as registration;
use crate::domain::{NamePattern, Scope};

/// The condition that keeps the models of `scope`; `None` when it keeps every model.
pub(super) fn condition(scope: &Scope, backend: DbBackend) -> Option<Condition> {
    condition_on(scope, backend, Expr::col(registration::Column::ModelName))
}

/// The condition that keeps the rows whose model name (`name`) is in `scope`.
pub(super) fn condition_on(scope: &Scope, backend: DbBackend, name: Expr) -> Option<Condition> {
    let Scope::Only(patterns) = scope else {
        return None;
    };
    if patterns.is_empty() {
        return Some(Condition::all().add(Expr::cust("1 = 0")));
    }
    let mut any = Condition::any();
    for pattern in patterns {
        any = any.add(matches(pattern, backend, name.clone()));
    }
    Some(any)
}

fn matches(pattern: &NamePattern, backend: DbBackend, name: Expr) -> Expr {
    match backend {
        // SQLite's LIKE ignores the case of ASCII letters; GLOB does not.
        DbBackend::Sqlite => name.glob(glob(pattern)),
        _ => name.like(LikeExpr::new(like(pattern)).escape('\\')),
    }
}

/// `*` becomes `%`; `%`, `_` and the escape character stand for themselves.
fn like(pattern: &NamePattern) -> String {
    let literals: Vec<String> = pattern
        .literals()
        .map(|literal| {
            let mut escaped = String::with_capacity(literal.len());
            for c in literal.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    escaped.push('\\');
                }
                escaped.push(c);
            }
            escaped
        })
        .collect();
    literals.join("%")
}

/// GLOB's own wildcard is `*`; `?` and `[` are escaped by enclosing them in brackets.
fn glob(pattern: &NamePattern) -> String {
    let literals: Vec<String> = pattern
        .literals()
        .map(|literal| {
            let mut escaped = String::with_capacity(literal.len());
            for c in literal.chars() {
                match c {
                    '?' | '[' => {
                        escaped.push('[');
                        escaped.push(c);
                        escaped.push(']');
                    }
                    c => escaped.push(c),
                }
            }
            escaped
        })
        .collect();
    literals.join("*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> NamePattern {
        NamePattern::parse(text).unwrap()
    }

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(like(&pattern("qoe-*")), "qoe-%");
        assert_eq!(like(&pattern("a_b%c\\*")), "a\\_b\\%c\\\\%");
    }

    #[test]
    fn glob_patterns_escape_their_wildcards() {
        assert_eq!(glob(&pattern("ran-team/*")), "ran-team/*");
        assert_eq!(glob(&pattern("a?b[c]*")), "a[?]b[[]c]*");
    }
}
