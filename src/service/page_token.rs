//! Paging (AIP-158): page sizes, and opaque keyset-based page tokens. A ListModels token holds
//! the position of the last listed model and the filters it was made for, a ListArtifacts
//! token the model and the last listed artifact, so neither can be replayed elsewhere.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::ModelKey;

const FIELD: &str = "page_token";
const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 1000;

/// 0 means the default, too large is coerced, negative is an error.
pub fn page_size(requested: i32) -> Result<u64> {
    match u64::try_from(requested) {
        Err(_) => Err(Error::invalid_field(
            "page_size",
            format!("must not be negative (is {requested})"),
        )),
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(size) => Ok(size.min(MAX_PAGE_SIZE)),
    }
}

#[derive(Serialize, Deserialize)]
struct Token {
    /// The request's filters.
    name: String,
    version: String,
    /// The last model of the previous page.
    after_name: String,
    after_version: String,
}

#[derive(Serialize, Deserialize)]
struct ArtifactToken {
    model_registration_id: Uuid,
    /// The sequence of the last artifact of the previous page.
    before: i64,
}

fn seal(token: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(token).expect("a token serializes"))
}

fn open<T: DeserializeOwned>(text: &str) -> Result<T> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| Error::invalid_field(FIELD, "is not a page token issued by this service"))
}

pub fn encode_artifacts(model_registration_id: Uuid, before: i64) -> String {
    seal(&ArtifactToken {
        model_registration_id,
        before,
    })
}

pub fn decode_artifacts(text: &str, model_registration_id: Uuid) -> Result<i64> {
    let token: ArtifactToken = open(text)?;
    if token.model_registration_id != model_registration_id {
        return Err(Error::invalid_field(
            FIELD,
            "was issued for another model; send the model of the first request",
        ));
    }
    Ok(token.before)
}

pub fn encode(filter_name: &str, filter_version: &str, after: &ModelKey) -> String {
    let token = Token {
        name: filter_name.to_owned(),
        version: filter_version.to_owned(),
        after_name: after.model_name.clone(),
        after_version: after.model_version.clone(),
    };
    seal(&token)
}

pub fn decode(text: &str, filter_name: &str, filter_version: &str) -> Result<ModelKey> {
    let token: Token = open(text)?;
    if token.name != filter_name || token.version != filter_version {
        return Err(Error::invalid_field(
            FIELD,
            "was issued for other filters; send the model_name and model_version of the first request",
        ));
    }
    Ok(ModelKey {
        model_name: token.after_name,
        model_version: token.after_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ModelKey {
        ModelKey {
            model_name: "qoe, \"x\"".into(),
            model_version: "1.0".into(),
        }
    }

    #[test]
    fn a_token_round_trips_with_its_filters() {
        let token = encode("", "1.0", &key());
        assert_eq!(decode(&token, "", "1.0").unwrap(), key());
    }

    #[test]
    fn a_token_is_bound_to_its_filters() {
        let token = encode("", "1.0", &key());
        assert!(matches!(
            decode(&token, "", "2.0"),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            decode(&token, "qoe", "1.0"),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn page_sizes_follow_aip_158() {
        assert_eq!(page_size(0).unwrap(), 50);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(5000).unwrap(), 1000);
        assert!(matches!(page_size(-1), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn an_artifact_token_is_bound_to_its_model() {
        let model = Uuid::now_v7();
        let token = encode_artifacts(model, 7);
        assert_eq!(decode_artifacts(&token, model).unwrap(), 7);
        assert!(matches!(
            decode_artifacts(&token, Uuid::now_v7()),
            Err(Error::InvalidArgument(_))
        ));
        // Tokens of one listing are not accepted by the other.
        assert!(decode(&token, "", "").is_err());
        assert!(decode_artifacts(&encode("", "", &key()), model).is_err());
    }

    #[test]
    fn garbage_is_rejected() {
        for garbage in ["%%%", "bm90IGpzb24", "e30"] {
            assert!(
                matches!(decode(garbage, "", ""), Err(Error::InvalidArgument(_))),
                "{garbage}"
            );
        }
    }
}
