//! ModelEventService: watch streams of model changes, and the audit view of the log.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::caller::take_caller;
use super::convert;
use super::lease::StreamLimits;
use crate::auth::Revalidation;
use crate::domain::page_token;
use crate::domain::{
    Event, EventQuery, EventQueryDraft, EventType, ModelVersion, RegistrationId, WatchRequest,
};
use crate::pb::{self, model_event_service_server::ModelEventService};
use crate::registry::{Registry, WatchItem, WatchStream};
use crate::transport::ConnectionInfo;

pub(crate) struct EventService {
    registry: Registry,
    limits: StreamLimits,
}

impl EventService {
    pub(crate) fn new(registry: Registry, limits: StreamLimits) -> Self {
        Self { registry, limits }
    }
}

type Watch = Pin<Box<dyn Stream<Item = Result<pb::WatchModelsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ModelEventService for EventService {
    type WatchModelsStream = Watch;

    async fn watch_models(
        &self,
        mut request: Request<pb::WatchModelsRequest>,
    ) -> Result<Response<Watch>, Status> {
        let caller = take_caller(&mut request)?;
        let lease = self.limits.lease(
            request
                .extensions()
                .get::<ConnectionInfo>()
                .map(|info| info.accepted_at),
            request.extensions_mut().remove::<Revalidation>(),
        );
        let pb::WatchModelsRequest {
            model_name,
            model_version,
            types,
            start_sequence,
            send_initial_state,
        } = request.into_inner();
        let request = WatchRequest::parse(
            &model_name,
            &model_version,
            event_types("types", &types)?,
            start_sequence,
            send_initial_state,
        )?;
        let WatchStream { items, end } = self.registry.watch(&caller, request, lease).await?;
        // The items, then the reason the stream ended, if the server ended it.
        let ended = futures::stream::once(end)
            .filter_map(|ended| async move { ended.ok().map(|err| Err(Status::from(err))) });
        let stream = ReceiverStream::new(items)
            .map(|item| Ok(watch_response(item)))
            .chain(ended);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn list_events(
        &self,
        mut request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let caller = take_caller(&mut request)?;
        let request = request.into_inner();
        let types = event_types("types", &request.types)?;
        let filters = filters_digest(&request);
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(page_token::decode_events(
                self.registry.page_token_key(),
                token,
                &filters,
            )?),
        };
        let draft = EventQueryDraft {
            registration: &request.model_registration_id,
            model_name: &request.model_name,
            actor: &request.actor,
            types,
            start_time: request.start_time.map(|t| (t.seconds, t.nanos)),
            end_time: request.end_time.map(|t| (t.seconds, t.nanos)),
            newest_first: request.newest_first,
            page_size: request.page_size,
        };
        let query = EventQuery::parse(draft, after)?;
        let page = self.registry.list_events(&caller, query).await?;
        Ok(Response::new(pb::ListEventsResponse {
            events: page.items.iter().map(model_event).collect(),
            next_page_token: page
                .next
                .map(|after| {
                    page_token::encode_events(self.registry.page_token_key(), &filters, after)
                })
                .unwrap_or_default(),
        }))
    }
}

/// What a watch stream sends, as its message. The REST event stream sends the same messages.
pub(crate) fn watch_response(item: WatchItem) -> pb::WatchModelsResponse {
    use pb::watch_models_response::Message;
    let message = match item {
        WatchItem::Event(event) => Message::Event(model_event(&event)),
        WatchItem::Initial {
            registration,
            sequence,
        } => Message::Event(pb::ModelEvent {
            sequence,
            event_time: Some(convert::timestamp(registration.update_time)),
            r#type: pb::EventType::ModelRegistered as i32,
            model_registration_id: registration.id.to_string(),
            model_id: convert::registration(&registration).model_id,
            etag_after: registration.etag.as_str().to_owned(),
            model_related_information: Some(convert::registration(&registration)),
            initial: true,
            ..Default::default()
        }),
        WatchItem::InitialStateComplete(sequence) => {
            Message::InitialStateComplete(pb::InitialStateComplete { sequence })
        }
        WatchItem::Heartbeat(sequence) => Message::Heartbeat(pb::Heartbeat { sequence }),
    };
    pb::WatchModelsResponse {
        message: Some(message),
    }
}

