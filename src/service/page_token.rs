//! Opaque, keyset-based page tokens for ListModels (AIP-158). A token holds the position of the
//! last listed model and the filters it was made for, so it cannot be replayed with others.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::ModelKey;

const FIELD: &str = "page_token";

#[derive(Serialize, Deserialize)]
struct Token {
    /// The request's filters.
    name: String,
    version: String,
    /// The last model of the previous page.
    after_name: String,
    after_version: String,
}

pub fn encode(filter_name: &str, filter_version: &str, after: &ModelKey) -> String {
    let token = Token {
        name: filter_name.to_owned(),
        version: filter_version.to_owned(),
        after_name: after.model_name.clone(),
        after_version: after.model_version.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).expect("a token serializes"))
}

pub fn decode(text: &str, filter_name: &str, filter_version: &str) -> Result<ModelKey> {
    let token: Token = URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| Error::invalid_field(FIELD, "is not a page token issued by this service"))?;
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
    fn garbage_is_rejected() {
        for garbage in ["%%%", "bm90IGpzb24", "e30"] {
            assert!(
                matches!(decode(garbage, "", ""), Err(Error::InvalidArgument(_))),
                "{garbage}"
            );
        }
    }
}
