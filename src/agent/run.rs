//! One request to the agent: the conversation with the LLM, bounded in steps, tool calls,
//! tokens and time.

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestToolMessage, ChatCompletionTools, FunctionCall,
};
use tracing::Instrument;

use super::llm::{Llm, ToolCall};
use super::{Action, Agent, Answer, Ask, prompt};
use crate::domain::{Caller, Error, Result, Via, limits};

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
            let reply = ask_llm(llm, &messages, &self.inner.definitions).await?;
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
