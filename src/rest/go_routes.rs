//! How the routes whose answers differ under the `aimlfw` profile answer there, for its OpenAPI
//! document. The handlers are the standard's (`registration`, `discovery`), which answer in
//! the server's profile; these functions only carry the descriptions and are never routed.
#![allow(dead_code)]

use super::problem::ProblemDetails;
use super::profile::{GoModelRelatedInformation, Registered, Updated};
use super::resource::ModelRelatedInformation;

/// Registers a model (R1AP §10.1.2) and answers as the Go service did, `{"modelInfo": …}`.
/// Data types may be arrays or comma-separated strings; unknown members are ignored.
#[utoipa::path(
    post,
    path = "/ai-ml-model-registration/v1/model-registrations",
    tag = "registration",
    request_body(content = ModelRelatedInformation, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried registration answer the first one's result.")),
    responses(
        (status = 201, description = "Registered", body = Registered,
            headers(("Location" = String, description = "The new registration"), ("ETag" = String))),
        (status = 400, description = "Invalid", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The name and version are registered", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, body = ProblemDetails, content_type = "application/problem+json"),
    ),
)]
pub(super) fn register() {}

/// Reads a registration (R1AP §10.1.3). `If-None-Match` with its current etag answers 304.
#[utoipa::path(
    get,
    path = "/ai-ml-model-registration/v1/model-registrations/{modelRegistrationId}",
    tag = "registration",
    params(("modelRegistrationId" = String, Path, description = "The id the registry assigned")),
    responses(
        (status = 200, body = GoModelRelatedInformation, headers(("ETag" = String))),
        (status = 304, description = "The client's copy (If-None-Match) is current"),
        (status = 404, body = ProblemDetails, content_type = "application/problem+json"),
    ),
)]
pub(super) fn get() {}

/// Replaces a registration (R1AP §10.1.4). `modelId.artifactVersion` may be sent: the current
/// one (or `""`) keeps it, a higher one is recorded as by `updateArtifact`, a lower one is 409.
#[utoipa::path(
    put,
    path = "/ai-ml-model-registration/v1/model-registrations/{modelRegistrationId}",
    tag = "registration",
    request_body(content = ModelRelatedInformation, content_type = "application/json"),
    params(
        ("modelRegistrationId" = String, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    responses(
        (status = 200, body = Updated, headers(("ETag" = String))),
        (status = 400, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "A lower artifact version than the current one", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the etag was read", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 415, body = ProblemDetails, content_type = "application/problem+json"),
    ),
)]
pub(super) fn replace() {}

/// The models the caller may see that match every given parameter (R1AP §10.2.2); a name and
/// version that match nothing are 404, as the Go service answered.
#[utoipa::path(
    get,
    path = "/ai-ml-model-discovery/v1/models",
    tag = "discovery",
    params(
        ("model-name" = Option<String>, Query, description = "Only models of this name"),
        ("model-version" = Option<String>, Query, description = "Only models of this version"),
        ("filter" = Option<String>, Query, description = "A filter in the registry's discovery language (docs/filtering.md)"),
        ("order-by" = Option<String>, Query, description = "`model_id.model_name`, `create_time desc`, … (docs/filtering.md)"),
        ("page-size" = Option<i32>, Query, minimum = 0, description = "One page of at most this many (default 50, at most 1000) instead of every match"),
        ("page-token" = Option<String>, Query, description = "The page after the one whose Link header gave it"),
    ),
    responses(
        (status = 200, description = "The matching models", body = Vec<GoModelRelatedInformation>,
            headers(("Link" = String, description = "`<…>; rel=\"next\"` while more pages follow"),
                    ("Modelreg-Sequence" = i64, description = "The event-log sequence the list was read at"))),
        (status = 400, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "Both model-name and model-version were given and match nothing", body = ProblemDetails, content_type = "application/problem+json"),
    ),
)]
pub(super) fn list() {}

/// Every registered version of a model, as an array; 404 when none is.
#[utoipa::path(
    get,
    path = "/ai-ml-model-registration/v1/getModelInfo/{modelName}",
    tag = "artifacts",
    params(("modelName" = String, Path)),
    responses(
        (status = 200, body = Vec<GoModelRelatedInformation>),
        (status = 404, body = ProblemDetails, content_type = "application/problem+json"),
    ),
)]
pub(super) fn model_info() {}
