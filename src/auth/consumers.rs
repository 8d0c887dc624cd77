//! The consumers of the registry, as the consumers file lists them: each a name, a role, the
//! model names it may use, the SHA-256 of its bearer token, and the client-certificate identity
//! that stands for it, if any. Looking a token up compares its digest with every consumer's,
//! in constant time.

use std::fmt;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::digest::TokenDigest;
use crate::domain::{Caller, Principal, Role, Scope};

/// One consumer. Its token is known only by its digest.
#[derive(Clone)]
pub(crate) struct Consumer {
    pub(crate) name: String,
    pub(crate) token: Option<TokenDigest>,
    /// The client-certificate identity that is this consumer, when its entry names one (or,
    /// for an entry without a token, its name). A consumer admitted by token is never admitted
    /// by a certificate whose identity merely equals its name.
    pub(crate) certificate: Option<String>,
    pub(crate) role: Role,
    pub(crate) scope: Scope,
}

impl Consumer {
    fn caller(&self) -> Caller {
        Caller {
            principal: Principal::Named(self.name.clone()),
            role: self.role,
            scope: self.scope.clone(),
            via: None,
        }
    }
}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.name)
            .field("token", &self.token.map(|_| "REDACTED"))
            .field("certificate", &self.certificate)
            .field("role", &self.role)
            .field("scope", &self.scope)
            .finish()
    }
}

/// A valid set of consumers: names, token digests and certificate identities are unique (the
/// file parser checks).
#[derive(Clone, Debug, Default)]
pub(crate) struct Consumers {
    consumers: Vec<Consumer>,
}

impl Consumers {
    pub(crate) fn new(consumers: Vec<Consumer>) -> Self {
        Self { consumers }
    }

    pub(crate) fn len(&self) -> usize {
        self.consumers.len()
    }

    /// The consumer whose token this is. Every digest is compared, whether or not one matched
    /// already, so the time taken tells nothing of which consumer, if any, matched, nor of how
    /// many leading bytes agreed.
    pub(crate) fn by_token(&self, token: &str) -> Option<Caller> {
        let presented = TokenDigest::of(token);
        let mut found = Choice::from(0);
        let mut index = 0u32;
        for (i, consumer) in self.consumers.iter().enumerate() {
            let Some(digest) = &consumer.token else {
                continue;
            };
            let matches = presented.ct_eq(digest);
            index.conditional_assign(&(i as u32), matches);
            found |= matches;
        }
        bool::from(found).then(|| self.consumers[index as usize].caller())
    }

    /// The consumer whose entry names this client-certificate identity.
    pub(crate) fn by_certificate(&self, identity: &str) -> Option<Caller> {
        self.consumers
            .iter()
            .find(|consumer| consumer.certificate.as_deref() == Some(identity))
            .map(Consumer::caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NamePattern;

    fn consumer(name: &str, token: Option<&str>, role: Role) -> Consumer {
        Consumer {
            name: name.into(),
            token: token.map(TokenDigest::of),
            certificate: token.is_none().then(|| name.into()),
            role,
            scope: Scope::All,
        }
    }

    fn consumers() -> Consumers {
        Consumers::new(vec![
            consumer("first", Some("token-one"), Role::Reader),
            consumer("spiffe://example.org/deployer", None, Role::Writer),
            consumer("second", Some("token-two"), Role::Admin),
        ])
    }

    #[test]
    fn a_token_finds_its_consumer_wherever_it_is_listed() {
        let consumers = consumers();
        let first = consumers.by_token("token-one").unwrap();
        assert_eq!(first.principal, Principal::Named("first".into()));
        assert_eq!(first.role, Role::Reader);
        let second = consumers.by_token("token-two").unwrap();
        assert_eq!(second.principal, Principal::Named("second".into()));
        assert_eq!(second.role, Role::Admin);
    }

    #[test]
    fn an_unknown_token_finds_nobody() {
        let consumers = consumers();
        assert_eq!(consumers.by_token("token-three"), None);
        assert_eq!(consumers.by_token(""), None);
        // A consumer without a token cannot be reached by any token, not even an empty one.
        assert_eq!(Consumers::default().by_token("token-one"), None);
    }

    #[test]
    fn a_certificate_identity_finds_the_consumer_that_names_it() {
        let consumers = consumers();
        let deployer = consumers
            .by_certificate("spiffe://example.org/deployer")
            .unwrap();
        assert_eq!(deployer.role, Role::Writer);
        assert_eq!(consumers.by_certificate("spiffe://example.org/other"), None);
    }

    #[test]
    fn a_token_consumer_is_not_its_name_as_a_certificate() {
        let consumers = consumers();
        assert_eq!(consumers.by_certificate("first"), None);
        assert_eq!(consumers.by_certificate("second"), None);
    }

    #[test]
    fn the_caller_carries_the_consumer_scope() {
        let scoped = Consumer {
            scope: Scope::Only(vec![NamePattern::parse("qoe-*").unwrap()]),
            ..consumer("scoped", Some("t"), Role::Writer)
        };
        let caller = Consumers::new(vec![scoped]).by_token("t").unwrap();
        assert!(caller.sees("qoe-x"));
        assert!(!caller.sees("ran-x"));
    }

    #[test]
    fn debug_shows_neither_token_nor_digest() {
        let shown = format!("{:?}", consumers());
        assert!(!shown.contains("token-one"), "{shown}");
        let digest = TokenDigest::of("token-one").to_hex();
        assert!(!shown.contains(&digest[..16]), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
        assert!(shown.contains("first"), "{shown}");
    }
}
