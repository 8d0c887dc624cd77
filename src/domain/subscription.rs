//! Model change subscriptions: a receiver's URL, which changes it wants, and how far it has
//! acknowledged them.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::check::Checker;
use super::error::Result;
use super::event::{Event, EventType};
use super::names::ModelVersion;
use super::{NamePattern, Scope};

/// The longest notification destination.
pub(crate) const DESTINATION_CHARS: usize = 2_048;
/// The longest description.
pub(crate) const SUBSCRIPTION_DESCRIPTION_CHARS: usize = 1_024;
/// The most events one notification may carry.
pub(crate) const MAX_BATCH: i32 = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SubscriptionId(Uuid);

impl SubscriptionId {
    pub(crate) fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub(crate) fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The id a request names; a malformed one names no subscription.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok().map(Self)
    }

    pub(crate) fn uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Which changes a subscription is told of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SubscriptionFilter {
    pub(crate) model_name: Option<NamePattern>,
    pub(crate) model_version: Option<ModelVersion>,
    /// Empty: every type.
    pub(crate) types: Vec<EventType>,
}

impl SubscriptionFilter {
    pub(crate) fn matches(&self, event: &Event) -> bool {
        let spec = &event.registration.spec;
        self.model_name
            .as_ref()
            .is_none_or(|pattern| pattern.matches(spec.name.as_str()))
            && self
                .model_version
                .as_ref()
                .is_none_or(|version| version == &spec.version)
            && (self.types.is_empty() || self.types.contains(&event.kind))
    }
}

/// The key that signs notifications (Standard Webhooks: `whsec_` and base64 of the bytes).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SigningSecret(Vec<u8>);

impl SigningSecret {
    const PREFIX: &'static str = "whsec_";

    pub(crate) fn generate() -> Self {
        let mut bytes = vec![0; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        Self(bytes)
    }

    /// A secret as Standard Webhooks writes it, of 24 to 64 bytes.
    pub(crate) fn parse(check: &mut Checker, field: &str, text: &str) -> Option<Self> {
        use base64::Engine;
        let decoded = text
            .strip_prefix(Self::PREFIX)
            .and_then(|rest| base64::engine::general_purpose::STANDARD.decode(rest).ok());
        match decoded {
            Some(bytes) if (24..=64).contains(&bytes.len()) => Some(Self(bytes)),
            _ => {
                check.violation(
                    field,
                    "must be \"whsec_\" and the base64 of 24 to 64 random bytes",
                );
                None
            }
        }
    }

    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret as the receiver configures it.
    pub(crate) fn reveal(&self) -> String {
        use base64::Engine;
        format!(
            "{}{}",
            Self::PREFIX,
            base64::engine::general_purpose::STANDARD.encode(&self.0)
        )
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

/// Where a new subscription starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubscriptionStart {
    /// After the log's newest event.
    Now,
    /// After this sequence.
    After(i64),
}

/// A subscription as its creator asks for it.
#[derive(Clone, Debug)]
pub(crate) struct NewSubscription {
    pub(crate) destination: url::Url,
    pub(crate) filter: SubscriptionFilter,
    pub(crate) description: String,
    pub(crate) max_batch: i32,
    pub(crate) start: SubscriptionStart,
    /// `None`: the registry makes one.
    pub(crate) secret: Option<SigningSecret>,
}

/// What a front-end read from a create request.
pub(crate) struct SubscriptionDraft<'a> {
    pub(crate) destination: &'a str,
    pub(crate) model_name: &'a str,
    pub(crate) model_version: &'a str,
    pub(crate) types: Vec<EventType>,
    pub(crate) description: &'a str,
    pub(crate) max_batch: i32,
    pub(crate) start_sequence: Option<i64>,
    pub(crate) secret: &'a str,
}

impl SubscriptionDraft<'_> {
    /// Every violation at once; field paths are those of the gRPC request.
    pub(crate) fn parse(self) -> Result<NewSubscription> {
        let mut check = Checker::request();
        let destination = parse_destination(&mut check, self.destination);
        let model_name = match self.model_name {
            "" => Some(None),
            text => match NamePattern::parse(text) {
                Ok(pattern) => Some(Some(pattern)),
                Err(why) => {
                    check.violation("subscription.filter.model_name", why);
                    None
                }
            },
        };
        let model_version = match self.model_version {
            "" => Some(None),
            text => {
                ModelVersion::parse(&mut check, "subscription.filter.model_version", text).map(Some)
            }
        };
        check.max_chars(
            "subscription.description",
            self.description,
            SUBSCRIPTION_DESCRIPTION_CHARS,
        );
        let max_batch = match self.max_batch {
            0 => Some(1),
            n if (1..=MAX_BATCH).contains(&n) => Some(n),
            _ => {
                check.violation(
                    "subscription.max_batch",
                    format!("must be between 1 and {MAX_BATCH}"),
                );
                None
            }
        };
        let start = match self.start_sequence {
            None => Some(SubscriptionStart::Now),
            Some(sequence) if sequence >= 0 => Some(SubscriptionStart::After(sequence)),
            Some(_) => {
                check.violation("start_sequence", "must not be negative");
                None
            }
        };
        let secret = match self.secret {
            "" => Some(None),
            text => SigningSecret::parse(&mut check, "secret", text).map(Some),
        };
        let parsed = (|| {
            Some(NewSubscription {
                destination: destination?,
                filter: SubscriptionFilter {
                    model_name: model_name?,
                    model_version: model_version?,
                    types: self.types,
                },
                description: self.description.to_owned(),
                max_batch: max_batch?,
                start: start?,
                secret: secret?,
            })
        })();
        check.finish(parsed)
    }
}

fn parse_destination(check: &mut Checker, text: &str) -> Option<url::Url> {
    const FIELD: &str = "subscription.notification_destination";
    if !check.max_chars(FIELD, text, DESTINATION_CHARS) {
        return None;
    }
    let url = match url::Url::parse(text) {
        Ok(url) => url,
        Err(err) => {
            check.violation(FIELD, format!("must be an http or https URL: {err}"));
            return None;
        }
    };
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        check.violation(FIELD, "must be an http or https URL with a host");
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        check.violation(FIELD, "must not hold credentials (sign with the secret)");
        return None;
    }
    Some(url)
}

/// How the deliveries of a subscription stand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Delivery {
    pub(crate) acknowledged: i64,
    /// Set while attempts fail; cleared by the next success.
    pub(crate) failing_since: Option<DateTime<Utc>>,
    pub(crate) last_error: Option<String>,
    pub(crate) last_error_time: Option<DateTime<Utc>>,
    /// Events up to this sequence were pruned before the receiver acknowledged them.
    pub(crate) lost_through: Option<i64>,
}

/// A stored subscription (its secret is read only by its deliverer).
#[derive(Clone, Debug)]
pub(crate) struct Subscription {
    pub(crate) id: SubscriptionId,
    pub(crate) destination: url::Url,
    pub(crate) filter: SubscriptionFilter,
    pub(crate) description: String,
    /// The creator's principal.
    pub(crate) owner: String,
    /// The creator's scope when it created the subscription: it is told of nothing else.
    pub(crate) scope: Scope,
    pub(crate) max_batch: i32,
    pub(crate) create_time: DateTime<Utc>,
    pub(crate) delivery: Delivery,
}

impl Subscription {
    /// Whether the receiver is told of `event`.
    pub(crate) fn wants(&self, event: &Event) -> bool {
        self.scope.includes(event.registration.spec.name.as_str()) && self.filter.matches(event)
    }
}
