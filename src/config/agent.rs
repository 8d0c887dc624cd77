//! The registry's agent: the LLM it asks (any OpenAI-compatible chat-completions endpoint),
//! the bounds of one request, and whether it may write.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

#[derive(Clone, Args)]
pub struct AgentConfig {
    /// The OpenAI-compatible API the agent asks, e.g. "http://127.0.0.1:8000/v1" (vLLM),
    /// "http://127.0.0.1:11434/v1" (Ollama), or OpenAI's own. Without it the agent answers
    /// UNAVAILABLE (503) LLM_NOT_CONFIGURED.
    #[arg(long, env = "MODELREG_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,

    /// The model to ask, as the endpoint names it.
    #[arg(long, env = "MODELREG_LLM_MODEL", default_value = "gpt-4o-mini")]
    pub llm_model: String,

    /// The endpoint's API key (sent as a bearer token; never logged). Prefer
    /// --llm-api-key-file, which keeps it out of the process's environment.
    #[arg(
        long = "llm-api-key",
        env = "MODELREG_LLM_API_KEY",
        hide = true,
        hide_env_values = true
    )]
    pub llm_api_key: Option<String>,

    /// A file holding the endpoint's API key (surrounding whitespace is ignored).
    #[arg(
        long,
        env = "MODELREG_LLM_API_KEY_FILE",
        conflicts_with = "llm_api_key"
    )]
    pub llm_api_key_file: Option<PathBuf>,

    /// How long one answer of the LLM may take.
    #[arg(long, env = "MODELREG_LLM_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub llm_timeout: Duration,

    /// Retries of an LLM call answered 429 or 5xx, or that could not connect (with backoff
    /// from 100 ms, doubling, or as Retry-After asks).
    #[arg(long, env = "MODELREG_LLM_RETRIES", default_value_t = 2)]
    pub llm_retries: usize,

    /// `read-only` refuses every write the LLM attempts; `read-write` returns the writes it
    /// plans with a confirmation token, and performs them when the caller sends it back.
    #[arg(long, env = "MODELREG_AGENT_MODE", value_enum, default_value_t = AgentMode::ReadOnly)]
    pub agent_mode: AgentMode,

    /// Answers of the LLM one request may take (each may call tools).
    #[arg(long, env = "MODELREG_AGENT_MAX_STEPS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub agent_max_steps: u32,

    /// Tool calls one request may make, all steps together.
    #[arg(long, env = "MODELREG_AGENT_MAX_TOOL_CALLS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub agent_max_tool_calls: u32,

    /// Tokens (prompt and completion, as the LLM reports them) one request may use.
    #[arg(long, env = "MODELREG_AGENT_MAX_TOKENS", default_value_t = 64_000)]
    pub agent_max_tokens: u32,

    /// How long one request may take, all LLM calls and tool calls together.
    #[arg(long, env = "MODELREG_AGENT_MAX_DURATION", default_value = "2m", value_parser = humantime::parse_duration)]
    pub agent_max_duration: Duration,

    /// A tool's answer is cut to this many bytes before the LLM reads it.
    #[arg(
        long,
        env = "MODELREG_AGENT_MAX_TOOL_OUTPUT_BYTES",
        default_value_t = 16_384
    )]
    pub agent_max_tool_output_bytes: usize,

    /// How long a plan's confirmation token stays valid.
    #[arg(long, env = "MODELREG_AGENT_PLAN_TTL", default_value = "10m", value_parser = humantime::parse_duration)]
    pub agent_plan_ttl: Duration,
}

/// Whether the agent may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AgentMode {
    /// Reads only; every write is refused (AGENT_READ_ONLY).
    #[default]
    ReadOnly,
    /// Writes are planned, and performed only when the caller confirms the plan.
    ReadWrite,
}

impl AgentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentMode::ReadOnly => "read-only",
            AgentMode::ReadWrite => "read-write",
        }
    }
}

impl Default for AgentConfig {
    fn default() -> Self {
        super::defaults::of_flags()
    }
}

/// The key is a secret: it is never shown.
impl std::fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field(
                "llm_base_url",
                &self.llm_base_url.as_deref().map(super::redact_url),
            )
            .field("llm_model", &self.llm_model)
            .field(
                "llm_api_key",
                &self.llm_api_key.as_ref().map(|_| "REDACTED"),
            )
            .field("llm_api_key_file", &self.llm_api_key_file)
            .field("llm_timeout", &self.llm_timeout)
            .field("llm_retries", &self.llm_retries)
            .field("agent_mode", &self.agent_mode)
            .field("agent_max_steps", &self.agent_max_steps)
            .field("agent_max_tool_calls", &self.agent_max_tool_calls)
            .field("agent_max_tokens", &self.agent_max_tokens)
            .field("agent_max_duration", &self.agent_max_duration)
            .field(
                "agent_max_tool_output_bytes",
                &self.agent_max_tool_output_bytes,
            )
            .field("agent_plan_ttl", &self.agent_plan_ttl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_never_shown() {
        let config = AgentConfig {
            llm_base_url: Some("https://user:password@llm.example/v1?api_key=k".into()),
            llm_api_key: Some("sk-secret".into()),
            ..AgentConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert!(!shown.contains("password"), "{shown}");
        assert!(shown.contains("llm.example"), "{shown}");
    }
}
