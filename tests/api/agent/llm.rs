//! A scripted OpenAI-compatible chat-completions server: real HTTP on 127.0.0.1:0, real
//! chat-completion JSON, and tool calls decided by the test. Every request is kept, so that a
//! test can read what the agent sent (the messages, the tools offered).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// What the scripted LLM answers to one request.
pub(crate) enum Reply {
    /// Calls these tools: (name, arguments as JSON text).
    Calls(Vec<(&'static str, String)>),
    /// The final answer.
    Text(String),
    /// An HTTP error with an OpenAI error body.
    Status(u16),
    /// Answers `reply` after `delay`.
    Late(Duration, Box<Reply>),
    /// A 200 whose body is not a chat completion.
    Garbage,
}

/// Decides a reply from the request the agent sent.
pub(crate) type Turn = Box<dyn Fn(&Value) -> Reply + Send + Sync>;

pub(crate) fn calls(calls: Vec<(&'static str, Value)>) -> Turn {
    let calls: Vec<(&'static str, String)> = calls
        .into_iter()
        .map(|(name, arguments)| (name, arguments.to_string()))
        .collect();
    Box::new(move |_| Reply::Calls(calls.clone()))
}

pub(crate) fn text(answer: &str) -> Turn {
    let answer = answer.to_owned();
    Box::new(move |_| Reply::Text(answer.clone()))
}

#[derive(Clone)]
struct Script {
    turns: Arc<Vec<Turn>>,
    /// The reply after the last turn (default: 500).
    then: Arc<Option<Turn>>,
    requests: Arc<Mutex<Vec<Value>>>,
    authorizations: Arc<Mutex<Vec<String>>>,
}

pub(crate) struct ScriptedLlm {
    /// The API's base URL, as `--llm-base-url` takes it.
    pub(crate) base_url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    /// The `Authorization` header of each request ("" without one).
    authorizations: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl ScriptedLlm {
    pub(crate) async fn start(turns: Vec<Turn>) -> Self {
        Self::start_then(turns, None).await
    }

    /// `turns` in order, then `then` for every request after them.
    pub(crate) async fn start_then(turns: Vec<Turn>, then: Option<Turn>) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let script = Script {
            turns: Arc::new(turns),
            then: Arc::new(then),
            requests: requests.clone(),
            authorizations: authorizations.clone(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(script);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            requests,
            authorizations,
            task,
        }
    }

    /// Every request received, in order.
    pub(crate) fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// The `Authorization` header of every request received, in order.
    pub(crate) fn authorizations(&self) -> Vec<String> {
        self.authorizations.lock().unwrap().clone()
    }
}

impl Drop for ScriptedLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn complete(State(script): State<Script>, headers: HeaderMap, body: String) -> Response {
    let request: Value = serde_json::from_str(&body).expect("the agent sends JSON");
    let authorization = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    script
        .authorizations
        .lock()
        .unwrap()
        .push(authorization.to_owned());
    let index = {
        let mut requests = script.requests.lock().unwrap();
        requests.push(request.clone());
        requests.len() - 1
    };
    let reply = match (script.turns.get(index), script.then.as_ref()) {
        (Some(turn), _) => turn(&request),
        (None, Some(then)) => then(&request),
        (None, None) => Reply::Status(500),
    };
    respond(reply, index).await
}

async fn respond(reply: Reply, index: usize) -> Response {
    let mut reply = reply;
    while let Reply::Late(delay, later) = reply {
        tokio::time::sleep(delay).await;
        reply = *later;
    }
    let message = match reply {
        Reply::Calls(calls) => json!({
            "role": "assistant",
            "content": null,
            "tool_calls": calls.iter().enumerate().map(|(n, (name, arguments))| json!({
                "id": format!("call_{index}_{n}"),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            })).collect::<Vec<_>>(),
        }),
        Reply::Text(text) => json!({"role": "assistant", "content": text}),
        Reply::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap();
            let body = json!({"error": {
                "message": "scripted failure", "type": "server_error", "param": null, "code": null,
            }});
            return (status, axum::Json(body)).into_response();
        }
        Reply::Garbage => return (StatusCode::OK, "<html>proxy error</html>").into_response(),
        Reply::Late(..) => unreachable!("resolved above"),
    };
    let finish = if message.get("tool_calls").is_some() {
        "tool_calls"
    } else {
        "stop"
    };
    axum::Json(json!({
        "id": format!("chatcmpl-{index}"),
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }))
    .into_response()
}

/// The tool messages of a request the agent sent: (tool_call_id, content).
pub(crate) fn tool_messages(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| message["role"] == "tool")
        .map(|message| message["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The JSON a tool message carries (after the agent's line that marks it as data).
pub(crate) fn tool_data(content: &str) -> Value {
    let json = content
        .split_once('\n')
        .map_or(content, |(_, rest)| rest)
        .lines()
        .next()
        .unwrap_or_default();
    serde_json::from_str(json).unwrap_or(Value::Null)
}
