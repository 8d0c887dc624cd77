//! The consumers file: TOML, one `[[consumer]]` table per consumer. It is checked whole before
//! it is used, and every error names the consumer and the field.
//!
//! ```toml
//! [[consumer]]
//! name = "training-manager"
//! token_sha256 = "…64 hexadecimal digits…"
//! role = "writer"
//! scopes = ["qoe-*", "ran-team/*"]   # optional; without it, every model
//! certificate = "spiffe://cluster.local/ns/ran/sa/trainer"   # optional, see below
//! ```
//!
//! A consumer is admitted by a client certificate only when its entry says so: by
//! `certificate`, or, for an entry without `token_sha256` (a certificate consumer), by its
//! `name`. A token consumer is never admitted by a certificate whose identity equals its name.

use std::collections::HashMap;

use serde::Deserialize;

use super::consumers::{Consumer, Consumers};
use super::digest::TokenDigest;
use crate::domain::{NamePattern, Principal, Role, Scope};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConsumersFileError {
    /// Without the excerpt of the file that TOML errors show: it could hold a token hash.
    #[error("not a valid consumers file: {}{message}", line.map(|n| format!("line {n}: ")).unwrap_or_default())]
    Syntax {
        line: Option<usize>,
        message: String,
    },
    #[error("consumer #{position} ({name:?}): `{field}`: {problem}")]
    Field {
        /// 1 for the first `[[consumer]]` of the file.
        position: usize,
        name: String,
        field: &'static str,
        problem: String,
    },
    #[error("consumers #{first} and #{second} are both named {name:?}")]
    DuplicateName {
        name: String,
        first: usize,
        second: usize,
    },
    #[error(
        "consumers #{first} ({first_name:?}) and #{second} ({second_name:?}) have the same token_sha256"
    )]
    DuplicateToken {
        first: usize,
        first_name: String,
        second: usize,
        second_name: String,
    },
    #[error(
        "consumers #{first} ({first_name:?}) and #{second} ({second_name:?}) are both the certificate {identity:?}"
    )]
    DuplicateCertificate {
        identity: String,
        first: usize,
        first_name: String,
        second: usize,
        second_name: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default)]
    consumer: Vec<ConsumerFormat>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumerFormat {
    name: String,
    token_sha256: Option<String>,
    role: String,
    scopes: Option<Vec<String>>,
    certificate: Option<String>,
}

pub(crate) fn parse_consumers(text: &str) -> Result<Consumers, ConsumersFileError> {
    let file: FileFormat = toml::from_str(text).map_err(|err| ConsumersFileError::Syntax {
        line: err
            .span()
            .map(|span| text[..span.start].matches('\n').count() + 1),
        message: err.message().trim().to_owned(),
    })?;
    let mut consumers = Vec::with_capacity(file.consumer.len());
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut tokens: HashMap<TokenDigest, usize> = HashMap::new();
    let mut certificates: HashMap<String, usize> = HashMap::new();
    for (index, raw) in file.consumer.into_iter().enumerate() {
        let position = index + 1;
        let consumer = parse_consumer(position, raw)?;
        if let Some(first) = names.insert(consumer.name.clone(), position) {
            return Err(ConsumersFileError::DuplicateName {
                name: consumer.name,
                first,
                second: position,
            });
        }
        if let Some(token) = consumer.token
            && let Some(first) = tokens.insert(token, position)
        {
            let first_name: &Consumer = &consumers[first - 1];
            return Err(ConsumersFileError::DuplicateToken {
                first,
                first_name: first_name.name.clone(),
                second: position,
                second_name: consumer.name,
            });
        }
        if let Some(identity) = &consumer.certificate
            && let Some(first) = certificates.insert(identity.clone(), position)
        {
            return Err(ConsumersFileError::DuplicateCertificate {
                identity: identity.clone(),
                first,
                first_name: consumers[first - 1].name.clone(),
                second: position,
                second_name: consumer.name,
            });
        }
        consumers.push(consumer);
    }
    Ok(Consumers::new(consumers))
}

