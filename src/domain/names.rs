//! Identifiers of the registry, each valid once made: a registration id is a UUID, a model name
//! and version are printable and unambiguous, a request id has a bounded length.

use std::fmt;

use uuid::Uuid;

use super::check::{Checker, echo};
use super::limits;

/// The server-assigned id of a registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RegistrationId(Uuid);

impl RegistrationId {
    /// A new id. Time-ordered ids keep the primary key index append-mostly.
    pub(crate) fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// A stored id.
    pub(crate) fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The id a client sent in `field`.
    pub(crate) fn parse(check: &mut Checker, field: &str, text: &str) -> Option<Self> {
        if text.is_empty() {
            check.violation(field, "is required");
            return None;
        }
        match Uuid::parse_str(text) {
            Ok(id) => Some(Self(id)),
            Err(_) => {
                check.violation(field, format!("{} is not a UUID", echo(text)));
                None
            }
        }
    }

    pub(crate) fn uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for RegistrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) struct $name(String);

        impl $name {
            /// Names and versions identify a model, so they must be printable and unambiguous.
            pub(crate) fn parse(check: &mut Checker, field: &str, text: &str) -> Option<Self> {
                valid_identifier(check, field, text).then(|| Self(text.to_owned()))
            }

            /// A value read back from the database, where only parsed values are written.
            pub(crate) fn stored(text: String) -> Self {
                Self(text)
            }

            pub(crate) fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

identifier!(
    /// `model_id.model_name`.
    ModelName
);
identifier!(
    /// `model_id.model_version`.
    ModelVersion
);

fn valid_identifier(check: &mut Checker, field: &str, value: &str) -> bool {
    if value.is_empty() {
        check.violation(field, "is required");
        false
    } else if value.chars().any(char::is_control) {
        check.violation(field, "must not contain control characters");
        false
    } else if value.trim() != value {
        check.violation(field, "must not start or end with white space");
        false
    } else {
        check.max_chars(field, value, limits::NAME_CHARS)
    }
}

/// A registration's version for optimistic concurrency (AIP-154): it changes with every write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Etag(String);

impl Etag {
    pub(crate) fn generate() -> Self {
        Self(Uuid::new_v4().simple().to_string())
    }

    /// An etag a client sent in `field`; `None` inside for an empty (absent) one.
    pub(crate) fn parse(check: &mut Checker, field: &str, text: String) -> Option<Option<Self>> {
        if !check.max_chars(field, &text, limits::ETAG_CHARS) {
            return None;
        }
        Some((!text.is_empty()).then_some(Self(text)))
    }

    pub(crate) fn stored(text: String) -> Self {
        Self(text)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's idempotency key (AIP-155).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequestId(String);

impl RequestId {
    /// `None` for an empty (absent) request id.
    pub(crate) fn parse(check: &mut Checker, field: &str, text: String) -> Option<Option<Self>> {
        if !check.max_chars(field, &text, limits::REQUEST_ID_CHARS) {
            return None;
        }
        Some((!text.is_empty()).then_some(Self(text)))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The version of a model's stored bytes: `0.0.0` before the first artifact, then `1.0.0`,
/// `1.1.0`, `1.2.0`, … as in the service modelreg replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArtifactVersion(String);

impl ArtifactVersion {
    pub(crate) fn initial() -> Self {
        Self("0.0.0".to_owned())
    }

    /// The version of the `sequence`-th artifact (1-based).
    pub(crate) fn of_sequence(sequence: i64) -> Self {
        Self(format!("1.{}.0", sequence - 1))
    }

    /// A version a client asks for: any text within the limit (unknown ones are not found).
    pub(crate) fn parse(check: &mut Checker, field: &str, text: String) -> Option<Self> {
        check
            .max_chars(field, &text, limits::ARTIFACT_VERSION_CHARS)
            .then_some(Self(text))
    }

    pub(crate) fn stored(text: String) -> Self {
        Self(text)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_versions_follow_the_replaced_service() {
        assert_eq!(ArtifactVersion::of_sequence(1).as_str(), "1.0.0");
        assert_eq!(ArtifactVersion::of_sequence(2).as_str(), "1.1.0");
        assert_eq!(ArtifactVersion::of_sequence(11).as_str(), "1.10.0");
    }
}
