//! R1AP §10.1 over REST: register, read, replace, merge-patch and deregister a model under
//! `/ai-ml-model-registration/v1/model-registrations`, in the JSON of the server's profile
//! (`profile`): the standard's, or the Go model management service's.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use serde::Serialize;

use super::problem::Problem;
use super::profile::{self, GoModelRelatedInformation, Registered, Updated};
use super::request::{
    BodyType, etag_header, json_body, not_modified, precondition, registration_id, resource_body,
};
use super::resource::ModelRelatedInformation;
use super::{Gateway, merge_patch};
use crate::config::RestProfile;
use crate::domain::{
    Action, ArtifactVersion, Caller, Change, Checker, FieldViolation, ModelSpec, Patch,
    Registration, RequestId,
};

pub(crate) const COLLECTION: &str = "/ai-ml-model-registration/v1/model-registrations";

/// Registers a model (R1AP §10.1.2). A retry with the same `Idempotency-Key` answers the
/// registration the first request made.
#[utoipa::path(
    post,
    path = "/ai-ml-model-registration/v1/model-registrations",
    tag = "registration",
    request_body(content = ModelRelatedInformation, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried registration answer the first one's result.")),
    responses(
        (status = 201, description = "Registered", body = ModelRelatedInformation,
            headers(("Location" = String, description = "The new registration"), ("ETag" = String))),
        (status = 400, description = "Invalid"),
        (status = 409, description = "The name and version are registered"),
        (status = 413),
        (status = 415),
    ),
)]
pub(crate) async fn register(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let resource = resource_body(
        &headers,
        body,
        gateway.max_body,
        gateway.profile,
        "register",
    )
    .await?;
    let spec = ModelSpec::parse(resource.into_draft())?;
    let mut check = Checker::request();
    let key = headers
        .get("idempotency-key")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    let request_id = RequestId::parse(&mut check, "request_id", key);
    let request_id = check.finish(request_id)?;
    let registration = gateway.registry.register(&caller, spec, request_id).await?;
    let mut answer = match gateway.profile {
        RestProfile::R1ap => resource_answer(gateway.profile, StatusCode::CREATED, &registration),
        RestProfile::Aimlfw => {
            let body = Registered {
                model_info: GoModelRelatedInformation::of(&registration),
            };
            json_answer(StatusCode::CREATED, &body, &registration)
        }
    };
    answer.headers_mut().insert(
        header::LOCATION,
        HeaderValue::try_from(format!("{COLLECTION}/{}", registration.id)).expect("ids are ASCII"),
    );
    Ok(answer)
}

/// Reads a registration (R1AP §10.1.3). `If-None-Match` with its current etag answers 304.
#[utoipa::path(
    get,
    path = "/ai-ml-model-registration/v1/model-registrations/{modelRegistrationId}",
    tag = "registration",
    params(("modelRegistrationId" = String, Path, description = "The id the registry assigned")),
    responses(
        (status = 200, body = ModelRelatedInformation, headers(("ETag" = String))),
        (status = 304, description = "The client's copy (If-None-Match) is current"),
        (status = 404),
    ),
)]
pub(crate) async fn get(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let id = registration_id(&caller, Action::Read, &id)?;
    let registration = gateway.registry.get(&caller, id).await?;
    if not_modified(&headers, &registration.etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_header(&registration.etag))],
        )
            .into_response());
    }
    Ok(resource_answer(
        gateway.profile,
        StatusCode::OK,
        &registration,
    ))
}

