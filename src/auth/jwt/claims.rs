//! A verified token's claims made into a caller: the principal is `sub`, the role and the
//! model scopes come from claims whose names the operator chooses.

use serde_json::{Map, Value};

use crate::domain::{Caller, NamePattern, Principal, Role, Scope};

/// Claims of a verified token, as JSON.
pub(crate) type Claims = Map<String, Value>;

pub(crate) struct ClaimNames {
    pub(crate) role: String,
    pub(crate) scopes: String,
}

/// Why a verified token still does not make a caller; logged, never sent.
pub(crate) fn caller_from_claims(claims: &Claims, names: &ClaimNames) -> Result<Caller, String> {
    let principal = match claims.get("sub") {
        Some(Value::String(sub)) => {
            Principal::named(sub).map_err(|problem| format!("`sub` {problem}"))?
        }
        _ => return Err("the token has no `sub`".into()),
    };
    let role = match claims.get(&names.role) {
        Some(Value::String(role)) => {
            Role::parse(role).ok_or_else(|| format!("`{}`: {role:?} is not a role", names.role))?
        }
        _ => return Err(format!("the token has no `{}` string", names.role)),
    };
    let scope = match claims.get(&names.scopes) {
        None | Some(Value::Null) => Scope::All,
        Some(Value::String(list)) => patterns(list.split_whitespace(), &names.scopes)?,
        Some(Value::Array(items)) => {
            let texts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            let texts =
                texts.ok_or_else(|| format!("`{}` must hold strings only", names.scopes))?;
            patterns(texts.into_iter(), &names.scopes)?
        }
        Some(_) => return Err(format!("`{}` must be a list or a string", names.scopes)),
    };
    Ok(Caller {
        principal,
        role,
        scope,
        via: None,
    })
}

fn patterns<'a>(texts: impl Iterator<Item = &'a str>, claim: &str) -> Result<Scope, String> {
    texts
        .map(|text| NamePattern::parse(text).map_err(|problem| format!("`{claim}`: {problem}")))
        .collect::<Result<_, _>>()
        .map(Scope::Only)
}

/// The token's `exp`, which verification already required.
pub(crate) fn expiry(claims: &Claims) -> Option<u64> {
    claims.get("exp").and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> ClaimNames {
        ClaimNames {
            role: "role".into(),
            scopes: "model_scopes".into(),
        }
    }

    fn caller(claims: Value) -> Result<Caller, String> {
        caller_from_claims(claims.as_object().unwrap(), &names())
    }

    #[test]
    fn scopes_come_as_a_list_or_a_spaced_string_or_not_at_all() {
        let listed =
            caller(json!({"sub": "a", "role": "writer", "model_scopes": ["qoe-*", "x"]})).unwrap();
        assert_eq!(listed.principal, Principal::Named("a".into()));
        assert_eq!(listed.role, Role::Writer);
        assert!(listed.sees("qoe-1") && listed.sees("x") && !listed.sees("y"));
        let spaced =
            caller(json!({"sub": "a", "role": "reader", "model_scopes": "qoe-* x"})).unwrap();
        assert_eq!(spaced.scope, listed.scope);
        let all = caller(json!({"sub": "a", "role": "admin"})).unwrap();
        assert_eq!(all.scope, Scope::All);
    }

    #[test]
    fn a_token_without_subject_or_role_makes_no_caller() {
        assert!(caller(json!({"role": "admin"})).is_err());
        assert!(caller(json!({"sub": "", "role": "admin"})).is_err());
        assert!(caller(json!({"sub": "a\nINFO forged", "role": "admin"})).is_err());
        assert!(caller(json!({"sub": "a\u{1b}[2J", "role": "admin"})).is_err());
        assert!(caller(json!({"sub": "a"})).unwrap_err().contains("role"));
        assert!(caller(json!({"sub": "a", "role": "root"})).is_err());
        assert!(caller(json!({"sub": "a", "role": "reader", "model_scopes": [1]})).is_err());
        assert!(caller(json!({"sub": "a", "role": "reader", "model_scopes": 1})).is_err());
    }
}
