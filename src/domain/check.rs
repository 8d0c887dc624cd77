//! Field violations, and the checker that collects them: every parse reports all that is wrong
//! with its input at once (AIP-193), never only the first problem.

use super::error::Error;

/// Where a violated field is: inside the model resource (`model_information.metadata.author`),
/// or elsewhere in the request (`page_size`, `header.sha256`). Each front-end writes resource
/// paths where its protocol carries the resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FieldPath {
    Resource(String),
    Request(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldViolation {
    pub(crate) field: FieldPath,
    pub(crate) description: String,
}

impl FieldViolation {
    pub(crate) fn request(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: FieldPath::Request(field.into()),
            description: description.into(),
        }
    }

    pub(crate) fn resource(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: FieldPath::Resource(field.into()),
            description: description.into(),
        }
    }
}

/// Collects violations of one kind of path instead of stopping at the first one.
pub(crate) struct Checker {
    violations: Vec<FieldViolation>,
    in_resource: bool,
}

impl Checker {
    /// A checker of fields of the model resource.
    pub(crate) fn resource() -> Self {
        Self {
            violations: Vec::new(),
            in_resource: true,
        }
    }

    /// A checker of request fields outside the resource.
    pub(crate) fn request() -> Self {
        Self {
            violations: Vec::new(),
            in_resource: false,
        }
    }

    pub(crate) fn violation(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.violations.push(if self.in_resource {
            FieldViolation::resource(field, description)
        } else {
            FieldViolation::request(field, description)
        });
    }

    /// `value` when nothing was violated, else every violation. Parsers return `None` for a
    /// part they rejected, so a `None` here always comes with a violation.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, Error> {
        match value {
            Some(value) if self.violations.is_empty() => Ok(value),
            _ => Err(Error::InvalidArgument(self.violations)),
        }
    }

    /// Checks a character limit, and that the text holds no NUL character, which PostgreSQL
    /// cannot store or compare (every text of a request passes here); `false` when violated.
    pub(crate) fn max_chars(&mut self, field: &str, value: &str, max: usize) -> bool {
        if value.contains('\0') {
            self.violation(field, "must not contain NUL characters (U+0000)");
            return false;
        }
        let chars = value.chars().count();
        if chars > max {
            self.violation(
                field,
                format!("must be at most {max} characters (is {chars})"),
            );
            return false;
        }
        true
    }

    /// Non-blank text within `max` characters.
    pub(crate) fn required_text(&mut self, field: &str, value: &str, max: usize) -> bool {
        if value.trim().is_empty() {
            self.violation(field, "is required");
            false
        } else {
            self.max_chars(field, value, max)
        }
    }
}

/// How much of a client's input an answer repeats, in characters.
const ECHO_CHARS: usize = 64;

/// A client's input as an answer may repeat it: quoted, and cut to 64 characters, so that no
/// input can make an answer larger than a client accepts.
pub(crate) fn echo(text: &str) -> String {
    if text.chars().count() <= ECHO_CHARS {
        format!("{text:?}")
    } else {
        let start: String = text.chars().take(ECHO_CHARS).collect();
        format!("{start:?}…")
    }
}

/// Both results, or every field violation of both.
pub(crate) fn both<A, B>(a: Result<A, Error>, b: Result<B, Error>) -> Result<(A, B), Error> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(Error::InvalidArgument(mut first)), Err(Error::InvalidArgument(second))) => {
            first.extend(second);
            Err(Error::InvalidArgument(first))
        }
        (Err(err), _) | (_, Err(err)) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_are_quoted_and_cut() {
        assert_eq!(echo("abc"), "\"abc\"");
        let long = "x".repeat(20_000);
        let echoed = echo(&long);
        assert!(echoed.chars().count() <= ECHO_CHARS + 3, "{echoed}");
        assert!(echoed.ends_with('…'));
    }
}
