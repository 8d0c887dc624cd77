//! Page tokens (AIP-158): opaque forms of the keyset positions pages continue from. A
//! ListModels token holds the position of the last listed model and a digest of the filters
//! and order it was made for, a ListArtifacts token the model and the last listed artifact, so
//! neither can be replayed elsewhere.
//!
//! Tokens are sealed with the server's key (ChaCha20-Poly1305, a fresh nonce each): a position
//! names the last model of a page, which a token passed on to a consumer of narrower scope
//! must not reveal, and a client cannot forge a position either. Every replica of a database
//! shares its key (see the store), so a page fetched from one continues on another.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
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

/// What every sealed token is bound to besides its contents.
const AAD: &[u8] = b"modelreg page token v1";

/// The key page tokens are sealed with. It is a secret: `Debug` does not show it.
#[derive(Clone)]
pub(crate) struct PageTokenKey([u8; 32]);

impl PageTokenKey {
    /// A new key from the operating system's random source.
    pub(crate) fn generate() -> Self {
        let mut bytes = [0; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        Self(bytes)
    }

    /// The key as the store keeps it.
    pub(crate) fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &self.0).expect("a 256-bit ChaCha20 key"),
        )
    }
}

impl fmt::Debug for PageTokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PageTokenKey(REDACTED)")
    }
}

/// The token's JSON, sealed: base64url of the nonce, the ciphertext and the tag.
fn seal(key: &PageTokenKey, token: &impl Serialize) -> String {
    seal_for(key, AAD, token)
}

/// Seals `contents` with `key` for `purpose` (authenticated with it, so that a token of one
/// kind never opens as another): URL-safe text that only the holders of `key` can read.
pub(crate) fn seal_for(key: &PageTokenKey, purpose: &[u8], contents: &impl Serialize) -> String {
    let mut nonce = [0; NONCE_LEN];
    getrandom::fill(&mut nonce).expect("the operating system's random source");
    let mut sealed = nonce.to_vec();
    let mut contents = serde_json::to_vec(contents).expect("a token serializes");
    key.aead()
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(purpose),
            &mut contents,
        )
        .expect("a token is far below ChaCha20-Poly1305's limit");
    sealed.extend_from_slice(&contents);
    URL_SAFE_NO_PAD.encode(sealed)
}

/// What `seal_for` sealed with `key` for `purpose`; `None` for anything else (altered, forged,
/// sealed with another key or for another purpose).
pub(crate) fn open_for<T: DeserializeOwned>(
    key: &PageTokenKey,
    purpose: &[u8],
    text: &str,
) -> Option<T> {
    let mut sealed = URL_SAFE_NO_PAD.decode(text).ok()?;
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let mut contents = sealed.split_off(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&sealed).ok()?;
    let opened = key
        .aead()
        .open_in_place(nonce, Aad::from(purpose), &mut contents)
        .ok()?;
    serde_json::from_slice(opened).ok()
}

fn open<T: DeserializeOwned>(key: &PageTokenKey, text: &str) -> Result<T> {
    if text.len() > limits::PAGE_TOKEN_CHARS {
        return Err(Error::invalid_request(
            FIELD,
            format!(
                "must be at most {} characters; send a token this service issued",
                limits::PAGE_TOKEN_CHARS
            ),
        ));
    }
    open_for(key, AAD, text).ok_or_else(not_issued)
}

fn not_issued() -> Error {
    Error::invalid_request(FIELD, "is not a page token issued by this service")
}

pub(crate) fn encode_artifacts(key: &PageTokenKey, cursor: ArtifactCursor) -> String {
    seal(
        key,
        &ArtifactToken {
            model_registration_id: cursor.model.uuid(),
            before: cursor.before_sequence,
        },
    )
}

/// The position a ListArtifacts token holds; the core checks that it is the same model's.
pub(crate) fn decode_artifacts(key: &PageTokenKey, text: &str) -> Result<ArtifactCursor> {
    let token: ArtifactToken = open(key, text)?;
    Ok(ArtifactCursor {
        model: RegistrationId::from_uuid(token.model_registration_id),
        before_sequence: token.before,
    })
}

