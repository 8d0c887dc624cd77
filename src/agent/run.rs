//! One request to the agent: the conversation with the LLM, bounded in steps, tool calls,
//! tokens and time; and the performing of a confirmed plan.

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestToolMessage, ChatCompletionTools, FunctionCall,
};
use chrono::Utc;
use tracing::Instrument;

use super::llm::{Llm, ToolCall};
use super::plan::{self, Step};
use super::tools::{Effect, Failure, Operations, Tool};
use super::{Action, Agent, Answer, Ask, Outcome, Plan, prompt};
use crate::config::AgentMode;
use crate::domain::{Caller, Error, Result, Via, limits};
use crate::pb::{self, json as pb_json};

/// Sees each action as soon as its outcome is known (the streaming front-ends send it).
pub(crate) type OnAction<'a> = &'a (dyn Fn(&Action) + Send + Sync);

/// How far a conversation got, for its metrics.
#[derive(Default)]
struct Progress {
    steps: u32,
    tool_calls: u32,
    tokens: u64,
}

impl Agent {
    /// Answers `ask` for `caller`: the words, through the LLM, or a confirmed plan, without it.
    pub(crate) async fn generate(
        &self,
        caller: &Caller,
        ask: Ask,
        on_action: OnAction<'_>,
    ) -> Result<Answer> {
        let caller = caller.through(Via::Agent);
        let confirming = !ask.confirmation.trim().is_empty();
        let kind = if confirming { "confirm" } else { "ask" };
        let span = tracing::info_span!(
            "agent.request",
            principal = %caller.principal,
            kind,
            mode = self.inner.config.agent_mode.as_str(),
            steps = tracing::field::Empty,
            tool_calls = tracing::field::Empty,
            tokens = tracing::field::Empty,
        );
        let mut progress = Progress::default();
        let answer = async {
            if confirming {
                self.perform(&caller, &ask.confirmation, on_action).await
            } else {
                let text = checked_text(&ask.text)?;
                let limit = self.inner.config.agent_max_duration;
                tokio::time::timeout(
                    limit,
                    self.converse(&caller, text, on_action, &mut progress),
                )
                .await
                .map_err(|_| Error::LlmTimedOut {
                    limit,
                    flag: "--agent-max-duration",
                })?
            }
        }
        .instrument(span.clone())
        .await;
        span.record("steps", progress.steps);
        span.record("tool_calls", progress.tool_calls);
        span.record("tokens", progress.tokens);
        let outcome = match &answer {
            Ok(_) => "ok",
            Err(err) => err.reason(),
        };
        crate::metrics::agent_request(kind, outcome, progress.steps);
        answer
    }

    async fn converse(
        &self,
        caller: &Caller,
        text: &str,
        on_action: OnAction<'_>,
        progress: &mut Progress,
    ) -> Result<Answer> {
        let config = &self.inner.config;
        let llm = self.inner.llm.as_ref().ok_or(Error::LlmNotConfigured)?;
        let definitions: Vec<ChatCompletionTools> = self.tools().map(Tool::definition).collect();
        let mut messages: Vec<ChatCompletionRequestMessage> = vec![
            ChatCompletionRequestMessage::System(prompt::system(config.agent_mode).into()),
            ChatCompletionRequestMessage::User(text.into()),
        ];
        let mut actions = Vec::new();
        let mut planned = Vec::new();
        let answer = loop {
            if progress.steps == config.agent_max_steps {
                return Err(limit("steps", config.agent_max_steps, "--agent-max-steps"));
            }
            progress.steps += 1;
            let reply = ask_llm(llm, &messages, &definitions).await?;
            progress.tokens += reply.tokens;
            crate::metrics::llm_tokens(reply.tokens);
            if progress.tokens > u64::from(config.agent_max_tokens) {
                return Err(limit(
                    "tokens",
                    config.agent_max_tokens,
                    "--agent-max-tokens",
                ));
            }
            if reply.tool_calls.is_empty() {
                break reply.content.unwrap_or_default();
            }
            messages.push(assistant(reply.content, &reply.tool_calls));
            for call in reply.tool_calls {
                progress.tool_calls += 1;
                if progress.tool_calls > config.agent_max_tool_calls {
                    return Err(limit(
                        "tool calls",
                        config.agent_max_tool_calls,
                        "--agent-max-tool-calls",
                    ));
                }
                let (action, step) = self.act(caller, &call).await;
                let shown = prompt::tool_output(
                    &call.name,
                    &action.result,
                    config.agent_max_tool_output_bytes,
                );
                messages.push(ChatCompletionRequestMessage::Tool(
                    ChatCompletionRequestToolMessage {
                        content: shown.into(),
                        tool_call_id: call.id.clone(),
                    },
                ));
                on_action(&action);
                if let Some(step) = step {
                    planned.push((step, action.clone()));
                }
                actions.push(action);
            }
        };
        if tracing::enabled!(tracing::Level::DEBUG) {
            let transcript = serde_json::to_string(&messages).unwrap_or_default();
            tracing::debug!(%transcript, answer = %answer, "agent transcript");
        }
        let plan = (!planned.is_empty()).then(|| self.seal(caller, planned));
        Ok(Answer {
            text: answer,
            actions,
            plan,
        })
    }

