//! Change events: what the log records of every committed change, and the requests that read
//! it (a watch, an audit page).

use chrono::{DateTime, Utc};

use super::check::Checker;
use super::error::Result;
use super::labels::Alias;
use super::limits;
use super::names::{ArtifactVersion, Etag, ModelVersion, RegistrationId, RequestId};
use super::paging::PageSize;
use super::{Caller, Registration, Via};

/// What a change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum EventType {
    ModelRegistered,
    ModelUpdated,
    ModelDeregistered,
    ArtifactStored,
    AliasSet,
    AliasDeleted,
}

impl EventType {
    pub(crate) const ALL: [EventType; 6] = [
        EventType::ModelRegistered,
        EventType::ModelUpdated,
        EventType::ModelDeregistered,
        EventType::ArtifactStored,
        EventType::AliasSet,
        EventType::AliasDeleted,
    ];

    /// The stored (and proto) name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::ModelRegistered => "MODEL_REGISTERED",
            EventType::ModelUpdated => "MODEL_UPDATED",
            EventType::ModelDeregistered => "MODEL_DEREGISTERED",
            EventType::ArtifactStored => "ARTIFACT_STORED",
            EventType::AliasSet => "ALIAS_SET",
            EventType::AliasDeleted => "ALIAS_DELETED",
        }
    }

    pub(crate) fn from_stored(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Who made a change and with which request: recorded with it.
#[derive(Clone, Debug)]
pub(crate) struct Actor {
    pub(crate) principal: String,
    pub(crate) request_id: Option<RequestId>,
    /// The front-end that acted for the principal (the agent), if any.
    pub(crate) via: Option<Via>,
}

impl Actor {
    pub(crate) fn of(caller: &Caller, request_id: Option<&RequestId>) -> Self {
        Self {
            principal: caller.principal.to_string(),
            request_id: request_id.cloned(),
            via: caller.via,
        }
    }
}

/// One change, as the log holds it.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    /// Position in the log: increasing in commit order, without gaps.
    pub(crate) sequence: i64,
    pub(crate) time: DateTime<Utc>,
    pub(crate) kind: EventType,
    /// The registration after the change (before it, for a deregistration).
    pub(crate) registration: Registration,
    pub(crate) etag_before: Option<Etag>,
    pub(crate) etag_after: Option<Etag>,
    pub(crate) actor: String,
    pub(crate) request_id: Option<String>,
    /// The front-end that acted for the actor (the agent), if any.
    pub(crate) via: Option<Via>,
    /// The artifact version an ARTIFACT_STORED event stored.
    pub(crate) artifact_version: Option<ArtifactVersion>,
    /// The alias an ALIAS_SET or ALIAS_DELETED event moved.
    pub(crate) alias: Option<AliasChange>,
}

/// What an alias event did to its alias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AliasChange {
    pub(crate) alias: Alias,
    /// For a moved alias: the registration and version it named before.
    pub(crate) previous: Option<(RegistrationId, ModelVersion)>,
}

/// Which events a watcher asked for: exact name and version, and a set of types (empty: all).
#[derive(Clone, Debug, Default)]
pub(crate) struct EventFilter {
    pub(crate) model_name: Option<String>,
    pub(crate) model_version: Option<String>,
    pub(crate) types: Vec<EventType>,
}

impl EventFilter {
    pub(crate) fn matches_model(&self, registration: &Registration) -> bool {
        self.model_name
            .as_deref()
            .is_none_or(|name| name == registration.spec.name.as_str())
            && self
                .model_version
                .as_deref()
                .is_none_or(|version| version == registration.spec.version.as_str())
    }

    pub(crate) fn matches(&self, event: &Event) -> bool {
        (self.types.is_empty() || self.types.contains(&event.kind))
            && self.matches_model(&event.registration)
    }
}

/// Where a watch starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WatchStart {
    /// With the changes committed after the watch began.
    Now,
    /// After this sequence, which the client saw.
    After(i64),
    /// With the matching registrations of one snapshot, then the changes after it.
    InitialState,
}

/// A watch request, checked.
#[derive(Clone, Debug)]
pub(crate) struct WatchRequest {
    pub(crate) filter: EventFilter,
    pub(crate) start: WatchStart,
}

