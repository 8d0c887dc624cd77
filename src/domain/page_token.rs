//! Page tokens (AIP-158): opaque forms of the keyset positions pages continue from. A
//! ListModels token holds the position of the last listed model and a digest of the filters
//! and order it was made for, a ListArtifacts token the model and the last listed artifact, so
//! neither can be replayed elsewhere.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ArtifactCursor, Error, ListQueryDraft, ModelCursor, RegistrationId, Result, limits};

const FIELD: &str = "page_token";

#[derive(Serialize, Deserialize)]
struct Token {
    /// A digest of the request's filters and order.
    request: String,
    /// The last model of the previous page: every field an order can use.
    after_name: String,
    after_version: String,
    after_create: DateTime<Utc>,
    after_update: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct ArtifactToken {
    model_registration_id: Uuid,
    /// The sequence of the last artifact of the previous page.
    before: i64,
}

#[derive(Serialize, Deserialize)]
struct EventToken {
    /// A digest of the request's filters and order.
    filters: String,
    /// The sequence of the last event of the previous page.
    after: i64,
}

/// What a model list's page token is bound to: the filters and the order, not the page size.
/// Every front-end binds the same way, so a token from one is valid on another.
pub(crate) fn list_binding(draft: &ListQueryDraft<'_>) -> String {
    binding(serde_json::json!([
        draft.model_name,
        draft.model_version,
        draft.filter,
        draft.order_by,
    ]))
}

/// What a token is bound to: a short digest of the request fields (filters, order) that must
/// be the same on every page.
pub(crate) fn binding(fields: serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(fields.to_string().as_bytes())[..12])
}

fn seal(token: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(token).expect("a token serializes"))
}

fn open<T: DeserializeOwned>(text: &str) -> Result<T> {
    if text.len() > limits::PAGE_TOKEN_CHARS {
        return Err(Error::invalid_request(
            FIELD,
            format!(
                "must be at most {} characters; send a token this service issued",
                limits::PAGE_TOKEN_CHARS
            ),
        ));
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(not_issued)
}

fn not_issued() -> Error {
    Error::invalid_request(FIELD, "is not a page token issued by this service")
}

pub(crate) fn encode_artifacts(cursor: ArtifactCursor) -> String {
    seal(&ArtifactToken {
        model_registration_id: cursor.model.uuid(),
        before: cursor.before_sequence,
    })
}

/// The position a ListArtifacts token holds; the core checks that it is the same model's.
pub(crate) fn decode_artifacts(text: &str) -> Result<ArtifactCursor> {
    let token: ArtifactToken = open(text)?;
    Ok(ArtifactCursor {
        model: RegistrationId::from_uuid(token.model_registration_id),
        before_sequence: token.before,
    })
}

/// A ListEvents token: the last event listed, for the filters summed up by `filters`.
pub(crate) fn encode_events(filters: &str, after: i64) -> String {
    seal(&EventToken {
        filters: filters.to_owned(),
        after,
    })
}

pub(crate) fn decode_events(text: &str, filters: &str) -> Result<i64> {
    let token: EventToken = open(text)?;
    if token.filters != filters {
        return Err(Error::invalid_request(
            FIELD,
            "was issued for other filters or another order; send those of the first request",
        ));
    }
    Ok(token.after)
}

/// A ListModels token: the last model listed, for the request summed up by `request`.
pub(crate) fn encode(request: &str, after: ModelCursor) -> String {
    let token = Token {
        request: request.to_owned(),
        after_name: after.model_name,
        after_version: after.model_version,
        after_create: after.create_time,
        after_update: after.update_time,
    };
    seal(&token)
}

pub(crate) fn decode(text: &str, request: &str) -> Result<ModelCursor> {
    let token: Token = open(text)?;
    // The position is a model's name and version, which hold no control characters (nor NUL,
    // which PostgreSQL cannot compare): a token with one was not issued here.
    if [&token.after_name, &token.after_version]
        .iter()
        .any(|name| name.chars().any(char::is_control))
    {
        return Err(not_issued());
    }
    if token.request != request {
        return Err(Error::invalid_request(
            FIELD,
            "was issued for other filters or another order; send the model_name, model_version, \
             filter and order_by of the first request",
        ));
    }
    Ok(ModelCursor {
        model_name: token.after_name,
        model_version: token.after_version,
        create_time: token.after_create,
        update_time: token.after_update,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ModelCursor {
        ModelCursor {
            model_name: "qoe, \"x\"".into(),
            model_version: "1.0".into(),
            create_time: DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap(),
            update_time: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn a_token_round_trips_with_its_request() {
        let token = encode("abc", key());
        assert_eq!(decode(&token, "abc").unwrap(), key());
    }

    #[test]
    fn a_token_is_bound_to_its_request() {
        let token = encode("abc", key());
        assert!(matches!(
            decode(&token, "abd"),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn an_artifact_token_round_trips_and_is_not_a_model_token() {
        let cursor = ArtifactCursor {
            model: RegistrationId::generate(),
            before_sequence: 7,
        };
        let token = encode_artifacts(cursor);
        assert_eq!(decode_artifacts(&token).unwrap(), cursor);
        // Tokens of one listing are not accepted by the other.
        assert!(decode(&token, "").is_err());
        assert!(decode_artifacts(&encode("", key())).is_err());
    }

    #[test]
    fn tokens_of_the_longest_names_are_accepted() {
        // The longest token there can be: two names escaped in JSON at 6 bytes a character.
        let escaped = "\u{1f}".repeat(limits::NAME_CHARS);
        let cursor = ModelCursor {
            model_name: escaped.clone(),
            model_version: escaped.clone(),
            ..key()
        };
        let longest = encode(&"f".repeat(24), cursor);
        assert!(
            longest.len() <= limits::PAGE_TOKEN_CHARS,
            "{}",
            longest.len()
        );
        let name = "😀".repeat(limits::NAME_CHARS);
        let after = ModelCursor {
            model_name: name.clone(),
            model_version: name,
            ..key()
        };
        assert_eq!(decode(&encode("x", after.clone()), "x").unwrap(), after);
    }

    #[test]
    fn a_position_with_control_characters_was_not_issued_here() {
        for name in ["a\0b", "\u{7}", "x\n"] {
            let cursor = ModelCursor {
                model_name: name.into(),
                ..key()
            };
            let token = encode("", cursor);
            assert!(
                matches!(decode(&token, ""), Err(Error::InvalidArgument(_))),
                "{name:?}"
            );
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for garbage in ["%%%", "bm90IGpzb24", "e30"] {
            assert!(
                matches!(decode(garbage, ""), Err(Error::InvalidArgument(_))),
                "{garbage}"
            );
        }
    }
}