/// A ListEvents token: the last event listed, for the filters summed up by `filters`.
pub(crate) fn encode_events(key: &PageTokenKey, filters: &str, after: i64) -> String {
    seal(
        key,
        &EventToken {
            filters: filters.to_owned(),
            after,
        },
    )
}

pub(crate) fn decode_events(key: &PageTokenKey, text: &str, filters: &str) -> Result<i64> {
    let token: EventToken = open(key, text)?;
    if token.filters != filters {
        return Err(Error::invalid_request(
            FIELD,
            "was issued for other filters or another order; send those of the first request",
        ));
    }
    Ok(token.after)
}

/// A ListModels token: the last model listed, for the request summed up by `request`.
pub(crate) fn encode(key: &PageTokenKey, request: &str, after: ModelCursor) -> String {
    let token = Token {
        request: request.to_owned(),
        after_name: after.model_name,
        after_version: after.model_version,
        after_create: after.create_time,
        after_update: after.update_time,
    };
    seal(key, &token)
}

pub(crate) fn decode(key: &PageTokenKey, text: &str, request: &str) -> Result<ModelCursor> {
    let token: Token = open(key, text)?;
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

    const KEY: PageTokenKey = PageTokenKey([7; 32]);

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
        let token = encode(&KEY, "abc", key());
        assert_eq!(decode(&KEY, &token, "abc").unwrap(), key());
    }

    #[test]
    fn a_token_is_bound_to_its_request() {
        let token = encode(&KEY, "abc", key());
        assert!(matches!(
            decode(&KEY, &token, "abd"),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn an_artifact_token_round_trips_and_is_not_a_model_token() {
        let cursor = ArtifactCursor {
            model: RegistrationId::generate(),
            before_sequence: 7,
        };
        let token = encode_artifacts(&KEY, cursor);
        assert_eq!(decode_artifacts(&KEY, &token).unwrap(), cursor);
        // Tokens of one listing are not accepted by the other.
        assert!(decode(&KEY, &token, "").is_err());
        assert!(decode_artifacts(&KEY, &encode(&KEY, "", key())).is_err());
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
        let longest = encode(&KEY, &"f".repeat(24), cursor);
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
        assert_eq!(
            decode(&KEY, &encode(&KEY, "x", after.clone()), "x").unwrap(),
            after
        );
    }

    #[test]
    fn a_position_with_control_characters_was_not_issued_here() {
        for name in ["a\0b", "\u{7}", "x\n"] {
            let cursor = ModelCursor {
                model_name: name.into(),
                ..key()
            };
            let token = encode(&KEY, "", cursor);
            assert!(
                matches!(decode(&KEY, &token, ""), Err(Error::InvalidArgument(_))),
                "{name:?}"
            );
        }
    }

    #[test]
    fn a_token_shows_nothing_of_its_position_and_cannot_be_forged() {
        let token = encode(&KEY, "abc", key());
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let shown = String::from_utf8_lossy(&bytes);
        assert!(!shown.contains("qoe"), "{shown}");
        // Two tokens of one position differ: each has a nonce of its own.
        assert_ne!(token, encode(&KEY, "abc", key()));
        // Another key, or one flipped bit, and the token was not issued here.
        let other = PageTokenKey([8; 32]);
        assert!(matches!(
            decode(&other, &token, "abc"),
            Err(Error::InvalidArgument(_))
        ));
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let flipped = URL_SAFE_NO_PAD.encode(flipped);
        assert!(matches!(
            decode(&KEY, &flipped, "abc"),
            Err(Error::InvalidArgument(_))
        ));
        // The unsealed JSON of earlier servers is not a token either.
        let unsealed = URL_SAFE_NO_PAD.encode(br#"{"request":"abc"}"#);
        assert!(matches!(
            decode(&KEY, &unsealed, "abc"),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(format!("{KEY:?}"), "PageTokenKey(REDACTED)");
        assert_eq!(PageTokenKey::from_hex(&KEY.to_hex()).unwrap().0, KEY.0);
    }

    #[test]
    fn garbage_is_rejected() {
        for garbage in ["%%%", "bm90IGpzb24", "e30"] {
            assert!(
                matches!(decode(&KEY, garbage, ""), Err(Error::InvalidArgument(_))),
                "{garbage}"
            );
        }
    }
}
