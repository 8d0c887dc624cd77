//! The one mapping from the registry's errors to gRPC `Status`: canonical codes, and AIP-193
//! details (every answer carries a `google.rpc.ErrorInfo`, INVALID_ARGUMENT a
//! `google.rpc.BadRequest`). Failures a client cannot act on are logged, once.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::{Error, FieldPath, FieldViolation, StreamFailure};

/// The `ErrorInfo.domain` of every error this service returns.
pub(super) const ERROR_DOMAIN: &str = "modelregistry";

/// At most this many field violations are listed in a BadRequest…
const MAX_VIOLATIONS: usize = 20;
/// …taking at most this many bytes of field paths and descriptions, so that any answer stays
/// well under the 8 KiB of metadata that gRPC clients accept by default (the details travel
/// base64-encoded, beside the message).
const VIOLATION_BYTES: usize = 3072;
/// Violations summarized in the message; the details list the rest.
const SUMMARIZED_VIOLATIONS: usize = 3;
/// The summary takes at most this many bytes as it travels, percent-encoded in `grpc-message`
/// (a byte of non-ASCII text or a space takes three there). The details repeat the message, so
/// with the violations' 3 KiB the whole answer stays under 8 KiB.
const SUMMARY_BYTES: usize = 512;

/// The request field that carries the model resource in RegisterModel and
/// UpdateModelRegistration: resource paths are reported under it.
const RESOURCE_FIELD: &str = "model_related_information";

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        err.log_cause();
        let reason = err.reason();
        let mut metadata: HashMap<String, String> = err
            .metadata()
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
        let (code, message, mut details) = match err {
            Error::InvalidArgument(violations) => {
                let total = violations.len();
                let listed = bounded(violations.into_iter().map(field_violation));
                let message = summarize(&listed, total);
                (
                    Code::InvalidArgument,
                    message,
                    ErrorDetails::with_bad_request(listed),
                )
            }
            ref err @ (Error::RegistrationNotFound { .. }
            | Error::SubscriptionNotFound { .. }
            | Error::ModelNotFound { .. }
            | Error::AliasNotFound { .. }
            | Error::ArtifactNotFound { .. }) => plain(Code::NotFound, err),
            ref err @ Error::ModelAlreadyRegistered { .. } => plain(Code::AlreadyExists, err),
            ref err @ Error::EtagMismatch { .. } => plain(Code::Aborted, err),
            ref err @ (Error::ArtifactVersionBackwards { .. } | Error::ArtifactNotHeld { .. }) => {
                plain(Code::FailedPrecondition, err)
            }
            ref err @ Error::ArtifactTooLarge { .. } => plain(Code::ResourceExhausted, err),
            ref err @ Error::OffsetOutOfRange { .. } => plain(Code::OutOfRange, err),
            ref err @ Error::UploadStream { failure, .. } => match failure {
                StreamFailure::Cancelled => plain(Code::Cancelled, err),
                StreamFailure::MessageTooLarge => plain(Code::ResourceExhausted, err),
                // gRPC's status table: a request that does not decode is INTERNAL.
                StreamFailure::Malformed => plain(Code::Internal, err),
            },
            ref err @ Error::ArtifactStoreUnavailable(_) => plain(Code::Unavailable, err),
            ref err @ Error::ArtifactStoreMisconfigured(_) => plain(Code::Internal, err),
            ref err @ Error::ArtifactDataLoss { .. } => plain(Code::DataLoss, err),
            ref err @ Error::Contention(_) => plain(Code::Aborted, err),
            ref err @ Error::DatabaseUnavailable(_) => plain(Code::Unavailable, err),
            // A certificate that no consumer is: as unknown as a token no consumer has.
            ref err @ (Error::Unauthenticated(_) | Error::UnknownConsumer { .. }) => {
                plain(Code::Unauthenticated, err)
            }
            ref err @ Error::AuthenticationUnavailable(_) => plain(Code::Unavailable, err),
            ref err @ (Error::RoleTooLow { .. } | Error::OutOfScope { .. }) => {
                plain(Code::PermissionDenied, err)
            }
            ref err @ (Error::SequenceExpired { .. } | Error::SequenceAhead { .. }) => {
                plain(Code::OutOfRange, err)
            }
            ref err @ Error::WatcherTooSlow { .. } => plain(Code::ResourceExhausted, err),
            ref err @ (Error::ShuttingDown { .. }
            | Error::CredentialsChanged { .. }
            | Error::StreamLifetimeReached { .. }) => plain(Code::Unavailable, err),
            ref err @ (Error::LlmNotConfigured | Error::LlmFailed { .. }) => {
                plain(Code::Unavailable, err)
            }
            ref err @ Error::LlmTimedOut { .. } => plain(Code::DeadlineExceeded, err),
            ref err @ Error::AgentLimitReached { .. } => plain(Code::ResourceExhausted, err),
            ref err @ Error::Internal(_) => plain(Code::Internal, err),
        };
        with_trace_id(&mut metadata);
        details.set_error_info(reason, ERROR_DOMAIN, metadata);
        Status::with_error_details(code, message, details)
    }
}

/// The request's trace id (`traceId`), while traces are exported, for a user to quote.
pub(crate) fn with_trace_id(metadata: &mut HashMap<String, String>) {
    if let Some(trace_id) = crate::telemetry::current_trace_id() {
        metadata.insert(crate::telemetry::TRACE_ID.to_owned(), trace_id);
    }
}

