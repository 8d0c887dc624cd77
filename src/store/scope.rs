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
    let literals: Vec<&str> = pattern.literals().collect();
    wildcard_match(&literals, backend, name)
}

/// `text` matches the `literals` in order with any text between them (and, with empty first or
/// last literals, before or after them), case-sensitively on every backend.
pub(super) fn wildcard_match(literals: &[&str], backend: DbBackend, text: Expr) -> Expr {
    match backend {
        // SQLite's LIKE ignores the case of ASCII letters; GLOB does not.
        DbBackend::Sqlite => text.glob(glob(literals)),
        _ => text.like(LikeExpr::new(like(literals)).escape('\\')),
    }
}

/// Literals joined by `%`; `%`, `_` and the escape character stand for themselves.
fn like(literals: &[&str]) -> String {
    let literals: Vec<String> = literals
        .iter()
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

/// Literals joined by `*`, GLOB's own wildcard; `?`, `[` and `*` in them are escaped by
/// enclosing them in brackets.
fn glob(literals: &[&str]) -> String {
    let literals: Vec<String> = literals
        .iter()
        .map(|literal| {
            let mut escaped = String::with_capacity(literal.len());
            for c in literal.chars() {
                match c {
                    '?' | '[' | '*' => {
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

    fn pattern(text: &str) -> Vec<String> {
        NamePattern::parse(text)
            .unwrap()
            .literals()
            .map(str::to_owned)
            .collect()
    }

    fn refs(literals: &[String]) -> Vec<&str> {
        literals.iter().map(String::as_str).collect()
    }

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(like(&refs(&pattern("qoe-*"))), "qoe-%");
        assert_eq!(like(&refs(&pattern("a_b%c\\*"))), "a\\_b\\%c\\\\%");
    }

    #[test]
    fn glob_patterns_escape_their_wildcards() {
        assert_eq!(glob(&refs(&pattern("ran-team/*"))), "ran-team/*");
        assert_eq!(glob(&refs(&pattern("a?b[c]*"))), "a[?]b[[]c]*");
        // A literal star (from a filter's `\*`) is no wildcard.
        assert_eq!(glob(&["", "a*b", ""]), "*a[*]b*");
    }
}
