//! The one error type of the registry: each variant says what went wrong, not which protocol
//! code it becomes. Front-ends map it exhaustively (gRPC in `grpc::status`, REST in
//! `rest::problem`), using `reason` and `metadata` for the machine-readable part of their
//! answers.

use super::caller::Role;
use super::check::{FieldViolation, echo};

/// A failure's cause as the logs need it; never shown to clients.
pub(crate) type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The request is malformed; lists every violated field.
    #[error("invalid request ({} violations)", .0.len())]
    InvalidArgument(Vec<FieldViolation>),

    #[error("model registration {id} not found")]
    RegistrationNotFound { id: String },

    #[error("subscription {id} not found")]
    SubscriptionNotFound { id: String },

    #[error("model {} version {} is already registered", echo(.name), echo(.version))]
    ModelAlreadyRegistered { name: String, version: String },

    /// The client's etag no longer matches the stored one (AIP-154).
    #[error(
        "etag {} does not match the current etag of model registration {id}; read it again and retry",
        echo(.given)
    )]
    EtagMismatch { id: String, given: String },

    #[error("model {} version {} is not registered", echo(.name), echo(.version))]
    ModelNotFound { name: String, version: String },

    /// The model name has no such alias (or the name is not registered at all).
    #[error("model {} has no alias {}", echo(.name), echo(.alias))]
    AliasNotFound { name: String, alias: String },

    /// No artifact of that version, or (without a version) no artifact at all.
    #[error("{}", match .version {
        Some(version) => format!("model registration {id} has no artifact version {}", echo(version)),
        None => format!("model registration {id} has no artifact yet"),
    })]
    ArtifactNotFound { id: String, version: Option<String> },

    /// A declared artifact version lower than the model's current one.
    #[error(
        "artifact version {} is lower than the current artifact version {} of model registration {id}; versions only go forward",
        echo(.given),
        echo(.current)
    )]
    ArtifactVersionBackwards {
        id: String,
        given: String,
        current: String,
    },

    /// The artifact version was declared by a client that stored its bytes elsewhere.
    #[error(
        "artifact version {} of model registration {id} was declared by a client that stored its bytes elsewhere; they are not held here",
        echo(.version)
    )]
    ArtifactNotHeld { id: String, version: String },

    #[error("artifacts are limited to {limit} bytes")]
    ArtifactTooLarge { limit: u64 },

    #[error("offset {offset} is beyond the artifact's {size} bytes")]
    OffsetOutOfRange { offset: u64, size: u64 },

    /// The client's upload stream failed before the upload completed; nothing was kept.
    #[error("{}: {message}", match .failure {
        StreamFailure::Cancelled => "upload cancelled",
        StreamFailure::MessageTooLarge => "upload message too large",
        StreamFailure::Malformed => "malformed upload message",
    })]
    UploadStream {
        failure: StreamFailure,
        message: String,
    },

    /// The object store does not answer, or refused an operation; a retry can succeed.
    #[error("artifact store unavailable")]
    ArtifactStoreUnavailable(#[source] Cause),

    /// The object store refuses the server's requests (credentials, permissions, bucket, or
    /// an unsupported operation): an operator must fix its configuration; retrying won't help.
    #[error("the artifact store is misconfigured")]
    ArtifactStoreMisconfigured(#[source] Cause),

    /// The bytes of a recorded artifact are missing or shorter than recorded.
    #[error("the stored bytes of this artifact are missing or incomplete")]
    ArtifactDataLoss { key: String },

    /// The database gave up on a transaction because of a concurrent one; a retry can succeed.
    #[error("concurrent modification; retry")]
    Contention(#[source] Cause),

    /// The database cannot be reached or is overloaded; a retry can succeed.
    #[error("database unavailable")]
    DatabaseUnavailable(#[source] Cause),

    /// The caller brought no credentials, or ones that are not valid.
    #[error("{0}")]
    Unauthenticated(AuthFailure),

    /// The keys that verify credentials cannot be fetched; a retry can succeed.
    #[error("credentials cannot be verified now")]
    AuthenticationUnavailable(#[source] Cause),

    /// The caller is known, but its role does not allow the operation.
    #[error("{} has the role {role}; this operation needs {needed}", echo(.principal))]
    RoleTooLow {
        principal: String,
        role: Role,
        needed: Role,
    },

    /// The caller named a model outside the names it may use.
    #[error("{} may not use the model name {}", echo(.principal), echo(.model_name))]
    OutOfScope {
        principal: String,
        model_name: String,
    },

    /// Valid credentials (a client certificate) of a principal that no consumer names.
    #[error("{} is not a consumer of this registry", echo(.principal))]
    UnknownConsumer { principal: String },

    /// A watch asked to resume after events the log no longer keeps.
    #[error(
        "the event log keeps events after sequence {pruned_through}, not {start}; list the models again and watch from the sequence of that answer"
    )]
    SequenceExpired { start: i64, pruned_through: i64 },

    /// A watch asked to resume after an event the log has not written (another database?).
    #[error(
        "sequence {start} is beyond the newest event ({last}); list the models again and watch from the sequence of that answer"
    )]
    SequenceAhead { start: i64, last: i64 },

    /// A watcher read its stream more slowly than changes came, and its buffer filled.
    #[error(
        "the watcher fell more than {buffer} events behind; watch again from sequence {last_sent}"
    )]
    WatcherTooSlow { buffer: usize, last_sent: i64 },

    /// The server is stopping; a stream ends so that its client resumes elsewhere.
    #[error("the server is shutting down; watch again from sequence {last_sent}")]
    ShuttingDown { last_sent: i64 },

    /// A stream's credentials now make another caller (its role or scopes changed): it ends
    /// so that its client opens a new one, which sees what the new caller may see.
    #[error("the caller's credentials changed; watch again from sequence {last_sent}")]
    CredentialsChanged { last_sent: i64 },

    /// A stream reached the longest life the server allows (its connection's maximum age, or
    /// the longest deadline), so that connections can be rebalanced.
    #[error("the stream reached its longest life; watch again from sequence {last_sent}")]
    StreamLifetimeReached { last_sent: i64 },

    /// The agent was asked, and the server has no LLM to ask.
    #[error("no LLM is configured for the agent (--llm-base-url)")]
    LlmNotConfigured,

    /// The LLM could not be reached or did not answer with a chat completion. `summary` is
    /// what a client may read (a status, never the endpoint's text); the cause is logged.
    #[error("the LLM failed: {summary}")]
    LlmFailed {
        summary: String,
        #[source]
        cause: Cause,
    },

    /// The LLM, or the whole request, took longer than `flag` allows.
    #[error("no answer within {} ({flag})", humantime::format_duration(*.limit))]
    LlmTimedOut {
        limit: std::time::Duration,
        flag: &'static str,
    },

    /// The LLM needed more of `bound` than one request may use; nothing was written.
    #[error("the agent stopped at {limit} {bound} ({flag}) without an answer; nothing was written")]
    AgentLimitReached {
        bound: &'static str,
        limit: u64,
        flag: &'static str,
    },

    /// A bug or an unexpected failure. Its cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Cause),
}

