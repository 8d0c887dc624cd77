//! AIMLFW's agent routes, served by the registry's agent: `GET /experiment/agent/modelInfo`
//! (which LLM answers) and `POST /experiment/agent/generate-content` (a request in plain
//! words, or a confirmation). The answer keeps the training manager's shape (`action`,
//! `request`, `response.result`, `status`) and adds what the agent did: `response.actions`
//! and, for planned writes, `response.plan`. Failures are problem documents, as the training
//! manager's are.

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Gateway;
use super::problem::Problem;
use super::request::{BodyType, json_body};
use crate::agent::{Action, Answer, Ask, Plan};
use crate::domain::Caller;

pub(crate) const INFO_PATH: &str = "/experiment/agent/modelInfo";
pub(crate) const GENERATE_PATH: &str = "/experiment/agent/generate-content";

#[derive(Serialize, ToSchema)]
pub(crate) struct AgentInfo {
    pub(crate) llm: Llm,
    /// `read-only` or `read-write` (`--agent-mode`).
    pub(crate) mode: String,
    /// The tools the agent may call.
    pub(crate) tools: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Llm {
    /// The model asked (`--llm-model`).
    pub(crate) model: String,
    /// The endpoint's host and port.
    pub(crate) host: String,
}

/// A request in plain words, or the confirmation of a plan.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateRequest {
    /// What to do, e.g. "which models run on kserve?".
    #[serde(default)]
    pub(crate) text: String,
    /// The `confirmationToken` of an earlier answer's plan: performs exactly that plan.
    #[serde(default)]
    pub(crate) confirmation: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Generated {
    /// `completed`.
    pub(crate) action: String,
    pub(crate) request: Echo,
    pub(crate) response: Outcome,
    /// `ok`.
    pub(crate) status: String,
    /// Always null: failures are problem documents.
    #[serde(rename = "error_message")]
    pub(crate) error_message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Echo {
    pub(crate) text: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Outcome {
    /// The agent's answer in plain words.
    pub(crate) result: String,
    /// Every tool call, in order.
    pub(crate) actions: Vec<AgentAction>,
    /// The writes planned and not yet performed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) plan: Option<AgentPlan>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AgentAction {
    pub(crate) tool: String,
    /// The arguments, as JSON text.
    pub(crate) arguments: String,
    /// `ok`, `error`, `planned`, `refused` or `skipped`.
    pub(crate) outcome: String,
    /// The reason of an error or refusal.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) reason: String,
    /// What the tool answered, as JSON text.
    pub(crate) result: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgentPlan {
    /// Send it as `confirmation` to perform the plan.
    pub(crate) confirmation_token: String,
    /// RFC 3339; after it the token is refused (`--agent-plan-ttl`).
    pub(crate) expire_time: String,
    pub(crate) actions: Vec<AgentAction>,
}

/// The LLM that serves the agent.
#[utoipa::path(
    get,
    path = "/experiment/agent/modelInfo",
    tag = "agent",
    responses(
        (status = 200, description = "The LLM, the mode and the tools", body = AgentInfo),
        (status = 503, description = "No LLM is configured (LLM_NOT_CONFIGURED)"),
    ),
)]
pub(crate) async fn info(State(gateway): State<Gateway>) -> Result<Json<AgentInfo>, Problem> {
    let info = gateway.agent.info()?;
    Ok(Json(AgentInfo {
        llm: Llm {
            model: info.model,
            host: info.host,
        },
        mode: info.mode.as_str().to_owned(),
        tools: info.tools.into_iter().map(str::to_owned).collect(),
    }))
}

/// Answers a request in plain words through the registry's operations, under the caller's
/// rights; or performs a confirmed plan.
#[utoipa::path(
    post,
    path = "/experiment/agent/generate-content",
    tag = "agent",
    request_body = GenerateRequest,
    responses(
        (status = 200, description = "The answer, every action taken, and the plan of writes awaiting confirmation", body = Generated),
        (status = 400, description = "No text, or a confirmation token that is altered, expired or another caller's"),
        (status = 413),
        (status = 415),
        (status = 502, description = "The LLM failed (LLM_FAILED), or needed more steps, tool calls or tokens than allowed (AGENT_LIMIT_REACHED); nothing was written"),
        (status = 503, description = "No LLM is configured (LLM_NOT_CONFIGURED)"),
        (status = 504, description = "The LLM or the request took too long (LLM_TIMEOUT)"),
    ),
)]
pub(crate) async fn generate(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Generated>, Problem> {
    let request: GenerateRequest =
        json_body(&headers, body, BodyType::Json, gateway.max_body).await?;
    let text = request.text.clone();
    let ask = Ask {
        text: request.text,
        confirmation: request.confirmation,
    };
    let answer = gateway.agent.generate(&caller, ask, &|_| {}).await?;
    Ok(Json(generated(text, answer)))
}

fn generated(text: String, answer: Answer) -> Generated {
    Generated {
        action: "completed".into(),
        request: Echo { text },
        response: Outcome {
            result: answer.text,
            actions: answer.actions.iter().map(action).collect(),
            plan: answer.plan.map(plan),
        },
        status: "ok".into(),
        error_message: None,
    }
}

fn plan(plan: Plan) -> AgentPlan {
    AgentPlan {
        confirmation_token: plan.confirmation_token,
        expire_time: plan
            .expire_time
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        actions: plan.actions.iter().map(action).collect(),
    }
}

fn action(action: &Action) -> AgentAction {
    AgentAction {
        tool: action.tool.clone(),
        arguments: action.arguments.clone(),
        outcome: action.outcome.as_str().to_owned(),
        reason: action.reason.clone(),
        result: action.result.clone(),
    }
}
