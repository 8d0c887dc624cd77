//! The registry's operations as the agent calls them: exactly as a gRPC client does (the
//! same request messages, decoded from the LLM's JSON by the same descriptors, the same
//! handlers, validation and authorization), in-process, under the caller the agent acts for.

use std::future::Future;
use std::time::Duration;

use prost::Message;
use tonic::{Request, Response, Status};

use super::tools::{Failure, Tool};
use crate::domain::Caller;
use crate::grpc::{
    ArtifactService, DiscoveryService, EventService, ModelDiscoveryService, RegistrationService,
    StreamLimits,
};
use crate::pb::model_artifact_service_server::ModelArtifactService;
use crate::pb::model_event_service_server::ModelEventService;
use crate::pb::model_registration_service_server::ModelRegistrationService;
use crate::pb::{self, json as pb_json};
use crate::registry::Registry;

/// The registry's gRPC handlers, called in-process.
pub(crate) struct Operations {
    registration: RegistrationService,
    discovery: DiscoveryService,
    artifacts: ArtifactService,
    events: EventService,
}

impl Operations {
    pub(crate) fn new(registry: Registry) -> Self {
        // ListEvents is not a stream: its lease is never used.
        let limits = StreamLimits {
            max_connection_age: Duration::MAX,
            max_deadline: Duration::MAX,
        };
        Self {
            registration: RegistrationService::new(registry.clone()),
            discovery: DiscoveryService::new(registry.clone()),
            artifacts: ArtifactService::new(registry.clone()),
            events: EventService::new(registry, limits),
        }
    }

    /// Decodes `arguments` as `tool`'s request; the error says what is wrong and where.
    pub(crate) fn decode<M: Message + Default>(tool: Tool, arguments: &str) -> Result<M, Failure> {
        let arguments = if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        };
        pb_json::from_json(arguments, &tool.request_full_name()).map_err(|problem| Failure {
            code: "INVALID_ARGUMENT",
            reason: Failure::NOT_THE_ARGUMENTS.into(),
            message: format!("the arguments are not {}'s: {problem}", tool.name()),
            violations: Vec::new(),
        })
    }

    /// Calls `tool` with `arguments` (JSON) as `caller`; answers the result as proto3 JSON.
    pub(crate) async fn call(
        &self,
        caller: &Caller,
        tool: Tool,
        arguments: &str,
    ) -> Result<String, Failure> {
        let (registration, discovery) = (&self.registration, &self.discovery);
        let (artifacts, events) = (&self.artifacts, &self.events);
        match tool {
            Tool::ListModels => {
                invoke(caller, tool, arguments, pb_json::LIST_MODELS, |request| {
                    discovery.list_models(request)
                })
                .await
            }
            Tool::GetModel => {
                invoke(caller, tool, arguments, pb_json::MODEL, |request| {
                    registration.get_model_registration(request)
                })
                .await
            }
            Tool::ListArtifacts => {
                invoke(
                    caller,
                    tool,
                    arguments,
                    pb_json::LIST_ARTIFACTS,
                    |request| artifacts.list_artifacts(request),
                )
                .await
            }
            Tool::ListEvents => {
                invoke(caller, tool, arguments, pb_json::LIST_EVENTS, |request| {
                    events.list_events(request)
                })
                .await
            }
            Tool::RegisterModel => {
                invoke(caller, tool, arguments, pb_json::MODEL, |request| {
                    registration.register_model(request)
                })
                .await
            }
            Tool::UpdateModel => {
                invoke(caller, tool, arguments, pb_json::MODEL, |request| {
                    registration.update_model_registration(request)
                })
                .await
            }
            Tool::SetAlias => {
                invoke(caller, tool, arguments, pb_json::MODEL, |request| {
                    registration.set_model_alias(request)
                })
                .await
            }
        }
    }

    /// The registration `id` names, as `caller` sees it.
    pub(crate) async fn get(
        &self,
        caller: &Caller,
        id: String,
    ) -> Result<pb::ModelRelatedInformation, Failure> {
        let request = pb::GetModelRegistrationRequest {
            model_registration_id: id,
            model: None,
        };
        self.registration
            .get_model_registration(with(caller, request))
            .await
            .map(Response::into_inner)
            .map_err(|status| Failure::from_status(&status))
    }
}

/// A request as the authentication layer would hand it on: with its caller.
fn with<T>(caller: &Caller, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.extensions_mut().insert(caller.clone());
    request
}

/// Decodes `arguments` as `tool`'s request, hands it to `handler` with the caller, and
/// answers the response as proto3 JSON (`response`, its message's full name).
async fn invoke<Req, Resp, Fut>(
    caller: &Caller,
    tool: Tool,
    arguments: &str,
    response: &str,
    handler: impl FnOnce(Request<Req>) -> Fut,
) -> Result<String, Failure>
where
    Req: Message + Default,
    Resp: Message,
    Fut: Future<Output = Result<Response<Resp>, Status>>,
{
    let request: Req = Operations::decode(tool, arguments)?;
    match handler(with(caller, request)).await {
        Ok(answer) => Ok(pb_json::to_json_line(answer.get_ref(), response)),
        Err(status) => Err(Failure::from_status(&status)),
    }
}