fn parse_consumer(position: usize, raw: ConsumerFormat) -> Result<Consumer, ConsumersFileError> {
    let field_error = |field, problem: String| ConsumersFileError::Field {
        position,
        name: raw.name.clone(),
        field,
        problem,
    };
    Principal::named(&raw.name).map_err(|problem| field_error("name", problem))?;
    if let Some(certificate) = &raw.certificate {
        Principal::named(certificate).map_err(|problem| field_error("certificate", problem))?;
    }
    let token = raw
        .token_sha256
        .as_deref()
        .map(TokenDigest::from_hex)
        .transpose()
        .map_err(|problem| field_error("token_sha256", problem))?;
    let role = Role::parse(&raw.role).ok_or_else(|| {
        field_error(
            "role",
            format!(
                "{:?} is not a role; expected reader, writer or admin",
                raw.role
            ),
        )
    })?;
    let scope = match &raw.scopes {
        None => Scope::All,
        Some(patterns) => Scope::Only(
            patterns
                .iter()
                .map(|pattern| {
                    NamePattern::parse(pattern)
                        .map_err(|problem| field_error("scopes", format!("{pattern:?}: {problem}")))
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    // An entry without a token is a certificate consumer, named by its identity.
    let certificate = match (raw.certificate, &token) {
        (Some(certificate), _) => Some(certificate),
        (None, None) => Some(raw.name.clone()),
        (None, Some(_)) => None,
    };
    Ok(Consumer {
        name: raw.name,
        token,
        certificate,
        role,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH_A: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const HASH_B: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn error_of(text: &str) -> String {
        parse_consumers(text).unwrap_err().to_string()
    }

    #[test]
    fn a_valid_file_is_read_whole() {
        let consumers = parse_consumers(&format!(
            r#"
            [[consumer]]
            name = "training-manager"
            token_sha256 = "{HASH_A}"
            role = "writer"
            scopes = ["qoe-*", "ran-team/*"]

            [[consumer]]
            name = "spiffe://example.org/ns/ran/sa/deployer"
            role = "reader"
            "#
        ))
        .unwrap();
        assert_eq!(consumers.len(), 2);
        let manager = consumers.by_token("abc").unwrap();
        assert_eq!(manager.role, Role::Writer);
        assert!(manager.sees("ran-team/x") && !manager.sees("other"));
        let deployer = consumers
            .by_certificate("spiffe://example.org/ns/ran/sa/deployer")
            .unwrap();
        assert_eq!(deployer.scope, Scope::All);
        assert_eq!(consumers.by_certificate("training-manager"), None);
    }

    #[test]
    fn a_token_consumer_is_admitted_by_the_certificate_its_entry_names() {
        let consumers = parse_consumers(&format!(
            "[[consumer]]\nname = \"ops\"\ntoken_sha256 = \"{HASH_A}\"\nrole = \"admin\"\n\
             certificate = \"spiffe://example.org/ops\"\n"
        ))
        .unwrap();
        assert_eq!(
            consumers.by_certificate("spiffe://example.org/ops"),
            consumers.by_token("abc")
        );
        assert_eq!(consumers.by_certificate("ops"), None);
    }

    #[test]
    fn two_consumers_cannot_be_the_same_certificate() {
        let twice = error_of(&format!(
            "[[consumer]]\nname = \"spiffe://x/a\"\nrole = \"reader\"\n\
             [[consumer]]\nname = \"b\"\ntoken_sha256 = \"{HASH_A}\"\nrole = \"admin\"\n\
             certificate = \"spiffe://x/a\"\n"
        ));
        assert!(
            twice.contains("#1") && twice.contains("#2") && twice.contains("spiffe://x/a"),
            "{twice}"
        );
        let control =
            error_of("[[consumer]]\nname = \"a\"\nrole = \"reader\"\ncertificate = \"x\\ny\"\n");
        assert!(control.contains("`certificate`"), "{control}");
    }

    #[test]
    fn an_empty_file_has_no_consumers() {
        assert_eq!(parse_consumers("").unwrap().len(), 0);
    }

    #[test]
    fn errors_name_the_consumer_and_the_field() {
        let bad_role = error_of(&format!(
            "[[consumer]]\nname = \"a\"\ntoken_sha256 = \"{HASH_A}\"\nrole = \"writer\"\n\
             [[consumer]]\nname = \"b\"\nrole = \"owner\"\n"
        ));
        assert!(bad_role.contains("#2 (\"b\")"), "{bad_role}");
        assert!(bad_role.contains("`role`"), "{bad_role}");
        assert!(bad_role.contains("\"owner\""), "{bad_role}");

        let bad_hash =
            error_of("[[consumer]]\nname = \"a\"\ntoken_sha256 = \"abc\"\nrole = \"reader\"\n");
        assert!(bad_hash.contains("`token_sha256`"), "{bad_hash}");
        assert!(bad_hash.contains("64"), "{bad_hash}");

        let bad_scope =
            error_of("[[consumer]]\nname = \"a\"\nrole = \"reader\"\nscopes = [\"\"]\n");
        assert!(bad_scope.contains("`scopes`"), "{bad_scope}");

        let empty_name = error_of("[[consumer]]\nname = \" \"\nrole = \"reader\"\n");
        assert!(empty_name.contains("`name`"), "{empty_name}");
    }

    #[test]
    fn missing_and_unknown_fields_are_refused() {
        let missing = error_of("[[consumer]]\nname = \"a\"\n");
        assert!(missing.contains("role"), "{missing}");
        let unknown = error_of("[[consumer]]\nname = \"a\"\nrole = \"reader\"\ntoken = \"x\"\n");
        assert!(
            unknown.contains("line 4") && unknown.contains("token"),
            "{unknown}"
        );
        let syntax = error_of(&format!("[[consumer]]\ntoken_sha256 = \"{HASH_A}\" x\n"));
        assert!(syntax.contains("line 2"), "{syntax}");
        assert!(!syntax.contains(HASH_A), "{syntax}");
    }

    #[test]
    fn duplicate_names_and_tokens_are_refused() {
        let names = error_of(&format!(
            "[[consumer]]\nname = \"a\"\nrole = \"reader\"\n\
             [[consumer]]\nname = \"a\"\ntoken_sha256 = \"{HASH_B}\"\nrole = \"reader\"\n"
        ));
        assert!(
            names.contains("#1 and #2") && names.contains("\"a\""),
            "{names}"
        );
        let tokens = error_of(&format!(
            "[[consumer]]\nname = \"a\"\ntoken_sha256 = \"{HASH_B}\"\nrole = \"reader\"\n\
             [[consumer]]\nname = \"b\"\ntoken_sha256 = \"{}\"\nrole = \"admin\"\n",
            HASH_B.to_uppercase()
        ));
        assert!(tokens.contains("same token_sha256"), "{tokens}");
        assert!(!tokens.contains(HASH_B), "{tokens}");
    }
}
