//! Plans: the writes the agent proposed, sealed into a confirmation token that only this
//! registry's replicas can open (the page-token key, under a purpose of its own), bound to the
//! caller who asked and to an expiry. The token carries the plan itself, so that any replica
//! performs exactly what the caller was shown, and nothing needs storing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::tools::Tool;
use crate::domain::page_token::{PageTokenKey, open_for, seal_for};
use crate::domain::{Caller, Error, Result};

const PURPOSE: &[u8] = b"modelreg agent plan v1";
const FIELD: &str = "confirmation";

/// One planned write: the tool and its arguments, as they will be sent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Step {
    pub(crate) tool: String,
    pub(crate) arguments: String,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    principal: String,
    expires: DateTime<Utc>,
    steps: Vec<Step>,
}

pub(crate) fn seal(
    key: &PageTokenKey,
    caller: &Caller,
    expires: DateTime<Utc>,
    steps: &[Step],
) -> String {
    seal_for(
        key,
        PURPOSE,
        &Sealed {
            principal: caller.principal.to_string(),
            expires,
            steps: steps.to_vec(),
        },
    )
}

/// The steps of a token this registry issued to `caller`, if it has not expired.
pub(crate) fn open(
    key: &PageTokenKey,
    caller: &Caller,
    now: DateTime<Utc>,
    token: &str,
) -> Result<Vec<(Tool, String)>> {
    let sealed: Sealed = open_for(key, PURPOSE, token.trim()).ok_or_else(|| {
        Error::invalid_request(FIELD, "is not a confirmation token issued by this registry")
    })?;
    if sealed.principal != caller.principal.to_string() {
        return Err(Error::invalid_request(
            FIELD,
            "was issued to another caller; ask again",
        ));
    }
    if sealed.expires < now {
        return Err(Error::invalid_request(
            FIELD,
            "has expired (--agent-plan-ttl); ask again",
        ));
    }
    sealed
        .steps
        .into_iter()
        .map(|step| {
            Tool::named(&step.tool)
                .map(|tool| (tool, step.arguments))
                .ok_or_else(|| Error::Internal(format!("a sealed plan names {}", step.tool).into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Principal, Role, Scope};

    fn caller(name: &str) -> Caller {
        Caller {
            principal: Principal::Named(name.into()),
            role: Role::Writer,
            scope: Scope::All,
            via: None,
        }
    }

    fn steps() -> Vec<Step> {
        vec![Step {
            tool: "set_alias".into(),
            arguments: r#"{"modelName":"m","alias":"prod","modelVersion":"1"}"#.into(),
        }]
    }

    /// A key, the time, and alice's token of `steps()`, valid for five minutes from then.
    fn alices_token() -> (PageTokenKey, DateTime<Utc>, String) {
        let key = PageTokenKey::generate();
        let now = Utc::now();
        let expires = now + chrono::Duration::minutes(5);
        let token = seal(&key, &caller("alice"), expires, &steps());
        (key, now, token)
    }

    #[test]
    fn a_token_opens_for_its_caller_until_it_expires() {
        let (key, now, token) = alices_token();
        let opened = open(&key, &caller("alice"), now, &token).unwrap();
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].0, Tool::SetAlias);
        let later = now + chrono::Duration::minutes(6);
        assert_eq!(
            open(&key, &caller("alice"), later, &token)
                .unwrap_err()
                .reason(),
            "INVALID_ARGUMENT"
        );
        assert!(open(&key, &caller("mallory"), now, &token).is_err());
    }

    #[test]
    fn altered_forged_or_foreign_tokens_are_refused() {
        let (key, now, token) = alices_token();
        let mut altered = token.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(open(&key, &caller("alice"), now, &altered).is_err());
        assert!(open(&PageTokenKey::generate(), &caller("alice"), now, &token).is_err());
        assert!(open(&key, &caller("alice"), now, "not-a-token").is_err());
        // A page token is sealed with the same key, for another purpose.
        let page = seal_for(&key, b"modelreg page token v1", &serde_json::json!({}));
        assert!(open(&key, &caller("alice"), now, &page).is_err());
    }
}