pub(crate) fn model_event(event: &Event) -> pb::ModelEvent {
    let information = convert::registration(&event.registration);
    pb::ModelEvent {
        sequence: event.sequence,
        event_time: Some(convert::timestamp(event.time)),
        r#type: event_type(event.kind) as i32,
        model_registration_id: information.model_registration_id.clone(),
        model_id: information.model_id.clone(),
        etag_before: event
            .etag_before
            .as_ref()
            .map(|etag| etag.as_str().to_owned())
            .unwrap_or_default(),
        etag_after: event
            .etag_after
            .as_ref()
            .map(|etag| etag.as_str().to_owned())
            .unwrap_or_default(),
        actor: event.actor.clone(),
        request_id: event.request_id.clone().unwrap_or_default(),
        model_related_information: Some(information),
        initial: false,
        artifact_version: event
            .artifact_version
            .as_ref()
            .map(|version| version.as_str().to_owned())
            .unwrap_or_default(),
        alias: event
            .alias
            .as_ref()
            .map(|change| change.alias.to_string())
            .unwrap_or_default(),
        previous_model_registration_id: previous(event, |(id, _)| id.to_string()),
        previous_model_version: previous(event, |(_, version)| version.to_string()),
        via: event
            .via
            .map(|via| via.as_str().to_owned())
            .unwrap_or_default(),
    }
}

/// A part of the target a moved alias had before, or empty.
fn previous(event: &Event, part: impl Fn(&(RegistrationId, ModelVersion)) -> String) -> String {
    event
        .alias
        .as_ref()
        .and_then(|change| change.previous.as_ref())
        .map(part)
        .unwrap_or_default()
}

pub(super) fn event_type(kind: EventType) -> pb::EventType {
    match kind {
        EventType::ModelRegistered => pb::EventType::ModelRegistered,
        EventType::ModelUpdated => pb::EventType::ModelUpdated,
        EventType::ModelDeregistered => pb::EventType::ModelDeregistered,
        EventType::ArtifactStored => pb::EventType::ArtifactStored,
        EventType::AliasSet => pb::EventType::AliasSet,
        EventType::AliasDeleted => pb::EventType::AliasDeleted,
    }
}

/// The event types of a request; an unknown or unspecified one is INVALID_ARGUMENT.
pub(super) fn event_types(
    field: &str,
    types: &[i32],
) -> Result<Vec<EventType>, crate::domain::Error> {
    types
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            let kind = match pb::EventType::try_from(value) {
                Ok(pb::EventType::ModelRegistered) => Some(EventType::ModelRegistered),
                Ok(pb::EventType::ModelUpdated) => Some(EventType::ModelUpdated),
                Ok(pb::EventType::ModelDeregistered) => Some(EventType::ModelDeregistered),
                Ok(pb::EventType::ArtifactStored) => Some(EventType::ArtifactStored),
                Ok(pb::EventType::AliasSet) => Some(EventType::AliasSet),
                Ok(pb::EventType::AliasDeleted) => Some(EventType::AliasDeleted),
                Ok(pb::EventType::Unspecified) | Err(_) => None,
            };
            kind.ok_or_else(|| {
                crate::domain::Error::invalid_request(
                    format!("{field}[{index}]"),
                    format!("{value} is not an event type"),
                )
            })
        })
        .collect()
}

/// What a ListEvents page token is bound to: every filter and the order.
fn filters_digest(request: &pb::ListEventsRequest) -> String {
    let mut types = request.types.clone();
    types.sort_unstable();
    let time = |t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .map(|t| format!("{}.{}", t.seconds, t.nanos))
            .unwrap_or_default()
    };
    page_token::binding(serde_json::json!([
        request.model_registration_id,
        request.model_name,
        request.actor,
        types,
        time(&request.start_time),
        time(&request.end_time),
        request.newest_first,
    ]))
}
