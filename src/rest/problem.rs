//! The one mapping from the registry's errors to HTTP answers: RFC 7807 problem documents
//! (`application/problem+json`) with 3GPP's `invalidParams`, and the same machine-readable
//! reasons as gRPC's `ErrorInfo`.
//!
//! Handlers answer with a `Problem`; the `render` middleware writes its document, because only
//! it knows the request's path (the problem's `instance`).

use std::collections::BTreeMap;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::names::{json_path, request_param};
use crate::domain::{Error, FieldPath, FieldViolation, StreamFailure};

/// At most this many violated fields are listed: the answer stays small whatever was sent.
const MAX_INVALID_PARAMS: usize = 100;

/// Seconds a client that was turned away for load is asked to wait.
const RETRY_AFTER_SECONDS: u32 = 1;

/// An RFC 7807 problem, 3GPP TS 29.571's `ProblemDetails` with `invalidParams`, and the
/// reason of the failure as in gRPC's `ErrorInfo`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProblemDetails {
    /// `urn:modelreg:problem:` and the reason.
    #[serde(rename = "type")]
    pub(crate) problem_type: String,
    /// The HTTP status's phrase.
    pub(crate) title: String,
    pub(crate) status: u16,
    /// What went wrong, for a person.
    pub(crate) detail: String,
    /// The path of the request.
    pub(crate) instance: String,
    /// The machine-readable reason, the same as gRPC's `google.rpc.ErrorInfo.reason`.
    pub(crate) reason: String,
    /// What a client needs to act on the failure (`google.rpc.ErrorInfo.metadata`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) metadata: BTreeMap<String, String>,
    /// Every violated field or parameter, for 400.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) invalid_params: Vec<InvalidParam>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct InvalidParam {
    /// The field of the JSON body (`modelInformation.targetEnvironment[0].platformName`), the
    /// query parameter (`page-size`) or the header (`If-Match`).
    pub(crate) param: String,
    pub(crate) reason: String,
}

/// A failed request, as handlers return it.
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    status: StatusCode,
    reason: &'static str,
    detail: String,
    metadata: BTreeMap<String, String>,
    invalid_params: Vec<InvalidParam>,
    /// Headers the status calls for beside the document (`Content-Range` on 416).
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    /// A failure of the front-end itself (a body that is not JSON, a route that does not exist).
    pub(crate) fn new(status: StatusCode, reason: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            detail: detail.into(),
            metadata: BTreeMap::new(),
            invalid_params: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// A request whose parameters (as the REST API names them) are not valid.
    pub(crate) fn invalid_params(params: Vec<(String, String)>) -> Self {
        let total = params.len();
        let listed: Vec<_> = params
            .into_iter()
            .take(MAX_INVALID_PARAMS)
            .map(|(param, reason)| InvalidParam { param, reason })
            .collect();
        let mut problem = Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            invalid_detail(total, total - listed.len()),
        );
        problem
            .metadata
            .insert("violations".to_owned(), total.to_string());
        problem.invalid_params = listed;
        problem
    }

    /// The server is at its limit of requests in progress.
    pub(crate) fn overloaded() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "OVERLOADED",
            "the server is at its limit of requests in progress; retry shortly",
        )
    }
}

impl From<Error> for Problem {
    fn from(err: Error) -> Self {
        err.log_cause();
        let reason = err.reason();
        let metadata = err
            .metadata()
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
        let status = status_of(&err);
        let (detail, invalid_params) = match err {
            Error::InvalidArgument(violations) => {
                let total = violations.len();
                let listed: Vec<_> = violations
                    .into_iter()
                    .take(MAX_INVALID_PARAMS)
                    .map(invalid_param)
                    .collect();
                (invalid_detail(total, total - listed.len()), listed)
            }
            other => (other.to_string(), Vec::new()),
        };
        Self {
            status,
            reason,
            detail,
            metadata,
            invalid_params,
            headers: Vec::new(),
        }
    }
}

fn invalid_detail(total: usize, unlisted: usize) -> String {
    let noun = if total == 1 {
        "violation"
    } else {
        "violations"
    };
    match unlisted {
        0 => format!("invalid request: {total} {noun}, listed in invalidParams"),
        _ => format!("invalid request: {total} {noun}; {unlisted} are not listed in invalidParams"),
    }
}

