//! The registry's vocabulary: types that cannot be invalid once parsed, and the one error type.
//! Front-ends fill drafts (`ModelDraft`, `UploadDraft`) from their protocol; parsing them
//! reports every violation at once, with the path of each violated field.

mod address_policy;
mod artifact;
mod caller;
mod check;
pub(crate) mod clock;
mod draft;
mod error;
mod event;
pub(crate) mod filter;
mod held;
mod import;
mod labels;
mod lease;
mod model;
mod model_change;
mod names;
pub(crate) mod page_token;
mod paging;
mod patch;
mod position;
#[cfg(test)]
mod proptests;
mod subscription;
#[cfg(test)]
mod tests;

pub(crate) use address_policy::AddressPolicy;
pub(crate) use artifact::{
    Artifact, DeclareSpec, DownloadSpec, ModelIdentity, ModelRef, SelectorDraft, UploadDraft,
    UploadSpec, VersionOrAlias,
};
pub(crate) use caller::{Action, Caller, NamePattern, Principal, Role, Scope, Via};
pub(crate) use check::{Checker, FieldPath, FieldViolation, both, echo};
pub(crate) use draft::{
    DataTypeSpelling, EnvironmentDraft, InformationDraft, MetadataDraft, ModelDraft, ModelIdDraft,
    split_data_types,
};
pub(crate) use error::{AuthFailure, Cause, Error, Result, StreamFailure};
pub(crate) use event::{
    Actor, AliasChange, Event, EventFilter, EventQuery, EventQueryDraft, EventType, WatchRequest,
    WatchStart,
};
pub(crate) use held::{Encoding, Held};
pub(crate) use import::{ForeignModel, ImportOutcome};
pub(crate) use labels::{Alias, Labels, key_problem};
pub(crate) use lease::{Lease, LeaseEnd};
pub(crate) use model::{ModelFields, ModelSpec, Registration, TargetEnvironment};
pub(crate) use model_change::{ArtifactRecord, ModelChange, NewEvent};
pub(crate) use names::{ArtifactVersion, Etag, ModelName, ModelVersion, RegistrationId, RequestId};
pub(crate) use paging::{ArtifactCursor, ListQuery, ListQueryDraft, ModelCursor, Page, PageSize};
pub(crate) use patch::{Change, Patch};
pub(crate) use position::Position;
pub(crate) use subscription::{
    Delivery, NewSubscription, SigningSecret, Subscription, SubscriptionDraft, SubscriptionFilter,
    SubscriptionId, SubscriptionStart,
};

/// Size bounds of the registry (documented in the proto).
pub(crate) mod limits {
    pub(crate) const NAME_CHARS: usize = 255;
    pub(crate) const DESCRIPTION_CHARS: usize = 10_000;
    pub(crate) const LOCATION_CHARS: usize = 2_048;
    pub(crate) const DATA_TYPES: usize = 100;
    pub(crate) const TARGET_ENVIRONMENTS: usize = 100;
    pub(crate) const DEPENDENCY_LIST_CHARS: usize = 4_096;
    pub(crate) const REQUEST_ID_CHARS: usize = 255;
    /// A principal: a consumer's name, a SPIFFE id or a JWT subject.
    pub(crate) const ACTOR_CHARS: usize = 1024;
    pub(crate) const ARTIFACT_VERSION_CHARS: usize = 64;
    /// Etags the server makes have 32 characters.
    pub(crate) const ETAG_CHARS: usize = 128;
    /// The tokens the server makes hold at most two texts of 255 characters (the last model's
    /// name and version), each character at most 6 bytes of JSON (`\u001f`), with a digest and
    /// two times, in base64. The bound, 8248 characters, is the documented one of an earlier
    /// token of four such texts, and leaves room.
    pub(crate) const PAGE_TOKEN_CHARS: usize = (4 * NAME_CHARS * 6 + 64).div_ceil(3) * 4;
    /// Ten fields and up to 64 labels (`labels.KEY`) can be named.
    pub(crate) const MASK_PATHS: usize = 80;
    /// A request to the agent in plain words: a paragraph, not a document.
    pub(crate) const AGENT_TEXT_CHARS: usize = 8_192;
    /// `labels.` and the longest label key (a prefix of 253, `/`, a name of 63).
    pub(crate) const MASK_PATH_CHARS: usize = 324;
}
