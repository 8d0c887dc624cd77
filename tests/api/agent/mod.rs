//! The registry's agent against a scripted OpenAI-compatible LLM: questions answered through
//! the registry's operations, writes only as confirmed plans, text read from the registry
//! treated as data, the caller's rights and scopes applied to every tool call, and every
//! failure of the LLM a clear answer with nothing half done. Over REST, gRPC and the CLI.

mod asking;
mod cli;
mod failures;
mod llm;
mod safety;
mod writes;

use modelreg::pb::{self, agent_service_client::AgentServiceClient};
use modelreg::{AgentMode, ServeConfig};
use serde_json::{Value, json};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use crate::common::credentials::write_file;
use crate::common::{Backend, TestServer};
use crate::rest::Rest;
use llm::ScriptedLlm;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    [
        asking::trials(),
        writes::trials(),
        safety::trials(),
        failures::trials(),
        cli::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

const GENERATE: &str = "/experiment/agent/generate-content";
const INFO: &str = "/experiment/agent/modelInfo";

/// A server whose agent asks `llm`, in `mode`.
async fn server(backend: Backend, llm: &ScriptedLlm, mode: AgentMode) -> TestServer {
    server_with(backend, llm, mode, |_| {}).await
}

async fn server_with(
    backend: Backend,
    llm: &ScriptedLlm,
    mode: AgentMode,
    configure: impl FnOnce(&mut ServeConfig),
) -> TestServer {
    let base_url = llm.base_url.clone();
    TestServer::start_with(backend, move |config| {
        config.agent.llm_base_url = Some(base_url);
        config.agent.llm_model = "scripted-model".into();
        config.agent.agent_mode = mode;
        configure(config);
    })
    .await
}

/// Consumers: `reader`, `writer`, and `scoped` (a writer confined to `qoe-*`), each with the
/// token of its name; the file lives as long as the returned directory.
fn consumers(config: &mut ServeConfig) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let digest = |token: &str| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token));
    let mut text = String::new();
    for (name, role, scopes) in [
        ("reader", "reader", None),
        ("writer", "writer", None),
        ("scoped", "writer", Some("[\"qoe-*\"]")),
    ] {
        text.push_str(&format!(
            "[[consumer]]\nname = \"{name}\"\ntoken_sha256 = \"{}\"\nrole = \"{role}\"\n",
            digest(name)
        ));
        if let Some(scopes) = scopes {
            text.push_str(&format!("scopes = {scopes}\n"));
        }
    }
    config.auth.auth_tokens = Some(write_file(dir.path(), "consumers.toml", &text));
    dir
}

/// The gRPC client of the agent, sending `token` as a bearer token when given.
async fn grpc(
    server: &TestServer,
    token: Option<&str>,
) -> AgentServiceClient<
    tonic::service::interceptor::InterceptedService<
        Channel,
        impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone,
    >,
> {
    let channel = Channel::from_shared(server.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let token = token.map(|token| MetadataValue::try_from(format!("Bearer {token}")).unwrap());
    AgentServiceClient::with_interceptor(channel, move |mut request: tonic::Request<()>| {
        if let Some(token) = &token {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    })
}

/// Asks over REST; answers the whole answer.
async fn ask(rest: &Rest, text: &str) -> crate::rest::Answer {
    rest.post(GENERATE, &json!({"text": text})).await
}

/// The actions of a REST answer.
fn actions(answer: &Value) -> Vec<Value> {
    answer["response"]["actions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The events of the log, oldest first (an admin's view: the server has no authentication).
async fn events(server: &TestServer) -> Vec<pb::ModelEvent> {
    server
        .events
        .clone()
        .list_events(pb::ListEventsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
}

/// The names of the models `server` holds.
async fn model_names(server: &TestServer) -> Vec<String> {
    server
        .list(pb::ListModelsRequest::default())
        .await
        .unwrap()
        .models
        .into_iter()
        .map(|model| model.model_id.unwrap().model_name)
        .collect()
}

/// The R1AP registration of `name` version 1 on kserve, as tool arguments.
fn registration(name: &str) -> Value {
    json!({
        "modelRelatedInformation": {
            "modelId": {"modelName": name, "modelVersion": "1"},
            "description": format!("{name}, registered through the agent"),
            "modelInformation": {
                "metadata": {"author": "agent-user"},
                "inputDataType": ["pdcpBytesDl"],
                "outputDataType": ["qoe"],
                "targetEnvironment": [
                    {"platformName": "kserve", "environmentType": "onnx", "dependencyList": "onnxruntime"}
                ]
            }
        }
    })
}
