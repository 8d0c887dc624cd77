//! Who is calling, and what they may do. A caller is a principal with a role and the model
//! names it may see. Front doors authenticate and make callers; the core decides with them,
//! so that every front-end gets the same authorization by construction.

use std::fmt;

use super::error::{Error, Result};
use super::limits;

/// What a caller may do, each role including the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Role {
    /// Get, list, and list and download artifacts.
    Reader,
    /// A reader that also registers and updates models and uploads artifacts.
    Writer,
    /// A writer that also deletes models, and calls the administrative operations.
    Admin,
}

impl Role {
    pub(crate) const ALL: [Role; 3] = [Role::Reader, Role::Writer, Role::Admin];

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of operations, by the role they need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Read,
    Write,
    Delete,
    /// Reading the audit trail.
    Audit,
}

impl Action {
    pub(crate) fn required_role(self) -> Role {
        match self {
            Action::Read => Role::Reader,
            Action::Write => Role::Writer,
            Action::Delete | Action::Audit => Role::Admin,
        }
    }
}

/// A model-name pattern such as `qoe-*` or `ran-team/*`: `*` stands for any run of
/// characters, `/` included; every other character stands for itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct NamePattern(String);

impl NamePattern {
    pub(crate) fn parse(text: &str) -> std::result::Result<Self, String> {
        if text.is_empty() {
            return Err("a scope pattern must not be empty".into());
        }
        if text.chars().count() > limits::NAME_CHARS {
            return Err(format!(
                "a scope pattern has at most {} characters",
                limits::NAME_CHARS
            ));
        }
        if text.chars().any(char::is_control) {
            return Err("a scope pattern must not hold control characters".into());
        }
        Ok(Self(text.to_owned()))
    }

    /// The literal runs between the `*`s: `qoe-*` is `["qoe-", ""]`.
    pub(crate) fn literals(&self) -> impl Iterator<Item = &str> {
        self.0.split('*')
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        let mut parts = self.literals();
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = name.strip_prefix(first) else {
            return false;
        };
        let mut parts: Vec<&str> = parts.collect();
        let Some(last) = parts.pop() else {
            // No `*`: the whole name must be the pattern.
            return rest.is_empty();
        };
        for middle in parts {
            match rest.find(middle) {
                Some(at) => rest = &rest[at + middle.len()..],
                None => return false,
            }
        }
        rest.ends_with(last)
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The models a caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    /// Only models whose name matches one of the patterns (none: no model at all).
    Only(Vec<NamePattern>),
}

impl Scope {
    pub(crate) fn includes(&self, model_name: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(patterns) => patterns.iter().any(|p| p.matches(model_name)),
        }
    }
}

/// The longest principal: a SPIFFE id or a DNS name fits.
const PRINCIPAL_CHARS: usize = 2048;

/// Who a caller is, as logs and change records name it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Principal {
    /// Nobody: no authentication is configured.
    Anonymous,
    /// A consumer of the tokens file, a token's subject, or a client certificate's identity.
    Named(String),
}

impl Principal {
    /// A named principal, from a consumer's entry, a token's `sub` or a certificate's
    /// identity. It is written into logs and into the event log's `actor`, so it must be text
    /// of one line: control characters (a newline, an escape) are refused, not escaped.
    pub(crate) fn named(name: &str) -> std::result::Result<Self, String> {
        if name.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if name.chars().count() > PRINCIPAL_CHARS {
            return Err(format!("has at most {PRINCIPAL_CHARS} characters"));
        }
        if name.chars().any(char::is_control) {
            return Err("must not hold control characters".into());
        }
        Ok(Self::Named(name.to_owned()))
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Anonymous => f.write_str("anonymous"),
            Principal::Named(name) => f.write_str(name),
        }
    }
}

/// The front-end that acts on a caller's behalf, when the change is not the caller's own
/// request: recorded with every change it makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Via {
    /// The registry's agent, carrying out a request in plain words.
    Agent,
}

impl Via {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Via::Agent => "agent",
        }
    }

    pub(crate) fn from_stored(text: &str) -> Option<Self> {
        (text == "agent").then_some(Via::Agent)
    }
}

