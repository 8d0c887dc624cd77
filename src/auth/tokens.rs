//! `modelreg tokens new`: a fresh bearer token for a new consumer, and the consumers-file
//! entry that admits it. The entry holds the token's SHA-256, never the token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::consumers_file::parse_consumers;
use super::digest::TokenDigest;

/// Bytes of OS randomness in a token: 256 bits, beyond any guessing.
const TOKEN_BYTES: usize = 32;

#[derive(Debug, clap::Args)]
pub struct NewTokenArgs {
    /// The consumer's name, as logs and change records will show it.
    pub name: String,
    /// reader, writer or admin.
    #[arg(long)]
    pub role: String,
    /// A model-name pattern the consumer may use, such as `qoe-*` (repeatable); without one,
    /// every model.
    #[arg(long = "scope", value_name = "PATTERN")]
    pub scopes: Vec<String>,
}

/// A new token, and the consumers-file entry for it.
pub struct NewToken {
    pub token: String,
    pub entry: String,
}

/// The token is not shown: a `NewToken` may be logged by mistake.
impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("token", &"REDACTED")
            .field("entry", &self.entry)
            .finish()
    }
}

/// Fails on an invalid role or pattern, or when the OS has no randomness to give.
pub fn new_token(args: &NewTokenArgs) -> Result<NewToken, String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|err| format!("no OS randomness: {err}"))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let entry = consumer_entry(args, TokenDigest::of(&token));
    // The entry is checked by the parser the server uses, so the server accepts what we print.
    parse_consumers(&entry).map_err(|err| err.to_string())?;
    Ok(NewToken { token, entry })
}

fn consumer_entry(args: &NewTokenArgs, digest: TokenDigest) -> String {
    let mut entry = format!(
        "[[consumer]]\nname = {}\ntoken_sha256 = \"{}\"\nrole = {}\n",
        toml_string(&args.name),
        digest.to_hex(),
        toml_string(&args.role),
    );
    if !args.scopes.is_empty() {
        let patterns: Vec<String> = args.scopes.iter().map(|p| toml_string(p)).collect();
        entry.push_str(&format!("scopes = [{}]\n", patterns.join(", ")));
    }
    entry
}

/// A TOML basic string: JSON's string escapes are all valid in TOML.
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(name: &str, role: &str, scopes: &[&str]) -> NewTokenArgs {
        NewTokenArgs {
            name: name.into(),
            role: role.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_entry_admits_the_token_and_does_not_hold_it() {
        let new = new_token(&args(
            "training \"manager\"",
            "writer",
            &["qoe-*", "ran-team/*"],
        ))
        .unwrap();
        assert!(new.token.len() >= 43, "{}", new.token);
        assert!(
            !new.token.contains(['+', '/', '=']),
            "URL-safe: {}",
            new.token
        );
        assert!(!new.entry.contains(&new.token));
        let consumers = parse_consumers(&new.entry).unwrap();
        let caller = consumers.by_token(&new.token).unwrap();
        assert_eq!(caller.principal.to_string(), "training \"manager\"");
        assert!(caller.sees("ran-team/x") && !caller.sees("other"));
    }

    #[test]
    fn tokens_differ_each_time() {
        let a = new_token(&args("a", "reader", &[])).unwrap();
        let b = new_token(&args("a", "reader", &[])).unwrap();
        assert_ne!(a.token, b.token);
    }

    #[test]
    fn invalid_roles_and_patterns_are_refused() {
        assert!(
            new_token(&args("a", "owner", &[]))
                .unwrap_err()
                .contains("role")
        );
        assert!(
            new_token(&args("a", "reader", &[""]))
                .unwrap_err()
                .contains("scopes")
        );
        assert!(
            new_token(&args("", "reader", &[]))
                .unwrap_err()
                .contains("name")
        );
    }

    #[test]
    fn debug_hides_the_token() {
        let new = new_token(&args("a", "reader", &[])).unwrap();
        assert!(!format!("{new:?}").contains(&new.token));
    }
}
