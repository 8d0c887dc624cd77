//! The SHA-256 of a bearer token: what the consumers file stores instead of the token, and the
//! key of the cache of verified JWTs. Digests are compared in constant time.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub(crate) fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// 64 hexadecimal digits, in either case.
    pub(crate) fn from_hex(text: &str) -> Result<Self, String> {
        if text.len() != 64 {
            return Err(format!(
                "expected the 64 hexadecimal digits of a SHA-256, found {} characters",
                text.chars().count()
            ));
        }
        let mut bytes = [0; 32];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|_| "expected hexadecimal digits only (0-9, a-f)".to_owned())?;
        Ok(Self(bytes))
    }

    pub(crate) fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

impl ConstantTimeEq for TokenDigest {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

/// A digest is not the token, but it still lets an attacker test guesses offline: keep it out
/// of logs too.
impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(REDACTED)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_matches_sha256sum() {
        // printf abc | sha256sum
        let known = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(TokenDigest::of("abc").to_hex(), known);
        assert_eq!(
            TokenDigest::from_hex(&known.to_uppercase()).unwrap(),
            TokenDigest::of("abc")
        );
    }

    #[test]
    fn malformed_hex_is_refused() {
        assert!(TokenDigest::from_hex("abc").unwrap_err().contains("64"));
        let not_hex = "g".repeat(64);
        assert!(TokenDigest::from_hex(&not_hex).is_err());
    }

    #[test]
    fn debug_shows_no_digest() {
        let shown = format!("{:?}", TokenDigest::of("secret"));
        assert!(!shown.contains(&TokenDigest::of("secret").to_hex()[..8]));
    }
}
