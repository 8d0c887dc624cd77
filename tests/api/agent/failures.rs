//! An LLM that misbehaves: tool calls it gets wrong are answered so that it can correct
//! itself; one that never stops is bounded; one that fails or is slow is a clear 502 or 504,
//! with nothing written.

use std::time::Duration;

use modelreg::{AgentMode, pb};
use serde_json::{Value, json};
use tonic::Code;

use super::llm::{Reply, ScriptedLlm, Turn, calls, text, tool_data, tool_messages};
use super::{actions, ask, events, grpc, model_names, registration};
use crate::common::{Backend, assert_error, on_every_backend};
use crate::rest::{Rest, assert_problem};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        wrong_tool_calls_are_answered_so_that_the_llm_can_correct_itself,
        an_llm_that_never_stops_is_bounded,
        llm_failures_are_502_or_504_and_nothing_is_half_done,
    )
}

async fn wrong_tool_calls_are_answered_so_that_the_llm_can_correct_itself(backend: Backend) {
    let wrong: Turn = Box::new(|_| {
        Reply::Calls(vec![
            ("list_models", "{not json".into()),
            ("drop_table", "{}".into()),
            ("list_models", json!({"pageSize": -1}).to_string()),
            ("list_models", json!({"noSuchField": 1}).to_string()),
        ])
    });
    let llm = ScriptedLlm::start(vec![wrong, text("Sorry, I could not list the models.")]).await;
    let server = super::server(backend, &llm, AgentMode::ReadOnly).await;
    let answer = ask(&Rest::of(&server), "list the models").await;
    assert_eq!(answer.status, 200);
    let taken = actions(&answer.json());
    let outcomes: Vec<(&str, &str)> = taken
        .iter()
        .map(|a| {
            (
                a["outcome"].as_str().unwrap(),
                a["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("refused", "INVALID_ARGUMENTS"),
            ("refused", "UNKNOWN_TOOL"),
            ("error", "INVALID_ARGUMENT"),
            ("refused", "INVALID_ARGUMENTS"),
        ]
    );
    // The LLM read each error with its reason and violations.
    let told: Vec<Value> = tool_messages(&llm.requests()[1])
        .iter()
        .map(|m| tool_data(m))
        .collect();
    assert_eq!(told.len(), 4);
    assert_eq!(told[1]["error"]["reason"], "UNKNOWN_TOOL");
    assert!(
        told[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("list_models")
    );
    assert_eq!(told[2]["error"]["code"], "INVALID_ARGUMENT");
    assert_eq!(told[2]["error"]["violations"][0]["field"], "page_size");
    assert!(
        told[3]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("noSuchField")
    );
}

async fn an_llm_that_never_stops_is_bounded(backend: Backend) {
    // Steps.
    let forever =
        ScriptedLlm::start_then(vec![], Some(calls(vec![("list_models", json!({}))]))).await;
    let server = super::server_with(backend.clone(), &forever, AgentMode::ReadOnly, |config| {
        config.agent.agent_max_steps = 3;
    })
    .await;
    let problem = assert_problem(
        &ask(&Rest::of(&server), "go on").await,
        502,
        "AGENT_LIMIT_REACHED",
    );
    assert_eq!(problem["metadata"]["bound"], "steps");
    assert_eq!(problem["metadata"]["flag"], "--agent-max-steps");
    assert_eq!(forever.requests().len(), 3);
    let status = grpc(&server, None)
        .await
        .generate_content(pb::GenerateContentRequest {
            text: "go on".into(),
            confirmation: String::new(),
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::ResourceExhausted, "AGENT_LIMIT_REACHED");

    // Tool calls: many in one answer.
    let many: Vec<(&'static str, Value)> = (0..6).map(|_| ("list_models", json!({}))).collect();
    let greedy = ScriptedLlm::start(vec![calls(many)]).await;
    let server = super::server_with(backend.clone(), &greedy, AgentMode::ReadOnly, |config| {
        config.agent.agent_max_tool_calls = 4;
    })
    .await;
    let problem = assert_problem(
        &ask(&Rest::of(&server), "go on").await,
        502,
        "AGENT_LIMIT_REACHED",
    );
    assert_eq!(problem["metadata"]["bound"], "tool calls");

    // Tokens: each answer reports 120.
    let wordy =
        ScriptedLlm::start_then(vec![], Some(calls(vec![("list_models", json!({}))]))).await;
    let server = super::server_with(backend, &wordy, AgentMode::ReadOnly, |config| {
        config.agent.agent_max_tokens = 200;
    })
    .await;
    let problem = assert_problem(
        &ask(&Rest::of(&server), "go on").await,
        502,
        "AGENT_LIMIT_REACHED",
    );
    assert_eq!(problem["metadata"]["bound"], "tokens");
    assert_eq!(wordy.requests().len(), 2);
}

async fn llm_failures_are_502_or_504_and_nothing_is_half_done(backend: Backend) {
    let server_for = |llm: &ScriptedLlm, retries: usize, timeout: Duration| {
        let backend = backend.clone();
        let base_url = llm.base_url.clone();
        async move {
            crate::common::TestServer::start_with(backend, move |config| {
                config.agent.llm_base_url = Some(base_url);
                config.agent.agent_mode = AgentMode::ReadWrite;
                config.agent.llm_retries = retries;
                config.agent.llm_timeout = timeout;
            })
            .await
        }
    };
    let second = Duration::from_secs(1);

    // 500, and 500 again on the retry: 502, and the endpoint's text is not passed on.
    let failing = ScriptedLlm::start(vec![]).await;
    let server = server_for(&failing, 1, 10 * second).await;
    let problem = assert_problem(&ask(&Rest::of(&server), "hello").await, 502, "LLM_FAILED");
    assert!(
        problem["detail"].as_str().unwrap().contains("HTTP 500"),
        "{problem}"
    );
    assert!(
        !problem["detail"]
            .as_str()
            .unwrap()
            .contains("scripted failure")
    );
    assert_eq!(failing.requests().len(), 2, "one retry");

    // 429, then an answer: the retry succeeds.
    let limited = ScriptedLlm::start(vec![Box::new(|_| Reply::Status(429)), text("Hello.")]).await;
    let server = server_for(&limited, 2, 10 * second).await;
    let answer = ask(&Rest::of(&server), "hello").await;
    assert_eq!(
        (answer.status, answer.json()["response"]["result"].clone()),
        (200, json!("Hello."))
    );

    // Not a chat completion: 502.
    let garbled = ScriptedLlm::start(vec![Box::new(|_| Reply::Garbage)]).await;
    let server = server_for(&garbled, 0, 10 * second).await;
    assert_problem(&ask(&Rest::of(&server), "hello").await, 502, "LLM_FAILED");

    // Too slow: 504 over REST, DEADLINE_EXCEEDED over gRPC.
    let slow: Turn =
        Box::new(|_| Reply::Late(Duration::from_secs(3), Box::new(Reply::Text("late".into()))));
    let slower: Turn =
        Box::new(|_| Reply::Late(Duration::from_secs(3), Box::new(Reply::Text("late".into()))));
    let sleepy = ScriptedLlm::start(vec![slow, slower]).await;
    let server = server_for(&sleepy, 0, Duration::from_millis(300)).await;
    let problem = assert_problem(&ask(&Rest::of(&server), "hello").await, 504, "LLM_TIMEOUT");
    assert_eq!(problem["metadata"]["flag"], "--llm-timeout");
    let status = grpc(&server, None)
        .await
        .generate_content(pb::GenerateContentRequest {
            text: "hello".into(),
            confirmation: String::new(),
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::DeadlineExceeded, "LLM_TIMEOUT");

    // A write planned, then the LLM fails: no plan is answered, nothing is written.
    let halfway = ScriptedLlm::start(vec![calls(vec![(
        "register_model",
        registration("qoe-predictor"),
    )])])
    .await;
    let server = server_for(&halfway, 0, 10 * second).await;
    let answer = ask(&Rest::of(&server), "register qoe-predictor").await;
    assert_problem(&answer, 502, "LLM_FAILED");
    assert!(model_names(&server).await.is_empty());
    assert!(events(&server).await.is_empty());
}
