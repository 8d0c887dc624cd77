//! Labels and aliases. Labels follow Kubernetes' rules, so that a registry's labels can be
//! copied onto the workloads that run its models and back: a key is an optional DNS-subdomain
//! prefix and a `/`, then a name; a value is empty or a name. An alias is a name too.

use std::collections::BTreeMap;

use super::check::{Checker, echo};

/// A model's labels, in key order.
pub(crate) type Labels = BTreeMap<String, String>;

/// Labels one model may carry.
pub(crate) const MAX_LABELS: usize = 64;
const NAME_CHARS: usize = 63;
const PREFIX_CHARS: usize = 253;

/// What is wrong with a label key, if anything.
pub(crate) fn key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix
        && !is_dns_subdomain(prefix)
    {
        return Some(format!(
            "{}: a key's prefix must be a DNS subdomain of at most {PREFIX_CHARS} characters \
             (lower-case letters, digits, '-' and '.')",
            echo(key)
        ));
    }
    (!is_name(name)).then(|| {
        format!(
            "{}: a key's name must be 1 to {NAME_CHARS} letters, digits, '-', '_' or '.', \
             starting and ending with a letter or digit",
            echo(key)
        )
    })
}

/// What is wrong with a label value, if anything.
pub(crate) fn value_problem(value: &str) -> Option<String> {
    (!value.is_empty() && !is_name(value)).then(|| {
        format!(
            "{}: a value must be empty or 1 to {NAME_CHARS} letters, digits, '-', '_' or '.', \
             starting and ending with a letter or digit",
            echo(value)
        )
    })
}

/// Checks a model's labels under `field`; every violation is reported.
pub(crate) fn check_labels(check: &mut Checker, field: &str, labels: &Labels) {
    if labels.len() > MAX_LABELS {
        check.violation(
            field,
            format!(
                "must hold at most {MAX_LABELS} labels (holds {})",
                labels.len()
            ),
        );
        return;
    }
    for (key, value) in labels {
        if let Some(problem) = key_problem(key) {
            check.violation(field, problem);
        } else if let Some(problem) = value_problem(value) {
            check.violation(format!("{field}[{key}]"), problem);
        }
    }
}

/// A mutable name for one version of a model name, such as `production`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Alias(String);

impl Alias {
    pub(crate) fn parse(check: &mut Checker, field: &str, text: &str) -> Option<Self> {
        if text.is_empty() {
            check.violation(field, "is required");
            return None;
        }
        if !is_name(text) {
            check.violation(
                field,
                format!(
                    "{}: an alias must be 1 to {NAME_CHARS} letters, digits, '-', '_' or '.', \
                     starting and ending with a letter or digit",
                    echo(text)
                ),
            );
            return None;
        }
        Some(Self(text.to_owned()))
    }

    pub(crate) fn stored(text: String) -> Self {
        Self(text)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Alias {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Kubernetes' "qualified name" part: `[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?`, 1 to 63.
fn is_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    (1..=NAME_CHARS).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// RFC 1123 subdomain, as Kubernetes checks label key prefixes.
fn is_dns_subdomain(text: &str) -> bool {
    let bytes = text.as_bytes();
    (1..=PREFIX_CHARS).contains(&bytes.len())
        && text.split('.').all(|part| {
            let part = part.as_bytes();
            !part.is_empty()
                && part[0].is_ascii_alphanumeric()
                && part[part.len() - 1].is_ascii_alphanumeric()
                && part
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_kubernetes() {
        for good in [
            "team",
            "app.kubernetes.io/name",
            "a",
            "A_b-c.d",
            "example.com/x",
        ] {
            assert_eq!(key_problem(good), None, "{good}");
        }
        let long_name = "x".repeat(64);
        for bad in [
            "",
            "-a",
            "a-",
            "/a",
            "Example.com/a",
            "a/b/c",
            "a b",
            &long_name,
            "ü",
        ] {
            assert!(key_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn values_may_be_empty_but_not_odd() {
        assert_eq!(value_problem(""), None);
        assert_eq!(value_problem("v1.2"), None);
        assert!(value_problem("a b").is_some());
        assert!(value_problem(&"v".repeat(64)).is_some());
    }

    #[test]
    fn too_many_labels_is_one_violation() {
        let labels: Labels = (0..65).map(|n| (format!("k{n}"), String::new())).collect();
        let mut check = Checker::resource();
        check_labels(&mut check, "labels", &labels);
        let err = check.finish(Some(())).unwrap_err();
        assert!(matches!(err, super::super::Error::InvalidArgument(v) if v.len() == 1));
    }
}
