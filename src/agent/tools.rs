//! The agent's tools: the registry's operations, called exactly as a gRPC client calls them
//! (the same request messages, decoded from the LLM's JSON by the same descriptors, the same
//! handlers, validation and authorization), under the caller the agent acts for. Deleting is
//! not a tool.

use std::time::Duration;

use async_openai::types::chat::{ChatCompletionTool, ChatCompletionTools, FunctionObject};
use prost::Message;
use serde_json::{Value, json};
use tonic::{Request, Response, Status};
use tonic_types::StatusExt;

use super::schema;
use crate::domain::Caller;
use crate::grpc::{
    ArtifactService, DiscoveryService, EventService, RegistrationService, StreamLimits,
};
use crate::pb::model_artifact_service_server::ModelArtifactService;
use crate::pb::model_discovery_service_server::ModelDiscoveryService;
use crate::pb::model_event_service_server::ModelEventService;
use crate::pb::model_registration_service_server::ModelRegistrationService;
use crate::pb::{self, json as pb_json};
use crate::registry::Registry;

/// Whether a tool changes the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    Read,
    Write,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tool {
    ListModels,
    GetModel,
    ListArtifacts,
    ListEvents,
    RegisterModel,
    UpdateModel,
    SetAlias,
}

impl Tool {
    pub(crate) const ALL: [Tool; 7] = [
        Tool::ListModels,
        Tool::GetModel,
        Tool::ListArtifacts,
        Tool::ListEvents,
        Tool::RegisterModel,
        Tool::UpdateModel,
        Tool::SetAlias,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Tool::ListModels => "list_models",
            Tool::GetModel => "get_model",
            Tool::ListArtifacts => "list_artifacts",
            Tool::ListEvents => "list_events",
            Tool::RegisterModel => "register_model",
            Tool::UpdateModel => "update_model",
            Tool::SetAlias => "set_alias",
        }
    }

    pub(crate) fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|tool| tool.name() == name)
    }

    pub(crate) fn effect(self) -> Effect {
        match self {
            Tool::RegisterModel | Tool::UpdateModel | Tool::SetAlias => Effect::Write,
            _ => Effect::Read,
        }
    }

    /// The service and method whose request the tool takes.
    fn rpc(self) -> (&'static str, &'static str) {
        match self {
            Tool::ListModels => ("ModelDiscoveryService", "ListModels"),
            Tool::GetModel => ("ModelRegistrationService", "GetModelRegistration"),
            Tool::ListArtifacts => ("ModelArtifactService", "ListArtifacts"),
            Tool::ListEvents => ("ModelEventService", "ListEvents"),
            Tool::RegisterModel => ("ModelRegistrationService", "RegisterModel"),
            Tool::UpdateModel => ("ModelRegistrationService", "UpdateModelRegistration"),
            Tool::SetAlias => ("ModelRegistrationService", "SetModelAlias"),
        }
    }

    /// What the LLM is told besides the operation's own documentation.
    fn hint(self) -> &'static str {
        match self {
            Tool::ListModels => {
                "Discover models: by name and version, or with a filter. Use it to answer \
                 questions such as which models run on a platform."
            }
            Tool::GetModel => "Read one model by its id, or by name and version or alias.",
            Tool::ListArtifacts => "List the artifact versions stored for one model.",
            Tool::ListEvents => {
                "Read recent changes of the registry (administrators only), newest last."
            }
            Tool::RegisterModel => "Register a new model version. Only when the user asked for it.",
            Tool::UpdateModel => {
                "Change a model's description, labels or target environments; needs its \
                 modelRegistrationId (get_model first). Only when the user asked for it."
            }
            Tool::SetAlias => {
                "Point an alias (e.g. production) at a version. Only when the user asked for it."
            }
        }
    }

    /// The full name of the request message the tool's arguments are.
    pub(crate) fn request_full_name(self) -> String {
        self.request_message()
    }

    fn request_message(self) -> String {
        let (_, method) = self.rpc();
        let service = self.service_descriptor();
        service
            .methods()
            .find(|m| m.name() == method)
            .map(|m| m.input().full_name().to_owned())
            .expect("every tool names a method of the contract")
    }

    fn service_descriptor(self) -> prost_reflect::ServiceDescriptor {
        let (service, _) = self.rpc();
        schema::pool()
            .get_service_by_name(&format!("modelregistry.v1.{service}"))
            .expect("every tool names a service of the contract")
    }

    /// The tool as the LLM is offered it: name, description, JSON Schema of the arguments.
    pub(crate) fn definition(self) -> ChatCompletionTools {
        let (_, method) = self.rpc();
        let service = self.service_descriptor();
        let method = service
            .methods()
            .find(|m| m.name() == method)
            .expect("every tool names a method of the contract");
        let documented = schema::comment(&method.parent_file(), method.path()).unwrap_or_default();
        ChatCompletionTools::Function(ChatCompletionTool {
            function: FunctionObject {
                name: self.name().to_owned(),
                description: Some(format!("{} {documented}", self.hint())),
                parameters: Some(schema::of_message(&method.input())),
                strict: None,
            },
        })
    }
}