/// Why credentials were refused. It names no secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthFailure {
    #[error("this registry requires credentials: a bearer token or a client certificate")]
    Missing,
    #[error("the credentials are not valid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued for another audience")]
    WrongAudience,
    #[error("the token comes from an issuer this registry does not trust")]
    WrongIssuer,
}

/// How a client's stream of messages failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamFailure {
    /// The client cancelled, or the connection was lost.
    Cancelled,
    /// A message was larger than the server accepts.
    MessageTooLarge,
    /// A message did not decode, or the stream broke the protocol.
    Malformed,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid_request(field: impl Into<String>, why: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::request(field, why)])
    }

    /// The machine-readable name of the failure (`google.rpc.ErrorInfo.reason`, or the type of
    /// a problem document).
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::RegistrationNotFound { .. } => "MODEL_REGISTRATION_NOT_FOUND",
            Error::SubscriptionNotFound { .. } => "SUBSCRIPTION_NOT_FOUND",
            Error::ModelAlreadyRegistered { .. } => "MODEL_ALREADY_REGISTERED",
            Error::EtagMismatch { .. } => "ETAG_MISMATCH",
            Error::ModelNotFound { .. } => "MODEL_NOT_FOUND",
            Error::AliasNotFound { .. } => "ALIAS_NOT_FOUND",
            Error::ArtifactNotFound { .. } => "ARTIFACT_NOT_FOUND",
            Error::ArtifactVersionBackwards { .. } => "ARTIFACT_VERSION_BACKWARDS",
            Error::ArtifactNotHeld { .. } => "ARTIFACT_NOT_HELD",
            Error::ArtifactTooLarge { .. } => "ARTIFACT_TOO_LARGE",
            Error::OffsetOutOfRange { .. } => "OFFSET_OUT_OF_RANGE",
            Error::UploadStream { failure, .. } => match failure {
                StreamFailure::Cancelled => "UPLOAD_CANCELLED",
                StreamFailure::MessageTooLarge => "MESSAGE_TOO_LARGE",
                StreamFailure::Malformed => "MALFORMED_MESSAGE",
            },
            Error::ArtifactStoreUnavailable(_) => "ARTIFACT_STORE_UNAVAILABLE",
            Error::ArtifactStoreMisconfigured(_) => "ARTIFACT_STORE_MISCONFIGURED",
            Error::ArtifactDataLoss { .. } => "ARTIFACT_DATA_LOSS",
            Error::Contention(_) => "CONCURRENT_MODIFICATION",
            Error::DatabaseUnavailable(_) => "DATABASE_UNAVAILABLE",
            Error::Unauthenticated(failure) => match failure {
                AuthFailure::Missing => "CREDENTIALS_MISSING",
                AuthFailure::Invalid => "CREDENTIALS_INVALID",
                AuthFailure::Expired => "TOKEN_EXPIRED",
                AuthFailure::WrongAudience => "TOKEN_AUDIENCE_MISMATCH",
                AuthFailure::WrongIssuer => "TOKEN_ISSUER_MISMATCH",
            },
            Error::AuthenticationUnavailable(_) => "AUTHENTICATION_UNAVAILABLE",
            Error::RoleTooLow { .. } => "ROLE_TOO_LOW",
            Error::OutOfScope { .. } => "MODEL_OUT_OF_SCOPE",
            Error::UnknownConsumer { .. } => "UNKNOWN_CONSUMER",
            Error::SequenceExpired { .. } => "SEQUENCE_EXPIRED",
            Error::SequenceAhead { .. } => "SEQUENCE_AHEAD",
            Error::WatcherTooSlow { .. } => "WATCHER_TOO_SLOW",
            Error::ShuttingDown { .. } => "SHUTTING_DOWN",
            Error::CredentialsChanged { .. } => "CREDENTIALS_CHANGED",
            Error::StreamLifetimeReached { .. } => "STREAM_LIFETIME_REACHED",
            Error::LlmNotConfigured => "LLM_NOT_CONFIGURED",
            Error::LlmFailed { .. } => "LLM_FAILED",
            Error::LlmTimedOut { .. } => "LLM_TIMEOUT",
            Error::AgentLimitReached { .. } => "AGENT_LIMIT_REACHED",
            Error::Internal(_) => "INTERNAL",
        }
    }

    /// Logs what a client cannot act on, once, as the error becomes an answer. A cause may
    /// hold SQL or driver text: it goes to the log (inside the call's span), never to the
    /// client.
    pub(crate) fn log_cause(&self) {
        match self {
            Error::ArtifactStoreUnavailable(cause) => {
                tracing::error!(error = %cause, "artifact store failure");
            }
            Error::ArtifactStoreMisconfigured(cause) => {
                tracing::error!(error = %cause, "the artifact store refuses the server's requests");
            }
            Error::ArtifactDataLoss { key } => {
                tracing::error!(%key, "recorded artifact bytes are missing from the store");
            }
            Error::Contention(cause) => {
                tracing::warn!(error = %cause, "transaction aborted by a concurrent one");
            }
            Error::DatabaseUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
            }
            Error::AuthenticationUnavailable(cause) => {
                tracing::warn!(error = %cause, "the keys that verify tokens cannot be fetched");
            }
            Error::LlmFailed { summary, cause } => {
                tracing::warn!(%summary, error = %cause, "the agent's LLM failed");
            }
            Error::Internal(cause) => {
                tracing::error!(error = %cause, debug = ?cause, "internal error");
            }
            _ => {}
        }
    }

    /// What a client needs to act on the failure, as key-value pairs.
    pub(crate) fn metadata(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::InvalidArgument(violations) => {
                vec![("violations", violations.len().to_string())]
            }
            Error::RegistrationNotFound { id } | Error::EtagMismatch { id, .. } => {
                vec![("model_registration_id", id.clone())]
            }
            Error::SubscriptionNotFound { id } => vec![("subscription_id", id.clone())],
            Error::ModelAlreadyRegistered { name, version }
            | Error::ModelNotFound { name, version } => vec![
                ("model_name", name.clone()),
                ("model_version", version.clone()),
            ],
            Error::AliasNotFound { name, alias } => {
                vec![("model_name", name.clone()), ("alias", alias.clone())]
            }
            Error::ArtifactNotFound { id, version } => {
                let mut metadata = vec![("model_registration_id", id.clone())];
                metadata.extend(version.clone().map(|v| ("artifact_version", v)));
                metadata
            }
            Error::ArtifactVersionBackwards { id, given, current } => vec![
                ("model_registration_id", id.clone()),
                ("artifact_version", given.clone()),
                ("current_artifact_version", current.clone()),
            ],
            Error::ArtifactNotHeld { id, version } => vec![
                ("model_registration_id", id.clone()),
                ("artifact_version", version.clone()),
            ],
            Error::ArtifactTooLarge { limit } => vec![("max_artifact_bytes", limit.to_string())],
            Error::OffsetOutOfRange { offset, size } => vec![
                ("offset", offset.to_string()),
                ("size_bytes", size.to_string()),
            ],
            Error::RoleTooLow { role, needed, .. } => vec![
                ("role", role.to_string()),
                ("required_role", needed.to_string()),
            ],
            Error::OutOfScope { model_name, .. } => vec![("model_name", model_name.clone())],
            Error::SequenceExpired { pruned_through, .. } => {
                vec![("pruned_through", pruned_through.to_string())]
            }
            Error::SequenceAhead { last, .. } => vec![("last_sequence", last.to_string())],
            Error::WatcherTooSlow { last_sent, .. }
            | Error::ShuttingDown { last_sent }
            | Error::CredentialsChanged { last_sent }
            | Error::StreamLifetimeReached { last_sent } => {
                vec![("last_sequence", last_sent.to_string())]
            }
            Error::LlmTimedOut { limit, flag } => vec![
                ("limit", humantime::format_duration(*limit).to_string()),
                ("flag", (*flag).to_owned()),
            ],
            Error::AgentLimitReached { bound, limit, flag } => vec![
                ("bound", (*bound).to_owned()),
                ("limit", limit.to_string()),
                ("flag", (*flag).to_owned()),
            ],
            Error::LlmNotConfigured | Error::LlmFailed { .. } => Vec::new(),
            Error::UploadStream { .. }
            | Error::Unauthenticated(_)
            | Error::AuthenticationUnavailable(_)
            | Error::UnknownConsumer { .. }
            | Error::ArtifactStoreUnavailable(_)
            | Error::ArtifactStoreMisconfigured(_)
            | Error::ArtifactDataLoss { .. }
            | Error::Contention(_)
            | Error::DatabaseUnavailable(_)
            | Error::Internal(_) => Vec::new(),
        }
    }
}
