//! The registry's agent: a request in plain words, answered by an LLM that acts only through
//! the registry's own operations (`tools`), each under the caller's identity, role and scopes
//! and recorded with `via: agent`. It is a front-end like the others: REST
//! (`/experiment/agent/…`), gRPC (`AgentService`, in `service`) and the CLI (`modelreg ask`)
//! all end here.
//!
//! What the LLM reads from the registry is data: it reaches the LLM as tool output, and no
//! write happens on the LLM's word alone. Under `--agent-mode read-only` writes are refused;
//! under `read-write` they are planned, sealed into a confirmation token (`plan`), and
//! performed only when the caller sends that token back.

mod act;
mod answer;
mod confirm;
mod llm;
mod operations;
mod plan;
mod prompt;
mod run;
mod schema;
mod service;
mod tools;

use std::sync::Arc;

pub(crate) use answer::{Action, Answer, Outcome, Plan};
pub(crate) use service::AgentGrpc;

use crate::config::{AgentConfig, AgentMode};
use crate::registry::Registry;
use async_openai::types::chat::ChatCompletionTools;
use llm::Llm;
use operations::Operations;
use tools::{Effect, Tool};

/// The agent as every front-end shares it.
#[derive(Clone)]
pub(crate) struct Agent {
    inner: Arc<Inner>,
}

struct Inner {
    llm: Option<Llm>,
    /// The tools as the LLM is offered them, under the configured mode.
    definitions: Vec<ChatCompletionTools>,
    operations: Operations,
    registry: Registry,
    config: AgentConfig,
}

/// What `GetAgentInfo` and `/experiment/agent/modelInfo` tell.
#[derive(Clone, Debug)]
pub(crate) struct Info {
    pub(crate) model: String,
    pub(crate) host: String,
    pub(crate) mode: AgentMode,
    pub(crate) tools: Vec<&'static str>,
}

/// A request to the agent: words to act on, or a plan to perform.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ask {
    pub(crate) text: String,
    pub(crate) confirmation: String,
}

impl Agent {
    /// The agent of `config`; an error names a setting that cannot work.
    pub(crate) fn new(registry: Registry, config: &AgentConfig) -> Result<Self, String> {
        let llm = Llm::from_config(config)?;
        let definitions = offered(config.agent_mode).map(Tool::definition).collect();
        Ok(Self {
            inner: Arc::new(Inner {
                llm,
                definitions,
                operations: Operations::new(registry.clone()),
                registry,
                config: config.clone(),
            }),
        })
    }

    /// The configured LLM, or LLM_NOT_CONFIGURED.
    pub(crate) fn info(&self) -> crate::domain::Result<Info> {
        let llm = self
            .inner
            .llm
            .as_ref()
            .ok_or(crate::domain::Error::LlmNotConfigured)?;
        Ok(Info {
            model: llm.model().to_owned(),
            host: llm.host().to_owned(),
            mode: self.inner.config.agent_mode,
            tools: offered(self.inner.config.agent_mode)
                .map(Tool::name)
                .collect(),
        })
    }
}

/// The tools offered under `mode`: writes only where they can be planned.
fn offered(mode: AgentMode) -> impl Iterator<Item = Tool> {
    Tool::ALL
        .into_iter()
        .filter(move |tool| tool.effect() == Effect::Read || mode == AgentMode::ReadWrite)
}