fn status_of(err: &Error) -> StatusCode {
    match err {
        Error::InvalidArgument(_) | Error::SequenceExpired { .. } | Error::SequenceAhead { .. } => {
            StatusCode::BAD_REQUEST
        }
        Error::RegistrationNotFound { .. }
        | Error::SubscriptionNotFound { .. }
        | Error::ModelNotFound { .. }
        | Error::AliasNotFound { .. }
        | Error::ArtifactNotFound { .. } => StatusCode::NOT_FOUND,
        Error::ModelAlreadyRegistered { .. }
        | Error::Contention(_)
        | Error::ArtifactVersionBackwards { .. }
        | Error::ArtifactNotHeld { .. } => StatusCode::CONFLICT,
        Error::EtagMismatch { .. } => StatusCode::PRECONDITION_FAILED,
        Error::ArtifactTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::OffsetOutOfRange { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
        Error::UploadStream { failure, .. } => match failure {
            StreamFailure::MessageTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            StreamFailure::Cancelled | StreamFailure::Malformed => StatusCode::BAD_REQUEST,
        },
        Error::Unauthenticated(_) | Error::UnknownConsumer { .. } => StatusCode::UNAUTHORIZED,
        Error::RoleTooLow { .. } | Error::OutOfScope { .. } => StatusCode::FORBIDDEN,
        Error::ArtifactStoreUnavailable(_)
        | Error::DatabaseUnavailable(_)
        | Error::AuthenticationUnavailable(_)
        | Error::WatcherTooSlow { .. }
        | Error::ShuttingDown { .. }
        | Error::CredentialsChanged { .. }
        | Error::StreamLifetimeReached { .. }
        | Error::LlmNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
        // The LLM is the server's upstream: its failures are a gateway's.
        Error::LlmFailed { .. } | Error::AgentLimitReached { .. } => StatusCode::BAD_GATEWAY,
        Error::LlmTimedOut { .. } => StatusCode::GATEWAY_TIMEOUT,
        Error::ArtifactStoreMisconfigured(_)
        | Error::ArtifactDataLoss { .. }
        | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn invalid_param(violation: FieldViolation) -> InvalidParam {
    let param = match violation.field {
        FieldPath::Resource(path) => json_path(&path),
        FieldPath::Request(path) => request_param(&path),
    };
    InvalidParam {
        param,
        reason: violation.description,
    }
}

impl IntoResponse for Problem {
    /// An answer without its document: `render` writes it. The request's trace id, taken here
    /// inside the request's span, goes into its metadata.
    fn into_response(mut self) -> Response {
        if let Some(trace_id) = crate::telemetry::current_trace_id() {
            self.metadata
                .insert(crate::telemetry::TRACE_ID.to_owned(), trace_id);
        }
        let mut response = self.status.into_response();
        for (name, value) in std::mem::take(&mut self.headers) {
            response.headers_mut().insert(name, value);
        }
        response.extensions_mut().insert(PendingProblem(self));
        response
    }
}

#[derive(Clone, Debug)]
struct PendingProblem(Problem);

/// Writes the document of every problem answer, with the request's path as its `instance`,
/// and the headers its status calls for.
pub(crate) async fn render(request: Request, next: Next) -> Response {
    let instance = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let Some(PendingProblem(problem)) = response.extensions_mut().remove::<PendingProblem>() else {
        return response;
    };
    let status = problem.status;
    let document = ProblemDetails {
        problem_type: format!("urn:modelreg:problem:{}", problem.reason),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: problem.detail,
        instance,
        reason: problem.reason.to_owned(),
        metadata: problem.metadata,
        invalid_params: problem.invalid_params,
    };
    let body = serde_json::to_vec(&document).expect("a problem document serializes");
    let mut answer = (status, body).into_response();
    let headers = answer.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    match status {
        StatusCode::UNAUTHORIZED => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        _ => {}
    }
    // Headers the handler set beside its problem (`Allow` on 405, say) are kept.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            headers.entry(name).or_insert(value.clone());
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_invalid_parameters_is_listed_in_part() {
        let params = (0..1000)
            .map(|i| (format!("p{i}"), "is not a parameter".to_owned()))
            .collect();
        let problem = Problem::invalid_params(params);
        assert_eq!(problem.invalid_params.len(), MAX_INVALID_PARAMS);
        assert_eq!(problem.metadata["violations"], "1000");
        assert!(
            problem.detail.contains("900 are not listed"),
            "{}",
            problem.detail
        );
    }

    #[test]
    fn errors_keep_their_reason_and_take_the_status_of_their_kind() {
        let problem = Problem::from(Error::EtagMismatch {
            id: "x".into(),
            given: "y".into(),
        });
        assert_eq!(problem.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(problem.reason, "ETAG_MISMATCH");
        let internal = Problem::from(Error::Internal("SELECT secret".into()));
        assert_eq!(internal.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!internal.detail.contains("SELECT"), "{}", internal.detail);
    }
}