/// Replaces a registration with the resource of the body (R1AP §10.1.4). Its name and version
/// may be sent but cannot change; output-only fields are ignored. With `If-Match` (or an
/// `etag` in the body) the write happens only if nobody wrote since.
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
        (status = 200, body = ModelRelatedInformation, headers(("ETag" = String))),
        (status = 400),
        (status = 404),
        (status = 412, description = "Changed since the etag was read"),
        (status = 415),
    ),
)]
pub(crate) async fn replace(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let id = registration_id(&caller, Action::Write, &id)?;
    let mut resource =
        resource_body(&headers, body, gateway.max_body, gateway.profile, "replace").await?;
    let etag = precondition(&headers, std::mem::take(&mut resource.etag))?;
    // Under `aimlfw` a PUT may carry the artifact version, as the Go service's clients send
    // it back: the current one (or none) keeps it, a higher one is declared as by
    // `updateArtifact`, in the same transaction, a lower one fails the whole PUT.
    let sent = match gateway.profile {
        RestProfile::R1ap => String::new(),
        RestProfile::Aimlfw => resource
            .model_id
            .as_ref()
            .map(|model_id| model_id.artifact_version.clone())
            .unwrap_or_default(),
    };
    let artifact_version = if sent.is_empty() {
        None
    } else {
        let mut check = Checker::request();
        let version =
            ArtifactVersion::parse_declared(&mut check, "model_id.artifact_version", sent);
        Some(check.finish(version)?)
    };
    let mut rejected = Vec::new();
    if !resource.model_registration_id.is_empty()
        && resource.model_registration_id != id.to_string()
    {
        rejected.push(FieldViolation::resource(
            "model_registration_id",
            "names another registration than the path",
        ));
    }
    let draft = resource.into_draft();
    let patch = Patch {
        model_id: draft.model_id,
        changes: vec![
            Change::Description(draft.description),
            Change::ModelLocation(draft.model_location),
            Change::ModelInformation(draft.model_information),
            Change::Labels(draft.labels),
        ],
        rejected,
        artifact_version,
    };
    let registration = gateway.registry.update(&caller, id, etag, patch).await?;
    Ok(match gateway.profile {
        RestProfile::R1ap => resource_answer(gateway.profile, StatusCode::OK, &registration),
        RestProfile::Aimlfw => {
            let body = Updated {
                modelinfo: GoModelRelatedInformation::of(&registration),
            };
            json_answer(StatusCode::OK, &body, &registration)
        }
    })
}

/// Changes some fields of a registration: a JSON Merge Patch (RFC 7396).
#[utoipa::path(
    patch,
    path = "/ai-ml-model-registration/v1/model-registrations/{modelRegistrationId}",
    tag = "registration",
    request_body(content = Object, content_type = "application/merge-patch+json",
        description = "Members of a ModelRelatedInformation to change: null clears one, objects merge, arrays replace"),
    params(
        ("modelRegistrationId" = String, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    responses(
        (status = 200, body = ModelRelatedInformation, headers(("ETag" = String))),
        (status = 400),
        (status = 404),
        (status = 412),
        (status = 415),
    ),
)]
pub(crate) async fn merge(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let id = registration_id(&caller, Action::Write, &id)?;
    let document: serde_json::Value =
        json_body(&headers, body, BodyType::MergePatch, gateway.max_body).await?;
    let (patch, etag_in_body) = merge_patch::patch(document);
    let etag = precondition(&headers, etag_in_body)?;
    let registration = gateway.registry.update(&caller, id, etag, patch).await?;
    Ok(resource_answer(
        gateway.profile,
        StatusCode::OK,
        &registration,
    ))
}

/// Deregisters a model with its environments and artifacts (R1AP §10.1.5).
#[utoipa::path(
    delete,
    path = "/ai-ml-model-registration/v1/model-registrations/{modelRegistrationId}",
    tag = "registration",
    params(
        ("modelRegistrationId" = String, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag the deletion is based on"),
    ),
    responses(
        (status = 204, description = "Deregistered"),
        (status = 400, description = "A malformed If-Match"),
        (status = 404),
        (status = 412),
    ),
)]
pub(crate) async fn delete(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let id = registration_id(&caller, Action::Delete, &id)?;
    let etag = precondition(&headers, String::new())?;
    gateway.registry.delete(&caller, id, etag).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A registration as an answer: its JSON in `profile` and its `ETag`.
pub(crate) fn resource_answer(
    profile: RestProfile,
    status: StatusCode,
    registration: &Registration,
) -> Response {
    let body = profile::resource_json(profile, registration).into_bytes();
    answer(status, body, registration)
}

/// `body` as an answer about `registration`, with its `ETag`.
fn json_answer(status: StatusCode, body: &impl Serialize, registration: &Registration) -> Response {
    let body = serde_json::to_vec(body).expect("a registration serializes");
    answer(status, body, registration)
}

fn answer(status: StatusCode, body: Vec<u8>, registration: &Registration) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag_header(&registration.etag)),
        ],
        body,
    )
        .into_response()
}
