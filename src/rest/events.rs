//! Change events over HTTP: `GET /ai-ml-model-registration/v1/events` as Server-Sent Events,
//! for browsers (`EventSource`) and `curl -N`. It is the WatchModels stream: each event's data
//! is the proto3 JSON of the `WatchModelsResponse` the gRPC stream sends, and its `id` the
//! sequence, so a client that reconnects with `Last-Event-ID` resumes after the last event it
//! saw.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event as SseEvent, Sse};
use futures::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::Gateway;
use super::problem::Problem;
use super::request::query_params;
use crate::auth::Revalidation;
use crate::domain::{Caller, Error, EventType, WatchRequest};
use crate::grpc::watch_response;
use crate::pb::json::to_json_line;
use crate::registry::{WatchItem, WatchStream};
use crate::transport::ConnectionInfo;

pub(crate) const PATH: &str = "/ai-ml-model-registration/v1/events";

const PARAMS: [&str; 5] = [
    "start-sequence",
    "model-name",
    "model-version",
    "type",
    "initial-state",
];

/// How long a disconnected `EventSource` waits before it reconnects.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

const WATCH_RESPONSE: &str = "modelregistry.v1.WatchModelsResponse";

/// One event of the stream, as Server-Sent Events frame it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the stream in the OpenAPI document; never built.
pub(crate) struct WatchEvent {
    /// `watch`, or `error` for the last event of a stream the server ended.
    #[schema(pattern = "^(watch|error)$")]
    event: String,
    /// A `WatchMessage`, in JSON.
    #[schema(content_media_type = "application/json")]
    data: String,
    /// The sequence, on changes, heartbeats and the end of an initial state: a client that
    /// reconnects sends the last one it saw as `Last-Event-ID`.
    id: Option<String>,
    /// Milliseconds to wait before reconnecting.
    retry: Option<u64>,
}

/// The data of one event of the stream: a `WatchModelsResponse` in proto3 JSON, which holds
/// one of its members (see the gRPC API's `ModelEventService`); or, in the last event of a
/// stream the server ended, `reason`, `detail` and `metadata`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the stream in the OpenAPI document; never built.
#[serde(rename_all = "camelCase")]
pub(crate) struct WatchMessage {
    /// A change (`ModelEvent`), or a model of the initial state (`initial: true`).
    event: Option<Object>,
    /// Nothing changed for a while; `sequence` is where the stream is.
    heartbeat: Option<Object>,
    /// The initial state is complete at `sequence`.
    initial_state_complete: Option<Object>,
}

/// A JSON object, in the OpenAPI document.
type Object = serde_json::Map<String, serde_json::Value>;

/// Follows the changes of the models the caller may see, from after `start-sequence` (or
/// `Last-Event-ID`), from now, or (`initial-state=true`) from a snapshot of every match.
#[utoipa::path(
    get,
    path = "/ai-ml-model-registration/v1/events",
    tag = "events",
    params(
        ("start-sequence" = Option<i64>, Query, minimum = 0, description = "Resume after this sequence (the Modelreg-Sequence of a list, or the id of the last event seen)"),
        ("Last-Event-ID" = Option<i64>, Header, minimum = 0, description = "Sent by EventSource on reconnection; wins over start-sequence"),
        ("model-name" = Option<String>, Query),
        ("model-version" = Option<String>, Query),
        ("type" = Option<String>, Query, description = "Event types, comma-separated: MODEL_REGISTERED, MODEL_UPDATED, MODEL_DEREGISTERED, ARTIFACT_STORED, ALIAS_SET, ALIAS_DELETED"),
        ("initial-state" = Option<bool>, Query, description = "First every matching model, then the changes"),
    ),
    responses(
        (status = 200, description = "`event: watch` messages whose data is a WatchModelsResponse in proto3 JSON; a last `event: error` says why the server ended the stream", content_type = "text/event-stream", body = WatchEvent),
        (status = 400),
    ),
)]
pub(crate) async fn watch(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    revalidation: Option<Extension<Revalidation>>,
    connection: Option<Extension<ConnectionInfo>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Problem> {
    let params = query_params(query.as_deref(), &PARAMS)?;
    let mut invalid = Vec::new();
    let last_event_id = headers
        .get("last-event-id")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
        .filter(|id| !id.is_empty());
    let start = match last_event_id.map(|id| ("Last-Event-ID", id)).or_else(|| {
        params
            .get("start-sequence")
            .map(|text| ("start-sequence", text.clone()))
    }) {
        None => None,
        Some((param, text)) => match text.parse::<i64>() {
            Ok(start) => Some(start),
            Err(_) => {
                invalid.push((
                    param.to_owned(),
                    format!("{text:?} is not a sequence number"),
                ));
                None
            }
        },
    };
    let initial_state = match params.get("initial-state").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            invalid.push((
                "initial-state".to_owned(),
                format!("{other:?} is neither true nor false"),
            ));
            false
        }
    };
    let mut types = Vec::new();
    for name in params
        .get("type")
        .map(String::as_str)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        match EventType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
        {
            Some(kind) => types.push(kind),
            None => invalid.push(("type".to_owned(), format!("{name:?} is not an event type"))),
        }
    }
    if !invalid.is_empty() {
        return Err(Problem::invalid_params(invalid));
    }
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let lease = gateway.streams.lease(
        connection.map(|Extension(info)| info.accepted_at),
        revalidation.map(|Extension(revalidation)| revalidation),
    );
    let request = WatchRequest::parse(
        param("model-name"),
        param("model-version"),
        types,
        start,
        initial_state,
    )?;
    let WatchStream { items, end } = gateway.registry.watch(&caller, request, lease).await?;
    let ended =
        futures::stream::once(end).filter_map(|ended| async move { ended.ok().map(ending) });
    let events = ReceiverStream::new(items)
        .map(event)
        .chain(ended)
        .map(Ok::<_, Infallible>);
    Ok(Sse::new(events))
}

fn event(item: WatchItem) -> SseEvent {
    // Items of an initial state carry the snapshot's sequence, but a client that reconnects
    // in the middle of them has not seen the rest: only the marker at their end is an id.
    let id = match &item {
        WatchItem::Event(event) => Some(event.sequence),
        WatchItem::InitialStateComplete(sequence) | WatchItem::Heartbeat(sequence) => {
            Some(*sequence)
        }
        WatchItem::Initial { .. } => None,
    };
    let data = to_json_line(&watch_response(item), WATCH_RESPONSE);
    let event = SseEvent::default()
        .event("watch")
        .data(data)
        .retry(RECONNECT_AFTER);
    match id {
        Some(id) => event.id(id.to_string()),
        None => event,
    }
}

/// The last event of a stream the server ended: the problem, as a 4xx/5xx answer would say
/// it. `EventSource` reconnects with the last id it saw.
fn ending(err: Error) -> SseEvent {
    err.log_cause();
    let data = serde_json::json!({
        "reason": err.reason(),
        "detail": err.to_string(),
        "metadata": err.metadata().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
    });
    SseEvent::default().event("error").data(data.to_string())
}