/// An authenticated caller. It holds no secret: it may be logged and shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) principal: Principal,
    pub(crate) role: Role,
    pub(crate) scope: Scope,
    /// Set when a front-end acts for the caller (the agent); `None` for the caller's own calls.
    pub(crate) via: Option<Via>,
}

impl Caller {
    /// The caller of a server without authentication: it may do everything.
    pub(crate) fn anonymous_admin() -> Self {
        Self {
            principal: Principal::Anonymous,
            role: Role::Admin,
            scope: Scope::All,
            via: None,
        }
    }

    /// The same caller, its changes made through `via`: the same identity, role and scopes.
    pub(crate) fn through(&self, via: Via) -> Self {
        Self {
            via: Some(via),
            ..self.clone()
        }
    }

    /// Whether the caller's role allows `action`: decided before anything is looked up.
    pub(crate) fn require(&self, action: Action) -> Result<()> {
        let needed = action.required_role();
        if self.role >= needed {
            Ok(())
        } else {
            Err(Error::RoleTooLow {
                principal: self.principal.to_string(),
                role: self.role,
                needed,
            })
        }
    }

    /// Whether the caller may see the model named `model_name`. Outside its scope a model
    /// does not exist for it.
    pub(crate) fn sees(&self, model_name: &str) -> bool {
        self.scope.includes(model_name)
    }

    /// For operations that name a model the caller chose (register, upload by name): a name
    /// outside the scope is refused, whether or not such a model exists.
    pub(crate) fn require_in_scope(&self, model_name: &str) -> Result<()> {
        if self.sees(model_name) {
            Ok(())
        } else {
            Err(Error::OutOfScope {
                principal: self.principal.to_string(),
                model_name: model_name.to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> NamePattern {
        NamePattern::parse(text).unwrap()
    }

    #[test]
    fn patterns_match_by_prefix_suffix_and_infix() {
        assert!(pattern("qoe-*").matches("qoe-predictor"));
        assert!(pattern("qoe-*").matches("qoe-"));
        assert!(!pattern("qoe-*").matches("xqoe-predictor"));
        assert!(pattern("ran-team/*").matches("ran-team/a/b"));
        assert!(!pattern("ran-team/*").matches("ran-team"));
        assert!(pattern("*-v2").matches("anything-v2"));
        assert!(pattern("a*b*c").matches("a-x-b-y-c"));
        assert!(!pattern("a*b*c").matches("a-x-c-y-b"));
        assert!(pattern("exact").matches("exact"));
        assert!(!pattern("exact").matches("exact-not"));
        assert!(pattern("*").matches(""));
        assert!(!pattern("ab*ba").matches("aba"));
    }

    #[test]
    fn roles_include_the_ones_below() {
        let caller = |role| Caller {
            principal: Principal::Named("c".into()),
            role,
            scope: Scope::All,
            via: None,
        };
        assert!(caller(Role::Reader).require(Action::Read).is_ok());
        assert!(caller(Role::Reader).require(Action::Write).is_err());
        assert!(caller(Role::Writer).require(Action::Write).is_ok());
        assert!(caller(Role::Writer).require(Action::Delete).is_err());
        assert!(caller(Role::Admin).require(Action::Delete).is_ok());
    }

    #[test]
    fn a_principal_is_one_line_of_text() {
        assert_eq!(
            Principal::named("spiffe://x/a"),
            Ok(Principal::Named("spiffe://x/a".into()))
        );
        for refused in ["", "  ", "a\nb", "evil\u{1b}[31m", "tab\there", "nul\0"] {
            assert!(Principal::named(refused).is_err(), "{refused:?}");
        }
        assert!(Principal::named(&"x".repeat(PRINCIPAL_CHARS)).is_ok());
        assert!(Principal::named(&"x".repeat(PRINCIPAL_CHARS + 1)).is_err());
    }

    #[test]
    fn an_empty_scope_sees_nothing() {
        assert!(!Scope::Only(Vec::new()).includes("any"));
        assert!(Scope::All.includes("any"));
    }
}
