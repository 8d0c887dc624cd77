//! The agent's metrics: requests by outcome, the steps each took, tool calls by tool and
//! outcome, the LLM's latency and the tokens it used.

use std::time::Duration;

use metrics::Unit;

const AGENT_REQUESTS: &str = "modelreg_agent_requests_total";
const AGENT_STEPS: &str = "modelreg_agent_steps";
const AGENT_TOOL_CALLS: &str = "modelreg_agent_tool_calls_total";
pub(super) const LLM_DURATION: &str = "modelreg_llm_request_duration_seconds";
const LLM_TOKENS: &str = "modelreg_llm_tokens_total";

/// LLM answers take from tens of milliseconds (a small local model) to minutes.
pub(super) const LLM_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

pub(super) fn describe() {
    metrics::describe_counter!(
        AGENT_REQUESTS,
        "Agent requests answered, by kind (ask, confirm) and outcome (the reason of a failure, or ok)"
    );
    metrics::describe_histogram!(AGENT_STEPS, "LLM answers one agent request took");
    metrics::describe_counter!(
        AGENT_TOOL_CALLS,
        "Tool calls of the agent, by tool and outcome (ok, error, planned, refused)"
    );
    metrics::describe_histogram!(
        LLM_DURATION,
        Unit::Seconds,
        "Duration of one chat-completions call to the agent's LLM, retries included, by outcome"
    );
    metrics::describe_counter!(
        LLM_TOKENS,
        "Tokens the agent's LLM reported using (prompt and completion)"
    );
}

/// One request of the agent ended: `outcome` is "ok" or the reason of its failure.
pub(crate) fn agent_request(kind: &'static str, outcome: &'static str, steps: u32) {
    metrics::counter!(AGENT_REQUESTS, "kind" => kind, "outcome" => outcome).increment(1);
    if kind == "ask" {
        metrics::histogram!(AGENT_STEPS).record(f64::from(steps));
    }
}

pub(crate) fn agent_tool_call(tool: String, outcome: &'static str) {
    metrics::counter!(AGENT_TOOL_CALLS, "tool" => tool, "outcome" => outcome).increment(1);
}

pub(crate) fn llm_call(duration: Duration, answered: bool) {
    let outcome = if answered { "ok" } else { "error" };
    metrics::histogram!(LLM_DURATION, "outcome" => outcome).record(duration.as_secs_f64());
}

pub(crate) fn llm_tokens(tokens: u64) {
    metrics::counter!(LLM_TOKENS).increment(tokens);
}
