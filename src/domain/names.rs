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
/// `1.1.0`, `1.2.0`, … as in the service modelreg replaces. A client that stores bytes
/// elsewhere may declare any higher `MAJOR.MINOR.PATCH`; versions never go backwards.
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

    /// The version of the `sequence`-th artifact when the model's version is now `current`:
    /// the numbering's own, unless a declared version went past it; then the next minor
    /// version after `current`, so that versions only go forward.
    pub(crate) fn next(current: &ArtifactVersion, sequence: i64) -> Self {
        let numbered = Self::of_sequence(sequence);
        match (current.numbers(), numbered.numbers()) {
            (Some(now), Some(own)) if now >= own => {
                let (major, minor, _) = now;
                Self(format!("{major}.{}.0", minor + 1))
            }
            _ => numbered,
        }
    }

    /// A version a client declares for bytes it stored itself: `MAJOR.MINOR.PATCH`, each a
    /// decimal number.
    pub(crate) fn parse_declared(check: &mut Checker, field: &str, text: String) -> Option<Self> {
        if !check.max_chars(field, &text, limits::ARTIFACT_VERSION_CHARS) {
            return None;
        }
        let version = Self(text);
        if version.numbers().is_none() {
            check.violation(
                field,
                format!(
                    "{} is not a version MAJOR.MINOR.PATCH, such as 1.0.0",
                    super::echo(version.as_str())
                ),
            );
            return None;
        }
        Some(version)
    }

    /// The three numbers of a `MAJOR.MINOR.PATCH` version, in the order versions compare.
    pub(crate) fn numbers(&self) -> Option<(u64, u64, u64)> {
        let number = |part: &str| {
            (!part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
                .then(|| part.parse::<u64>().ok())
                .flatten()
        };
        let mut parts = self.0.split('.');
        let numbers = (
            number(parts.next()?)?,
            number(parts.next()?)?,
            number(parts.next()?)?,
        );
        parts.next().is_none().then_some(numbers)
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

    #[test]
    fn the_next_version_goes_past_a_declared_one() {
        let next = |current: &str, sequence| {
            ArtifactVersion::next(&ArtifactVersion::stored(current.into()), sequence).into_string()
        };
        assert_eq!(next("0.0.0", 1), "1.0.0");
        assert_eq!(next("1.0.0", 2), "1.1.0");
        // Declared 1.0.0 as the first artifact, then 3.2.1 as the second.
        assert_eq!(next("3.2.1", 3), "3.3.0");
        assert_eq!(next("1.5.0", 2), "1.6.0");
    }

    #[test]
    fn declared_versions_are_three_numbers() {
        let declared = |text: &str| {
            let mut check = Checker::request();
            ArtifactVersion::parse_declared(&mut check, "artifact_version", text.into())
        };
        assert_eq!(declared("1.2.3").unwrap().numbers(), Some((1, 2, 3)));
        assert_eq!(declared("10.0.07").unwrap().numbers(), Some((10, 0, 7)));
        for bad in [
            "",
            "1.2",
            "1.2.3.4",
            "1.x.0",
            "v1.0.0",
            "1..0",
            "1.0.0-rc1",
            " 1.0.0",
        ] {
            assert!(declared(bad).is_none(), "{bad:?}");
        }
    }
}
