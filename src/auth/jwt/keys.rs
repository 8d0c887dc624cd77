//! The keys a JWKS document offers for verifying tokens. Only public signing keys of the
//! supported algorithms are kept (RS256, ES256 on P-256, EdDSA on Ed25519); symmetric keys
//! are never accepted from a JWKS, so that no token can be signed with a published secret.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// A JWKS document larger than this is refused.
pub(crate) const MAX_JWKS_BYTES: usize = 1024 * 1024;

pub(crate) struct VerificationKey {
    pub(crate) kid: Option<String>,
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
}

#[derive(Default)]
pub(crate) struct KeySet {
    keys: Vec<VerificationKey>,
}

/// Each key is read on its own, so that one key of a kind this server does not know does not
/// make the whole set unusable.
#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    pub(crate) fn parse(json: &[u8]) -> Result<Self, String> {
        if json.len() > MAX_JWKS_BYTES {
            return Err(format!("a JWKS has at most {MAX_JWKS_BYTES} bytes"));
        }
        let document: Document =
            serde_json::from_slice(json).map_err(|err| format!("not a JWKS document: {err}"))?;
        let keys: Vec<VerificationKey> = document.keys.into_iter().filter_map(usable).collect();
        if keys.is_empty() {
            return Err(
                "the JWKS holds no RS256, ES256 (P-256) or EdDSA (Ed25519) signing key".into(),
            );
        }
        Ok(Self { keys })
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key a token's `kid` names; a token without one may use the only key of a set.
    pub(crate) fn find(&self, kid: Option<&str>) -> Option<&VerificationKey> {
        match kid {
            Some(kid) => self.keys.iter().find(|key| key.kid.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
    }
}

fn usable(value: serde_json::Value) -> Option<VerificationKey> {
    let jwk: Jwk = match serde_json::from_value(value) {
        Ok(jwk) => jwk,
        Err(err) => {
            tracing::debug!(error = %err, "JWKS entry skipped: not a key this server reads");
            return None;
        }
    };
    let kid = jwk.common.key_id.clone();
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        tracing::debug!(?kid, "JWKS entry skipped: an encryption key");
        return None;
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => {
            tracing::debug!(?kid, "JWKS entry skipped: unsupported key type or curve");
            return None;
        }
    };
    // A key that declares its algorithm is used with that one only.
    let declared_matches = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => algorithm == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => algorithm == Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => algorithm == Algorithm::EdDSA,
        Some(_) => false,
    };
    if !declared_matches {
        tracing::debug!(?kid, "JWKS entry skipped: unsupported algorithm");
        return None;
    }
    match DecodingKey::from_jwk(&jwk) {
        Ok(key) => Some(VerificationKey {
            kid,
            algorithm,
            key,
        }),
        Err(err) => {
            tracing::debug!(?kid, error = %err, "JWKS entry skipped: malformed key");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    #[test]
    fn supported_keys_are_kept_and_others_skipped() {
        let json = format!(
            r#"{{"keys":[{ED_KEY},
                {{"kty":"oct","kid":"secret","k":"c2VjcmV0"}},
                {{"kty":"OKP","crv":"X25519","kid":"x","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}},
                {{"kty":"future-kind","kid":"f"}}]}}"#
        );
        let keys = KeySet::parse(json.as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys.find(Some("ed")).unwrap().algorithm, Algorithm::EdDSA);
        assert!(keys.find(Some("secret")).is_none());
        // The only key serves tokens that name none.
        assert!(keys.find(None).is_some());
    }

    #[test]
    fn a_set_without_usable_keys_is_refused() {
        let err = KeySet::parse(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#)
            .err()
            .unwrap();
        assert!(err.contains("no RS256"), "{err}");
        assert!(KeySet::parse(b"not json").is_err());
    }

    #[test]
    fn a_token_without_kid_needs_a_set_of_one() {
        let json = format!(
            r#"{{"keys":[{ED_KEY},{}]}}"#,
            ED_KEY.replace(r#""kid":"ed""#, r#""kid":"ed2""#)
        );
        let keys = KeySet::parse(json.as_bytes()).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.find(None).is_none());
        assert!(keys.find(Some("ed2")).is_some());
    }
}
