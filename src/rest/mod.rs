//! The REST front-end: R1AP's own HTTP/JSON API (§10.1 registration, §10.2 discovery), the
//! routes the Go service's clients call, change events as Server-Sent Events, and the OpenAPI
//! document of it all. It is served on the gRPC port: requests that are not gRPC come here.
//! Like the gRPC front-end, it only translates: every operation is the core's, so validation,
//! authorization, events and errors are the same by construction.

mod agent;
mod authenticate;
mod declare;
mod discovery;
mod dispatch;
mod download;
mod events;
mod merge_patch;
mod names;
mod openapi;
mod problem;
mod profile;
mod registration;
mod request;
mod resource;
mod spans;
mod subscriptions;
mod upload;

use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::normalize_path::NormalizePath;
use tower_http::trace::TraceLayer;

pub(crate) use dispatch::RestLayer;
use problem::Problem;

use crate::agent::Agent;
use crate::auth::Authenticator;
use crate::config::RestProfile;
use crate::grpc::{InProgress, StreamLimits};
use crate::metrics;
use crate::registry::Registry;

/// How long a request may take to be answered (its headers; a stream may go on), as gRPC
/// calls without a `grpc-timeout` of their own: `--default-deadline`, and `--max-deadline` for
/// uploads, which carry a whole artifact.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadlines {
    pub(crate) default: Duration,
    pub(crate) upload: Duration,
    /// The agent's requests, which bound themselves (`--agent-max-duration`).
    pub(crate) agent: Duration,
}

/// How the REST API is served.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    /// The JSON dialect (`--rest-profile`).
    pub(crate) profile: RestProfile,
    /// The largest JSON body accepted, in bytes (`--max-message-bytes`).
    pub(crate) max_body: usize,
    /// The largest request headers accepted (`--max-header-bytes`).
    pub(crate) max_header_bytes: usize,
    pub(crate) deadlines: Deadlines,
    /// The longest an event stream may last.
    pub(crate) streams: StreamLimits,
}

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct Gateway {
    registry: Registry,
    agent: Agent,
    profile: RestProfile,
    /// The largest JSON body accepted, in bytes (`--max-message-bytes`).
    max_body: usize,
    /// The longest an event stream may last.
    streams: StreamLimits,
}

/// The REST API as one service: paths with a trailing slash are the same as without (the Go
/// service's clients send both), every failure is a problem document, and the requests in
/// progress count against the server-wide limit the gRPC calls share.
pub(crate) fn service(
    registry: Registry,
    agent: Agent,
    authenticator: Authenticator,
    settings: Settings,
    in_progress: InProgress,
) -> NormalizePath<Router> {
    let Settings {
        profile,
        max_body,
        max_header_bytes,
        deadlines,
        streams,
    } = settings;
    let gateway = Gateway {
        registry,
        agent,
        profile,
        max_body,
        streams,
    };
    let registrations = registration::COLLECTION;
    let router = Router::new()
        .route(registrations, axum::routing::post(registration::register))
        .route(
            &format!("{registrations}/updateArtifact/{{modelName}}/{{modelVersion}}/{{artifactVersion}}"),
            axum::routing::post(declare::update_artifact),
        )
        .route(
            &format!("{registrations}/{{modelRegistrationId}}"),
            get(registration::get)
                .put(registration::replace)
                .patch(registration::merge)
                .delete(registration::delete),
        )
        .route(discovery::PATH, get(discovery::list))
        .route(
            "/ai-ml-model-registration/v1/uploadModel/{modelName}/{modelVersion}",
            axum::routing::post(upload::upload),
        )
        .route(
            "/ai-ml-model-registration/v1/downloadModel/{modelName}/{modelVersion}/{artifactVersion}/model.zip",
            get(download::download),
        )
        .route(
            "/ai-ml-model-registration/v1/getModelInfo/{modelName}",
            get(discovery::model_info),
        )
        .route(events::PATH, get(events::watch))
        .route(
            subscriptions::COLLECTION,
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            &format!("{}/{{subscriptionId}}", subscriptions::COLLECTION),
            get(subscriptions::get).delete(subscriptions::delete),
        )
        .route(agent::INFO_PATH, get(agent::info))
        .route(agent::GENERATE_PATH, axum::routing::post(agent::generate))
        .route("/openapi.json", get(openapi::serve))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(gateway)
        .layer(axum::middleware::from_fn_with_state(
            authenticator,
            authenticate::authenticate,
        ))
        // Outside authentication: fetching the keys of a JWT cannot outlast the request.
        .layer(axum::middleware::from_fn_with_state(deadlines, deadline))
        .layer(axum::middleware::from_fn_with_state(in_progress, admit))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(spans::request_span)
                .on_request(())
                .on_response(spans::record_response)
                .on_failure(()),
        )
        // Before anything reads a header (authentication above all).
        .layer(axum::middleware::from_fn_with_state(
            max_header_bytes,
            headers_within_limit,
        ))
        .layer(axum::middleware::from_fn(problem::render))
        // Outermost, so that refusals (401, 429, 504) count too.
        .layer(axum::middleware::from_fn(metrics::meter_http));
    NormalizePath::trim_trailing_slash(router)
}

/// Answers 504 when the request's deadline passes before its answer. The core's writes run to
/// their end regardless (see `registry::detached`), so nothing is left half done.
async fn deadline(State(deadlines): State<Deadlines>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let (limit, flag) = if path.contains("/uploadModel/") {
        (deadlines.upload, "--max-deadline")
    } else if path.starts_with("/experiment/agent/") {
        (deadlines.agent, "--agent-max-duration")
    } else {
        (deadlines.default, "--default-deadline")
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(answer) => answer,
        Err(_) => Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            "DEADLINE_EXCEEDED",
            format!(
                "no answer within {} ({flag})",
                humantime::format_duration(limit)
            ),
        )
        .into_response(),
    }
}

/// `--max-header-bytes` over HTTP/1.1 as HTTP/2 applies it (RFC 9113's
/// SETTINGS_MAX_HEADER_LIST_SIZE: each field's name and value, plus 32): hyper's HTTP/1.1
/// server reads far larger headers before the request reaches a handler, and nothing it holds
/// must be processed.
async fn headers_within_limit(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum();
    if size > limit {
        return Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "HEADERS_TOO_LARGE",
            format!("the request's headers exceed {limit} bytes (--max-header-bytes)"),
        )
        .into_response();
    }
    next.run(request).await
}

async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "no such resource; the API is described at /openapi.json",
    )
}

async fn method_not_allowed(method: Method) -> Response {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{method} is not allowed on this resource"),
    )
    .into_response()
}

/// Admits a request within the server-wide limit of requests in progress (shared with gRPC),
/// or answers 503 at once.
async fn admit(State(in_progress): State<InProgress>, request: Request, next: Next) -> Response {
    let Some(admitted) = in_progress.admit() else {
        metrics::shed("rest");
        return Problem::overloaded().into_response();
    };
    let response = next.run(request).await;
    drop(admitted);
    response
}