    /// Carries out one tool call: reads at once, writes planned (or refused).
    async fn act(&self, caller: &Caller, call: &ToolCall) -> (Action, Option<Step>) {
        let span =
            tracing::info_span!("agent.tool", tool = %call.name, outcome = tracing::field::Empty);
        let (action, step) = async {
            let Some(tool) = Tool::named(&call.name) else {
                let names: Vec<&str> = self.tools().map(Tool::name).collect();
                let failure = Failure::new(
                    "INVALID_ARGUMENT",
                    "UNKNOWN_TOOL",
                    format!("there is no tool {:?}; the tools are {}", call.name, names.join(", ")),
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
                        Err(failure) => (failed(call, &failure), None),
                    }
                }
            }
        }
        .instrument(span.clone())
        .await;
        span.record("outcome", action.outcome.as_str());
        crate::metrics::agent_tool_call(metric_tool(&call.name), action.outcome.as_str());
        (action, step)
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
                Ok(pb_json::to_json_line(&request, &tool_request(tool)))
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
                Ok(pb_json::to_json_line(&request, &tool_request(tool)))
            }
            Tool::SetAlias => {
                let request: pb::SetModelAliasRequest = Operations::decode(tool, arguments)?;
                caller
                    .require_in_scope(&request.model_name)
                    .map_err(Failure::from_error)?;
                Ok(pb_json::to_json_line(&request, &tool_request(tool)))
            }
            Tool::ListModels | Tool::GetModel | Tool::ListArtifacts | Tool::ListEvents => {
                Ok(arguments.to_owned())
            }
        }
    }

    async fn perform_one(&self, caller: &Caller, tool: Tool, arguments: &str) -> Action {
        match self.inner.operations.call(caller, tool, arguments).await {
            Ok(result) => Action {
                tool: tool.name().to_owned(),
                arguments: arguments.to_owned(),
                outcome: Outcome::Ok,
                reason: String::new(),
                result,
            },
            Err(failure) => Action {
                tool: tool.name().to_owned(),
                arguments: arguments.to_owned(),
                outcome: if failure.reason == "INVALID_ARGUMENTS" {
                    Outcome::Refused
                } else {
                    Outcome::Error
                },
                reason: failure.reason.clone(),
                result: failure.to_json().to_string(),
            },
        }
    }

    fn seal(&self, caller: &Caller, planned: Vec<(Step, Action)>) -> Plan {
        let config = &self.inner.config;
        let ttl = chrono::Duration::from_std(config.agent_plan_ttl)
            .unwrap_or_else(|_| chrono::Duration::minutes(10));
        let expire_time = Utc::now() + ttl;
        let (steps, actions): (Vec<Step>, Vec<Action>) = planned.into_iter().unzip();
        Plan {
            confirmation_token: plan::seal(
                self.inner.registry.page_token_key(),
                caller,
                expire_time,
                &steps,
            ),
            expire_time,
            actions,
        }
    }

    /// Performs a confirmed plan, in order; after a step that fails, the rest are skipped.
    async fn perform(
        &self,
        caller: &Caller,
        token: &str,
        on_action: OnAction<'_>,
    ) -> Result<Answer> {
        if self.inner.config.agent_mode == AgentMode::ReadOnly {
            return Err(Error::invalid_request(
                "confirmation",
                "this registry's agent is read-only (--agent-mode read-only); nothing was changed",
            ));
        }
        let steps = plan::open(
            self.inner.registry.page_token_key(),
            caller,
            Utc::now(),
            token,
        )?;
        let total = steps.len();
        let mut actions = Vec::with_capacity(total);
        let mut failed: Option<String> = None;
        for (tool, arguments) in steps {
            let action = if failed.is_some() {
                Action {
                    tool: tool.name().to_owned(),
                    arguments,
                    outcome: Outcome::Skipped,
                    reason: String::new(),
                    result: String::new(),
                }
            } else {
                let span = tracing::info_span!(
                    "agent.tool",
                    tool = tool.name(),
                    outcome = tracing::field::Empty
                );
                let action = self
                    .perform_one(caller, tool, &arguments)
                    .instrument(span.clone())
                    .await;
                span.record("outcome", action.outcome.as_str());
                crate::metrics::agent_tool_call(tool.name().to_owned(), action.outcome.as_str());
                if action.outcome != Outcome::Ok {
                    failed = Some(format!("{} failed ({})", tool.name(), action.reason));
                }
                action
            };
            on_action(&action);
            actions.push(action);
        }
        let done = actions.iter().filter(|a| a.outcome == Outcome::Ok).count();
        let text = match failed {
            None => format!("Performed the confirmed plan: {done} of {total} changes made."),
            Some(failure) => format!(
                "Performed {done} of {total} planned changes: {failure}; the changes after it were not made."
            ),
        };
        Ok(Answer {
            text,
            actions,
            plan: None,
        })
    }
}