impl WatchRequest {
    pub(crate) fn parse(
        model_name: &str,
        model_version: &str,
        types: Vec<EventType>,
        start_sequence: Option<i64>,
        send_initial_state: bool,
    ) -> Result<Self> {
        let mut check = Checker::request();
        check.max_chars("model_name", model_name, limits::NAME_CHARS);
        check.max_chars("model_version", model_version, limits::NAME_CHARS);
        if let Some(start) = start_sequence
            && start < 0
        {
            check.violation(
                "start_sequence",
                format!("must not be negative (is {start})"),
            );
        }
        if send_initial_state && start_sequence.is_some() {
            check.violation(
                "send_initial_state",
                "cannot be combined with start_sequence: the initial state is a snapshot of now",
            );
        }
        let start = match (send_initial_state, start_sequence) {
            (true, _) => WatchStart::InitialState,
            (false, None) => WatchStart::Now,
            (false, Some(after)) => WatchStart::After(after),
        };
        check.finish(Some(Self {
            filter: EventFilter {
                model_name: non_empty(model_name),
                model_version: non_empty(model_version),
                types: dedup(types),
            },
            start,
        }))
    }
}

/// An audit request: filters combined with AND, an order, a page.
#[derive(Clone, Debug)]
pub(crate) struct EventQuery {
    pub(crate) registration: Option<RegistrationId>,
    pub(crate) model_name: Option<String>,
    pub(crate) actor: Option<String>,
    pub(crate) types: Vec<EventType>,
    /// At or after.
    pub(crate) start_time: Option<DateTime<Utc>>,
    /// Before.
    pub(crate) end_time: Option<DateTime<Utc>>,
    pub(crate) newest_first: bool,
    /// The sequence of the last event of the previous page.
    pub(crate) after: Option<i64>,
    pub(crate) page_size: PageSize,
}

/// The raw fields of an audit request, as a front-end received them.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventQueryDraft<'a> {
    pub(crate) registration: &'a str,
    pub(crate) model_name: &'a str,
    pub(crate) actor: &'a str,
    pub(crate) types: Vec<EventType>,
    /// Seconds and nanoseconds since the Unix epoch, as a client sent them.
    pub(crate) start_time: Option<(i64, i32)>,
    pub(crate) end_time: Option<(i64, i32)>,
    pub(crate) newest_first: bool,
    pub(crate) page_size: i32,
}

/// A protobuf Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const EARLIEST_SECONDS: i64 = -62_135_596_800;
const LATEST_SECONDS: i64 = 253_402_300_799;

fn time(check: &mut Checker, field: &str, time: Option<(i64, i32)>) -> Option<DateTime<Utc>> {
    let (seconds, nanos) = time?;
    let valid = (EARLIEST_SECONDS..=LATEST_SECONDS).contains(&seconds)
        && (0..1_000_000_000).contains(&nanos);
    match valid
        .then(|| DateTime::from_timestamp(seconds, nanos as u32))
        .flatten()
    {
        Some(time) => Some(time),
        None => {
            check.violation(
                field,
                "must be a time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z",
            );
            None
        }
    }
}

impl EventQuery {
    pub(crate) fn parse(draft: EventQueryDraft<'_>, after: Option<i64>) -> Result<Self> {
        let mut check = Checker::request();
        let registration = match draft.registration {
            "" => None,
            id => RegistrationId::parse(&mut check, "model_registration_id", id),
        };
        check.max_chars("model_name", draft.model_name, limits::NAME_CHARS);
        check.max_chars("actor", draft.actor, limits::ACTOR_CHARS);
        let start_time = time(&mut check, "start_time", draft.start_time);
        let end_time = time(&mut check, "end_time", draft.end_time);
        if let (Some(start), Some(end)) = (start_time, end_time)
            && end < start
        {
            check.violation("end_time", "must not be before start_time");
        }
        let page_size = PageSize::check(&mut check, draft.page_size);
        let query = page_size.map(|page_size| Self {
            registration,
            model_name: non_empty(draft.model_name),
            actor: non_empty(draft.actor),
            types: dedup(draft.types),
            start_time,
            end_time,
            newest_first: draft.newest_first,
            after,
            page_size,
        });
        check.finish(query)
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn dedup(mut types: Vec<EventType>) -> Vec<EventType> {
    types.sort_by_key(|kind| kind.as_str());
    types.dedup();
    types
}