fn plain(code: Code, err: &Error) -> (Code, String, ErrorDetails) {
    (code, err.to_string(), ErrorDetails::new())
}

fn field_violation(violation: FieldViolation) -> tonic_types::FieldViolation {
    let field = match violation.field {
        FieldPath::Resource(path) => format!("{RESOURCE_FIELD}.{path}"),
        FieldPath::Request(path) => path,
    };
    tonic_types::FieldViolation::new(field, violation.description)
}

/// The first violations, as many as fit the bounds.
fn bounded(
    violations: impl Iterator<Item = tonic_types::FieldViolation>,
) -> Vec<tonic_types::FieldViolation> {
    let mut bytes = 0;
    violations
        .take(MAX_VIOLATIONS)
        .take_while(|v| {
            bytes += v.field.len() + v.description.len();
            bytes <= VIOLATION_BYTES
        })
        .collect()
}

/// "invalid request: a: is required; b: …; and 7 more (5 in the details, 2 not listed)": the
/// first violations that fit `SUMMARY_BYTES`, or only their number ("invalid request: 2
/// violations") when the first does not fit.
fn summarize(listed: &[tonic_types::FieldViolation], total: usize) -> String {
    let mut bytes = 0;
    let parts: Vec<_> = listed
        .iter()
        .take(SUMMARIZED_VIOLATIONS)
        .map(|v| format!("{}: {}", v.field, v.description))
        .take_while(|part| {
            bytes += encoded_len(part) + encoded_len("; ");
            bytes <= SUMMARY_BYTES
        })
        .collect();
    let mut message = String::from("invalid request: ");
    if parts.is_empty() {
        let noun = if total == 1 {
            "violation"
        } else {
            "violations"
        };
        message.push_str(&format!("{total} {noun}"));
    } else {
        message.push_str(&parts.join("; "));
    }
    let more = total - parts.len();
    if more > 0 {
        let not_listed = total - listed.len();
        if !parts.is_empty() {
            message.push_str(&format!("; and {more} more"));
        }
        if not_listed > 0 {
            message.push_str(&format!(
                " ({} in the details, {not_listed} not listed)",
                listed.len() - parts.len()
            ));
        }
    }
    message
}

/// The length of `text` in `grpc-message`, which percent-encodes controls, spaces, non-ASCII
/// bytes and `"#%<>`?{}` (as tonic does).
fn encoded_len(text: &str) -> usize {
    text.bytes()
        .map(|byte| {
            let plain = byte.is_ascii_graphic() && !b"\"#%<>`?{}".contains(&byte);
            if plain { 1 } else { 3 }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_lists_every_violation() {
        let status = Status::from(Error::InvalidArgument(vec![
            FieldViolation::resource("a.b", "is required"),
            FieldViolation::request("c[1]", "is too long"),
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
        assert_eq!(fields, ["model_related_information.a.b", "c[1]"]);
        let info = details.error_info().expect("error info");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.reason, "INVALID_ARGUMENT");
    }

    #[test]
    fn a_flood_of_violations_stays_small() {
        let violations = (0..1000)
            .map(|i| {
                FieldViolation::resource(
                    format!("model_information.target_environment[{i}].dependency_list"),
                    "x".repeat(300),
                )
            })
            .collect();
        let status = Status::from(Error::InvalidArgument(violations));
        let listed = status
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations
            .len();
        assert!((1..=MAX_VIOLATIONS).contains(&listed), "{listed}");
        assert!(
            status.details().len() < 6 * 1024,
            "{}",
            status.details().len()
        );
        assert!(
            status.message().len() < 2 * 1024,
            "{}",
            status.message().len()
        );
        assert!(status.message().contains("more"), "{}", status.message());
        let info = status.get_error_details().error_info().unwrap().clone();
        assert_eq!(info.metadata["violations"], "1000");
    }

    #[test]
    fn echoed_input_keeps_answers_under_8_kib() {
        // 32 mask paths of emoji, each echoed (64 characters) in its violation: as it travels,
        // every byte of the message's emoji takes three, and the details repeat the message.
        let echoed = format!("\"{}\"…", "😀".repeat(64));
        let violations = (0..32)
            .map(|i| {
                FieldViolation::request(
                    format!("update_mask.paths[{i}]"),
                    format!(
                        "{echoed} is not a field of ModelRelatedInformation that can be updated"
                    ),
                )
            })
            .collect();
        let answer = Status::from(Error::InvalidArgument(violations)).into_http::<()>();
        let size: usize = answer
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 32)
            .sum();
        assert!(size < 8 * 1024, "{size} bytes of metadata");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status = Status::from(Error::Internal(
            "SELECT secret FROM model_related_information".into(),
        ));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("SELECT"), "{}", status.message());
        assert_eq!(
            status.get_error_details().error_info().unwrap().reason,
            "INTERNAL"
        );
    }

    #[test]
    fn an_unreachable_database_is_unavailable() {
        let status = Status::from(Error::DatabaseUnavailable("refused".into()));
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(
            status.get_error_details().error_info().unwrap().reason,
            "DATABASE_UNAVAILABLE"
        );
    }
}
