//! The service's failures and their one mapping to gRPC `Status` (canonical codes, AIP-193:
//! every answer carries a `google.rpc.ErrorInfo`, INVALID_ARGUMENT a `google.rpc.BadRequest`).

use std::collections::HashMap;

use sea_orm::{DbErr, RuntimeErr, sqlx};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "modelregistry";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; lists every violated field.
    #[error("invalid request: {}", summarize(.0))]
    InvalidArgument(Vec<FieldViolation>),

    #[error("model registration {id} not found")]
    RegistrationNotFound { id: String },

    #[error("model {name:?} version {version:?} is already registered")]
    ModelAlreadyRegistered { name: String, version: String },

    /// The client's etag no longer matches the stored one (AIP-154).
    #[error(
        "etag {given:?} does not match the current etag of model registration {id}; read it again and retry"
    )]
    EtagMismatch { id: String, given: String },

    #[error("model {name:?} version {version:?} is not registered")]
    ModelNotFound { name: String, version: String },

    /// No artifact of that version, or (without a version) no artifact at all.
    #[error("{}", match .version {
        Some(version) => format!("model registration {id} has no artifact version {version:?}"),
        None => format!("model registration {id} has no artifact yet"),
    })]
    ArtifactNotFound { id: String, version: Option<String> },

    #[error("artifacts are limited to {limit} bytes")]
    ArtifactTooLarge { limit: u64 },

    #[error("offset {offset} is beyond the artifact's {size} bytes")]
    OffsetOutOfRange { offset: u64, size: u64 },

    /// The client's stream failed or was cancelled before the upload completed.
    #[error("upload cancelled: {0}")]
    UploadCancelled(String),

    /// The object store does not answer, or refused an operation; a retry can succeed.
    #[error("artifact store unavailable")]
    ArtifactStore(#[source] object_store::Error),

    /// The bytes of a recorded artifact are missing or shorter than recorded.
    #[error("the stored bytes of this artifact are missing or incomplete")]
    ArtifactDataLoss { key: String },

    /// The database gave up on a transaction because of a concurrent one; a retry can succeed.
    #[error("concurrent modification; retry")]
    Contention(#[source] DbErr),

    /// The database cannot be reached or is overloaded; a retry can succeed.
    #[error("database unavailable")]
    Unavailable(#[source] DbErr),

    /// A bug or an unexpected database failure. Its cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
}

/// Both results, or every field violation of both (AIP-193 lists them all at once).
pub fn both<A, B>(a: Result<A>, b: Result<B>) -> Result<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(Error::InvalidArgument(mut first)), Err(Error::InvalidArgument(second))) => {
            first.extend(second);
            Err(Error::InvalidArgument(first))
        }
        (Err(err), _) | (_, Err(err)) => Err(err),
    }
}

impl From<object_store::Error> for Error {
    fn from(err: object_store::Error) -> Self {
        Self::ArtifactStore(err)
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        match classify(&err) {
            DbFailure::Unreachable => Self::Unavailable(err),
            DbFailure::Contention => Self::Contention(err),
            DbFailure::Other => Self::Internal(err.into()),
        }
    }
}

enum DbFailure {
    Unreachable,
    Contention,
    Other,
}

/// Tells database failures a client may retry apart from bugs.
fn classify(err: &DbErr) -> DbFailure {
    let sqlx_err = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return DbFailure::Unreachable,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return DbFailure::Other,
    };
    match sqlx_err.as_ref() {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => DbFailure::Unreachable,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // PostgreSQL: serialization failure, deadlock.
            Some("40001" | "40P01") => DbFailure::Contention,
            // SQLite: SQLITE_BUSY, SQLITE_LOCKED (and their extended codes).
            Some(code) if is_sqlite_busy(code) => DbFailure::Contention,
            // PostgreSQL: connection exceptions (08…), shutdown / cannot connect now (57P…),
            // too many connections, database does not exist.
            Some(code) if code.starts_with("08") || code.starts_with("57P") => {
                DbFailure::Unreachable
            }
            Some("53300" | "3D000") => DbFailure::Unreachable,
            _ => DbFailure::Other,
        },
        _ => DbFailure::Other,
    }
}