/// A tool call that did not succeed, as the LLM (and the caller) is told of it.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// The canonical code's name (INVALID_ARGUMENT, PERMISSION_DENIED, …).
    pub(crate) code: &'static str,
    /// The machine-readable reason (ROLE_TOO_LOW, INVALID_ARGUMENTS, AGENT_READ_ONLY, …).
    pub(crate) reason: String,
    pub(crate) message: String,
    /// Violated fields and what is wrong with each.
    pub(crate) violations: Vec<(String, String)>,
}

impl Failure {
    pub(crate) fn new(code: &'static str, reason: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.to_owned(),
            message: message.into(),
            violations: Vec::new(),
        }
    }

    /// The failure of an operation the agent checked itself (a role, a scope).
    pub(crate) fn from_error(err: crate::domain::Error) -> Self {
        Self::from_status(&Status::from(err))
    }

    fn from_status(status: &Status) -> Self {
        let details = status.get_error_details();
        Self {
            code: pb::code_name(status.code()),
            reason: details
                .error_info()
                .map(|info| info.reason.clone())
                .unwrap_or_else(|| pb::code_name(status.code()).to_owned()),
            message: status.message().to_owned(),
            violations: details
                .bad_request()
                .map(|bad| {
                    bad.field_violations
                        .iter()
                        .map(|v| (v.field.clone(), v.description.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut error = json!({
            "code": self.code,
            "reason": self.reason,
            "message": self.message,
        });
        if !self.violations.is_empty() {
            error["violations"] = self
                .violations
                .iter()
                .map(|(field, description)| json!({"field": field, "description": description}))
                .collect();
        }
        json!({ "error": error })
    }
}

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
        pb_json::from_json(arguments, &tool.request_message()).map_err(|problem| Failure {
            code: "INVALID_ARGUMENT",
            reason: "INVALID_ARGUMENTS".into(),
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
        match tool {
            Tool::ListModels => {
                let request: pb::ListModelsRequest = Self::decode(tool, arguments)?;
                answer(
                    self.discovery.list_models(with(caller, request)).await,
                    pb_json::LIST_MODELS,
                )
            }
            Tool::GetModel => {
                let request: pb::GetModelRegistrationRequest = Self::decode(tool, arguments)?;
                answer(
                    self.registration
                        .get_model_registration(with(caller, request))
                        .await,
                    pb_json::MODEL,
                )
            }
            Tool::ListArtifacts => {
                let request: pb::ListArtifactsRequest = Self::decode(tool, arguments)?;
                answer(
                    self.artifacts.list_artifacts(with(caller, request)).await,
                    pb_json::LIST_ARTIFACTS,
                )
            }
            Tool::ListEvents => {
                let request: pb::ListEventsRequest = Self::decode(tool, arguments)?;
                answer(
                    self.events.list_events(with(caller, request)).await,
                    pb_json::LIST_EVENTS,
                )
            }
            Tool::RegisterModel => {
                let request: pb::RegisterModelRequest = Self::decode(tool, arguments)?;
                answer(
                    self.registration
                        .register_model(with(caller, request))
                        .await,
                    pb_json::MODEL,
                )
            }
            Tool::UpdateModel => {
                let request: pb::UpdateModelRegistrationRequest = Self::decode(tool, arguments)?;
                answer(
                    self.registration
                        .update_model_registration(with(caller, request))
                        .await,
                    pb_json::MODEL,
                )
            }
            Tool::SetAlias => {
                let request: pb::SetModelAliasRequest = Self::decode(tool, arguments)?;
                answer(
                    self.registration
                        .set_model_alias(with(caller, request))
                        .await,
                    pb_json::MODEL,
                )
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

fn answer<M: Message>(
    result: Result<Response<M>, Status>,
    full_name: &str,
) -> Result<String, Failure> {
    match result {
        Ok(response) => Ok(pb_json::to_json_line(response.get_ref(), full_name)),
        Err(status) => Err(Failure::from_status(&status)),
    }
}
