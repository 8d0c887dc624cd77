//! The agent's tools: the registry's operations, each offered to the LLM with a JSON Schema
//! generated from the request message it takes. Deleting is not a tool.

use async_openai::types::chat::{ChatCompletionTool, ChatCompletionTools, FunctionObject};
use serde_json::{Value, json};
use tonic::Status;
use tonic_types::StatusExt;

use super::schema;
use crate::pb;

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
        self.method().input().full_name().to_owned()
    }

    /// The RPC whose request the tool takes, from the compiled-in descriptors.
    fn method(self) -> prost_reflect::MethodDescriptor {
        let (service, method) = self.rpc();
        schema::pool()
            .get_service_by_name(&format!("modelregistry.v1.{service}"))
            .and_then(|service| service.methods().find(|m| m.name() == method))
            .expect("every tool names a method of the contract")
    }

    /// The tool as the LLM is offered it: name, description, JSON Schema of the arguments.
    pub(crate) fn definition(self) -> ChatCompletionTools {
        let method = self.method();
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
    /// The reason of arguments that do not decode as the tool's request.
    pub(crate) const NOT_THE_ARGUMENTS: &'static str = "INVALID_ARGUMENTS";

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

    pub(crate) fn from_status(status: &Status) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every request to the LLM carries the definitions: they are paid for in tokens at each
    /// step, so their size is watched (about 4 bytes a token).
    #[test]
    fn the_definitions_of_every_tool_stay_under_24_kib() {
        let definitions: Vec<ChatCompletionTools> =
            Tool::ALL.into_iter().map(Tool::definition).collect();
        let size = serde_json::to_string(&definitions).unwrap().len();
        println!("tool definitions: {size} bytes");
        assert!(size < 24 * 1024, "{size} bytes");
        let reads: Vec<ChatCompletionTools> = Tool::ALL
            .into_iter()
            .filter(|tool| tool.effect() == Effect::Read)
            .map(Tool::definition)
            .collect();
        println!(
            "read-only definitions: {} bytes",
            serde_json::to_string(&reads).unwrap().len()
        );
    }

    #[test]
    fn every_tool_is_found_by_its_name_and_names_a_method_of_the_contract() {
        for tool in Tool::ALL {
            assert_eq!(Tool::named(tool.name()), Some(tool));
            assert!(tool.request_full_name().starts_with("modelregistry.v1."));
        }
        assert_eq!(Tool::named("delete_model"), None);
    }
}