/// SQLite reports numeric (extended) result codes, PostgreSQL five-character SQLSTATEs.
fn is_sqlite_busy(code: &str) -> bool {
    code.len() < 5
        && code
            .parse::<i32>()
            .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

fn summarize(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        let (code, reason, metadata, mut details): (_, _, HashMap<String, String>, _) = match err {
            Error::InvalidArgument(violations) => (
                Code::InvalidArgument,
                "INVALID_ARGUMENT",
                HashMap::from([("violations".into(), violations.len().to_string())]),
                ErrorDetails::with_bad_request(violations),
            ),
            Error::RegistrationNotFound { id } => (
                Code::NotFound,
                "MODEL_REGISTRATION_NOT_FOUND",
                HashMap::from([("model_registration_id".into(), id)]),
                ErrorDetails::new(),
            ),
            Error::ModelAlreadyRegistered { name, version } => (
                Code::AlreadyExists,
                "MODEL_ALREADY_REGISTERED",
                HashMap::from([
                    ("model_name".into(), name),
                    ("model_version".into(), version),
                ]),
                ErrorDetails::new(),
            ),
            Error::EtagMismatch { id, .. } => (
                Code::Aborted,
                "ETAG_MISMATCH",
                HashMap::from([("model_registration_id".into(), id)]),
                ErrorDetails::new(),
            ),
            Error::ModelNotFound { name, version } => (
                Code::NotFound,
                "MODEL_NOT_FOUND",
                HashMap::from([
                    ("model_name".into(), name),
                    ("model_version".into(), version),
                ]),
                ErrorDetails::new(),
            ),
            Error::ArtifactNotFound { id, version } => {
                let mut metadata = HashMap::from([("model_registration_id".into(), id)]);
                metadata.extend(version.map(|v| ("artifact_version".into(), v)));
                (
                    Code::NotFound,
                    "ARTIFACT_NOT_FOUND",
                    metadata,
                    ErrorDetails::new(),
                )
            }
            Error::ArtifactTooLarge { limit } => (
                Code::ResourceExhausted,
                "ARTIFACT_TOO_LARGE",
                HashMap::from([("max_artifact_bytes".into(), limit.to_string())]),
                ErrorDetails::new(),
            ),
            Error::OffsetOutOfRange { offset, size } => (
                Code::OutOfRange,
                "OFFSET_OUT_OF_RANGE",
                HashMap::from([
                    ("offset".into(), offset.to_string()),
                    ("size_bytes".into(), size.to_string()),
                ]),
                ErrorDetails::new(),
            ),
            Error::UploadCancelled(_) => (
                Code::Cancelled,
                "UPLOAD_CANCELLED",
                HashMap::new(),
                ErrorDetails::new(),
            ),
            Error::ArtifactStore(cause) => {
                tracing::error!(error = %cause, "artifact store failure");
                (
                    Code::Unavailable,
                    "ARTIFACT_STORE_UNAVAILABLE",
                    HashMap::new(),
                    ErrorDetails::new(),
                )
            }
            Error::ArtifactDataLoss { key } => {
                tracing::error!(%key, "recorded artifact bytes are missing from the store");
                (
                    Code::DataLoss,
                    "ARTIFACT_DATA_LOSS",
                    HashMap::new(),
                    ErrorDetails::new(),
                )
            }
            Error::Contention(cause) => {
                tracing::warn!(error = %cause, "transaction aborted by a concurrent one");
                (
                    Code::Aborted,
                    "CONCURRENT_MODIFICATION",
                    HashMap::new(),
                    ErrorDetails::new(),
                )
            }
            Error::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                (
                    Code::Unavailable,
                    "DATABASE_UNAVAILABLE",
                    HashMap::new(),
                    ErrorDetails::new(),
                )
            }
            Error::Internal(cause) => {
                // The cause may hold SQL or driver text: it goes to the log (inside the RPC's
                // span), never to the client.
                tracing::error!(error = %cause, debug = ?cause, "internal error");
                (
                    Code::Internal,
                    "INTERNAL",
                    HashMap::new(),
                    ErrorDetails::new(),
                )
            }
        };
        details.set_error_info(reason, ERROR_DOMAIN, metadata);
        Status::with_error_details(code, message, details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(err: Error) -> Status {
        err.into()
    }

    #[test]
    fn invalid_argument_lists_every_violation() {
        let status = status(Error::InvalidArgument(vec![
            FieldViolation::new("a.b", "is required"),
            FieldViolation::new("c[1]", "is too long"),
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .expect("bad request details")
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["a.b", "c[1]"]);
        let info = details.error_info().expect("error info");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.reason, "INVALID_ARGUMENT");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status = status(Error::Internal(
            DbErr::Custom("SELECT secret FROM model_related_information".into()).into(),
        ));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("SELECT"), "{}", status.message());
        assert_eq!(
            status.get_error_details().error_info().unwrap().reason,
            "INTERNAL"
        );
    }

    #[test]
    fn connection_failures_are_unavailable() {
        let err: Error = DbErr::Conn(RuntimeErr::Internal("refused".into())).into();
        assert_eq!(Status::from(err).code(), Code::Unavailable);
        let timed_out = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(
            sqlx::Error::PoolTimedOut,
        )));
        assert_eq!(
            Status::from(Error::from(timed_out)).code(),
            Code::Unavailable
        );
    }

    #[test]
    fn sqlite_busy_codes_are_recognised() {
        assert!(is_sqlite_busy("5"));
        assert!(is_sqlite_busy("517")); // SQLITE_BUSY_SNAPSHOT
        assert!(is_sqlite_busy("6"));
        assert!(!is_sqlite_busy("19")); // SQLITE_CONSTRAINT
        assert!(!is_sqlite_busy("23505"));
    }
}
