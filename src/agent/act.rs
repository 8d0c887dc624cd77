//! One tool call of the LLM: a read performed at once, a write planned (or refused), anything
//! else refused with a reason the LLM can act on.

use std::future::Future;

use tracing::Instrument;

use super::llm::ToolCall;
use super::operations::Operations;
use super::plan::Step;
use super::tools::{Effect, Failure, Tool};
use super::{Action, Agent, Outcome};
use crate::config::AgentMode;
use crate::domain::Caller;
use crate::pb::{self, json as pb_json};

impl Agent {
    /// Carries out one tool call: reads at once, writes planned (or refused).
    pub(super) async fn act(&self, caller: &Caller, call: &ToolCall) -> (Action, Option<Step>) {
        // The LLM wrote the name: logs and metrics see it only when it is a tool's.
        let known = metric_tool(&call.name);
        traced(known, async {
            let Some(tool) = Tool::named(&call.name) else {
                let names: Vec<&str> = super::offered(self.inner.config.agent_mode)
                    .map(Tool::name)
                    .collect();
                let failure = Failure::new(
                    "INVALID_ARGUMENT",
                    "UNKNOWN_TOOL",
                    format!(
                        "there is no tool {:?}; the tools are {}",
                        call.name.chars().take(64).collect::<String>(),
                        names.join(", ")
                    ),
                );
                return (refused(call, &failure), None);
            };
            match (tool.effect(), self.inner.config.agent_mode) {
                (Effect::Read, _) => (self.perform_one(caller, tool, &call.arguments).await, None),
                (Effect::Write, AgentMode::ReadOnly) => {
                    let failure = Failure::new(
                        "FAILED_PRECONDITION",
                        "AGENT_READ_ONLY",
                        "this registry's agent is read-only (--agent-mode read-only): nothing was changed",
                    );
                    (refused(call, &failure), None)
                }
                (Effect::Write, AgentMode::ReadWrite) => {
                    match self.prepare(caller, tool, &call.arguments).await {
                        Ok(arguments) => {
                            let action = Action {
                                tool: call.name.clone(),
                                arguments: arguments.clone(),
                                outcome: Outcome::Planned,
                                reason: String::new(),
                                result: serde_json::json!({
                                    "planned": true,
                                    "note": "not performed yet: the user is shown this change and performs it by confirming",
                                })
                                .to_string(),
                            };
                            let step = Step {
                                tool: tool.name().to_owned(),
                                arguments,
                            };
                            (action, Some(step))
                        }
                        Err(failure) => (failed(&call.name, &call.arguments, &failure), None),
                    }
                }
            }
        })
        .await
    }

    /// Checks a write as far as it can be checked before it is made, under the caller's
    /// rights (permission first), and pins it to what the caller will be shown: an update to
    /// the registration's current etag (a change in between makes it ABORTED, not applied to
    /// something else), a registration to a request id (confirming twice registers once).
    async fn prepare(
        &self,
        caller: &Caller,
        tool: Tool,
        arguments: &str,
    ) -> std::result::Result<String, Failure> {
        caller
            .require(crate::domain::Action::Write)
            .map_err(Failure::from_error)?;
        let operations = &self.inner.operations;
        match tool {
            Tool::RegisterModel => {
                let mut request: pb::RegisterModelRequest = Operations::decode(tool, arguments)?;
                crate::grpc::check_registration(&request).map_err(Failure::from_error)?;
                let name = request
                    .model_related_information
                    .as_ref()
                    .and_then(|info| info.model_id.as_ref())
                    .map(|id| id.model_name.clone())
                    .unwrap_or_default();
                caller
                    .require_in_scope(&name)
                    .map_err(Failure::from_error)?;
                if request.request_id.is_empty() {
                    request.request_id = uuid::Uuid::new_v4().to_string();
                }
                Ok(pb_json::to_json_line(&request, &tool.request_full_name()))
            }
            Tool::UpdateModel => {
                let mut request: pb::UpdateModelRegistrationRequest =
                    Operations::decode(tool, arguments)?;
                let resource = request.model_related_information.get_or_insert_default();
                let current = operations
                    .get(caller, resource.model_registration_id.clone())
                    .await?;
                if resource.etag.is_empty() {
                    resource.etag = current.etag;
                }
                Ok(pb_json::to_json_line(&request, &tool.request_full_name()))
            }
            Tool::SetAlias => {
                let request: pb::SetModelAliasRequest = Operations::decode(tool, arguments)?;
                caller
                    .require_in_scope(&request.model_name)
                    .map_err(Failure::from_error)?;
                // The version it is to name must exist (and be visible).
                let target = serde_json::json!({"model": {
                    "modelName": request.model_name,
                    "modelVersion": request.model_version,
                }});
                operations
                    .call(caller, Tool::GetModel, &target.to_string())
                    .await?;
                Ok(pb_json::to_json_line(&request, &tool.request_full_name()))
            }
            Tool::ListModels | Tool::GetModel | Tool::ListArtifacts | Tool::ListEvents => {
                Ok(arguments.to_owned())
            }
        }
    }

    /// Calls `tool` as `caller`; the action says how it went.
    pub(super) async fn perform_one(&self, caller: &Caller, tool: Tool, arguments: &str) -> Action {
        match self.inner.operations.call(caller, tool, arguments).await {
            Ok(result) => Action {
                tool: tool.name().to_owned(),
                arguments: arguments.to_owned(),
                outcome: Outcome::Ok,
                reason: String::new(),
                result,
            },
            Err(failure) => failed(tool.name(), arguments, &failure),
        }
    }
}

/// Runs one tool call in its span (`agent.tool`), and records its outcome there and in the
/// metrics.
pub(super) async fn traced<T>(
    tool: String,
    work: impl Future<Output = (Action, T)>,
) -> (Action, T) {
    let span = tracing::info_span!("agent.tool", tool = %tool, outcome = tracing::field::Empty);
    let (action, rest) = work.instrument(span.clone()).await;
    span.record("outcome", action.outcome.as_str());
    crate::metrics::agent_tool_call(tool, action.outcome.as_str());
    (action, rest)
}

/// A call not attempted.
fn refused(call: &ToolCall, failure: &Failure) -> Action {
    Action {
        outcome: Outcome::Refused,
        ..failed(&call.name, &call.arguments, failure)
    }
}

/// A call that failed: arguments that are not the tool's were refused before any operation;
/// anything else is the operation's error.
fn failed(tool: &str, arguments: &str, failure: &Failure) -> Action {
    Action {
        tool: tool.to_owned(),
        arguments: arguments.to_owned(),
        outcome: if failure.reason == Failure::NOT_THE_ARGUMENTS {
            Outcome::Refused
        } else {
            Outcome::Error
        },
        reason: failure.reason.clone(),
        result: failure.to_json().to_string(),
    }
}

/// A tool's name as a metric label: an unknown one is "unknown", whatever the LLM wrote.
fn metric_tool(name: &str) -> String {
    Tool::named(name).map_or("unknown", Tool::name).to_owned()
}
