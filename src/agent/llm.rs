//! The LLM the agent asks: any OpenAI-compatible chat-completions endpoint with tool calling,
//! through async-openai. Calls answered 429 or 5xx, or that cannot connect, are retried with
//! backoff (its tower retry policy); each call, retries included, is bounded by --llm-timeout.

use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::middleware::retry::SimpleRetryPolicy;
use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestMessage, ChatCompletionTools,
    CreateChatCompletionRequest,
};
use tower::ServiceBuilder;

use crate::config::AgentConfig;
use crate::domain::{Cause, Error, Result};

pub(crate) struct Llm {
    client: Client<OpenAIConfig>,
    model: String,
    /// The endpoint's host and port: what may be shown of it.
    host: String,
    timeout: Duration,
}

/// One answer of the LLM.
pub(super) struct Reply {
    pub(super) content: Option<String>,
    pub(super) tool_calls: Vec<ToolCall>,
    /// Prompt and completion tokens, as the endpoint counted them (0 if it did not say).
    pub(super) tokens: u64,
}

/// A tool call as the LLM wrote it: nothing in it is trusted yet.
#[derive(Clone, Debug)]
pub(super) struct ToolCall {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) arguments: String,
}

impl Llm {
    /// The LLM of `config`, or `None` when no endpoint is configured.
    pub(crate) fn from_config(config: &AgentConfig) -> std::result::Result<Option<Self>, String> {
        let Some(base_url) = &config.llm_base_url else {
            return Ok(None);
        };
        let url = url::Url::parse(base_url)
            .map_err(|err| format!("--llm-base-url is not a URL: {err}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("--llm-base-url must be an http:// or https:// URL".into());
        }
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err("--llm-base-url must name a host".into()),
        };
        let key = api_key(config)?;
        let settings = OpenAIConfig::new()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(key)
            // Not taken from the process's OPENAI_* variables: only what modelreg is given.
            .with_org_id("")
            .with_project_id("");
        let http = crate::transport::https_client(config.llm_timeout)
            .map_err(|err| format!("cannot build the LLM's HTTP client: {err}"))?;
        let service = ServiceBuilder::new()
            .retry(SimpleRetryPolicy::new(config.llm_retries))
            .service(ReqwestService::new(http.clone()));
        let client = Client::build(http, settings).with_http_service(service);
        Ok(Some(Self {
            client,
            model: config.llm_model.clone(),
            host,
            timeout: config.llm_timeout,
        }))
    }

    pub(crate) fn model(&self) -> &str {
        &self.model
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Asks the LLM for its next step in `messages`, offering `tools`.
    pub(super) async fn complete(
        &self,
        messages: &[ChatCompletionRequestMessage],
        tools: &[ChatCompletionTools],
    ) -> Result<Reply> {
        let request = CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: messages.to_vec(),
            tools: Some(tools.to_vec()),
            ..Default::default()
        };
        let started = Instant::now();
        let answer = tokio::time::timeout(self.timeout, self.client.chat().create(request)).await;
        crate::metrics::llm_call(started.elapsed(), answer.as_ref().is_ok_and(Result::is_ok));
        let response = match answer {
            Err(_) => return Err(self.timed_out()),
            Ok(Err(err)) => return Err(self.failure(err)),
            Ok(Ok(response)) => response,
        };
        let tokens = response
            .usage
            .as_ref()
            .map_or(0, |usage| u64::from(usage.total_tokens));
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(Error::LlmFailed {
                summary: "the LLM answered without a choice".into(),
                cause: "empty `choices`".into(),
            });
        };
        let tool_calls = choice
            .message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .map(|call| match call {
                ChatCompletionMessageToolCalls::Function(call) => ToolCall {
                    id: call.id,
                    name: call.function.name,
                    arguments: call.function.arguments,
                },
                // No custom tool is offered: it is refused as an unknown one.
                ChatCompletionMessageToolCalls::Custom(call) => ToolCall {
                    id: call.id,
                    name: call.custom_tool.name,
                    arguments: call.custom_tool.input,
                },
            })
            .collect();
        Ok(Reply {
            content: choice.message.content,
            tool_calls,
            tokens,
        })
    }

    fn timed_out(&self) -> Error {
        Error::LlmTimedOut {
            limit: self.timeout,
            flag: "--llm-timeout",
        }
    }

    /// What a client may read of a failure: the status, never the endpoint's text (which may
    /// echo the key); the whole error goes to the log.
    fn failure(&self, err: OpenAIError) -> Error {
        let summary = match &err {
            OpenAIError::ApiError(answer) => {
                format!("{} answered HTTP {}", self.host, answer.status_code)
            }
            OpenAIError::Reqwest(inner) if inner.is_timeout() => return self.timed_out(),
            OpenAIError::Reqwest(inner) if inner.is_connect() => {
                format!("{} cannot be reached", self.host)
            }
            OpenAIError::Reqwest(inner) => match inner.status() {
                Some(status) => format!("{} answered HTTP {status}", self.host),
                None => format!("the connection to {} failed", self.host),
            },
            OpenAIError::JSONDeserialize(..) => {
                format!(
                    "{} answered something that is not a chat completion",
                    self.host
                )
            }
            _ => format!("the call to {} failed", self.host),
        };
        let cause: Cause = match err {
            OpenAIError::Reqwest(inner) => Box::new(inner.without_url()),
            other => other.to_string().into(),
        };
        Error::LlmFailed { summary, cause }
    }
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llm")
            .field("model", &self.model)
            .field("host", &self.host)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The key from MODELREG_LLM_API_KEY or --llm-api-key-file; none for endpoints without one.
fn api_key(config: &AgentConfig) -> std::result::Result<String, String> {
    if let Some(key) = &config.llm_api_key {
        return Ok(key.clone());
    }
    match &config.llm_api_key_file {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| text.trim().to_owned())
            .map_err(|err| format!("cannot read --llm-api-key-file {}: {err}", path.display())),
        None => Ok(String::new()),
    }
}