/// The caller's words, checked: present, and of a size an LLM prompt can hold.
fn checked_text(text: &str) -> Result<&str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid_request(
            "text",
            "is required: the request in plain words (or a confirmation token)",
        ));
    }
    if text.chars().count() > limits::AGENT_TEXT_CHARS {
        return Err(Error::invalid_request(
            "text",
            format!("must be at most {} characters", limits::AGENT_TEXT_CHARS),
        ));
    }
    Ok(text)
}

async fn ask_llm(
    llm: &Llm,
    messages: &[ChatCompletionRequestMessage],
    tools: &[ChatCompletionTools],
) -> Result<super::llm::Reply> {
    let span = tracing::info_span!("agent.llm", model = llm.model());
    llm.complete(messages, tools).instrument(span).await
}

fn limit(bound: &'static str, limit: u32, flag: &'static str) -> Error {
    Error::AgentLimitReached {
        bound,
        limit: u64::from(limit),
        flag,
    }
}

/// The assistant's turn, repeated back to the LLM with the next request.
fn assistant(content: Option<String>, calls: &[ToolCall]) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
        content: content.map(Into::into),
        tool_calls: Some(
            calls
                .iter()
                .map(|call| {
                    ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                        id: call.id.clone(),
                        function: FunctionCall {
                            name: call.name.clone(),
                            arguments: call.arguments.clone(),
                        },
                    })
                })
                .collect(),
        ),
        ..Default::default()
    })
}

fn refused(call: &ToolCall, failure: &Failure) -> Action {
    Action {
        tool: call.name.clone(),
        arguments: call.arguments.clone(),
        outcome: Outcome::Refused,
        reason: failure.reason.clone(),
        result: failure.to_json().to_string(),
    }
}

fn failed(call: &ToolCall, failure: &Failure) -> Action {
    Action {
        outcome: if failure.reason == "INVALID_ARGUMENTS" {
            Outcome::Refused
        } else {
            Outcome::Error
        },
        ..refused(call, failure)
    }
}

fn tool_request(tool: Tool) -> String {
    tool.request_full_name()
}

/// A tool's name as a metric label: an unknown one is "unknown", whatever the LLM wrote.
fn metric_tool(name: &str) -> String {
    Tool::named(name).map_or("unknown", Tool::name).to_owned()
}
