//! Writes: planned by the agent, performed only with the caller's confirmation, exactly as
//! planned, under the caller's role, and recorded with `via: agent`.

use modelreg::AgentMode;
use modelreg::pb;
use serde_json::{Value, json};
use tonic::Code;

use super::llm::{Reply, ScriptedLlm, Turn, calls, text};
use super::{GENERATE, actions, ask, consumers, events, grpc, model_names, registration};
use crate::common::{Backend, assert_error, model, on_every_backend};
use crate::rest::{Rest, assert_problem};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        a_registration_is_planned_and_made_only_when_confirmed,
        a_confirmed_update_applies_only_to_the_model_as_planned,
        a_reader_asking_for_a_write_is_denied_and_nothing_changes,
    )
}

async fn confirm(rest: &Rest, token: &str) -> crate::rest::Answer {
    rest.post(GENERATE, &json!({"confirmation": token})).await
}

async fn a_registration_is_planned_and_made_only_when_confirmed(backend: Backend) {
    let llm = ScriptedLlm::start(vec![
        calls(vec![("register_model", registration("qoe-predictor"))]),
        text("I will register qoe-predictor version 1 for kserve with onnx."),
    ])
    .await;
    let server = super::server(backend, &llm, AgentMode::ReadWrite).await;
    let rest = Rest::of(&server);
    let answer = ask(
        &rest,
        "register qoe-predictor version 1 for kserve with onnx",
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    let planned = actions(&body);
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0]["outcome"], "planned");
    let plan = &body["response"]["plan"];
    assert_eq!(plan["actions"][0]["tool"], "register_model");
    // The plan is pinned to a request id: confirming twice registers once.
    let arguments: Value =
        serde_json::from_str(plan["actions"][0]["arguments"].as_str().unwrap()).unwrap();
    assert!(!arguments["requestId"].as_str().unwrap().is_empty());
    assert!(plan["expireTime"].as_str().unwrap().ends_with('Z'));
    let token = plan["confirmationToken"].as_str().unwrap().to_owned();
    // Nothing is written before the confirmation.
    assert!(model_names(&server).await.is_empty());
    assert!(events(&server).await.is_empty());

    // Confirmed over gRPC: performed, without asking the LLM again.
    let done = grpc(&server, None)
        .await
        .generate_content(pb::GenerateContentRequest {
            text: String::new(),
            confirmation: token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.actions.len(), 1);
    assert_eq!(done.actions[0].outcome, "ok");
    assert!(done.text.contains("1 of 1"), "{}", done.text);
    assert_eq!(llm.requests().len(), 2);
    assert_eq!(model_names(&server).await, ["qoe-predictor"]);
    let registered = &events(&server).await[0];
    assert_eq!(registered.r#type(), pb::EventType::ModelRegistered);
    assert_eq!(registered.actor, "anonymous");
    assert_eq!(registered.via, "agent");

    // Again: the same registration (its request id), no second event.
    let again = confirm(&rest, &token).await;
    assert_eq!(again.status, 200);
    assert_eq!(actions(&again.json())[0]["outcome"], "ok");
    assert_eq!(events(&server).await.len(), 1);

    // An altered token is refused.
    let mut altered = token.into_bytes();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
    let refused = confirm(&rest, &String::from_utf8(altered).unwrap()).await;
    let problem = assert_problem(&refused, 400, "INVALID_ARGUMENT");
    assert_eq!(problem["invalidParams"][0]["param"], "confirmation");
}

async fn a_confirmed_update_applies_only_to_the_model_as_planned(backend: Backend) {
    // As an LLM does: read the model first, then change it by the id it read.
    let update_by_id_read: Turn = Box::new(|request: &Value| {
        let outputs = super::llm::tool_messages(request);
        let read = super::llm::tool_data(&outputs[0]);
        let change = json!({
            "modelRelatedInformation": {
                "modelRegistrationId": read["modelRegistrationId"],
                "description": "from the agent",
            },
            "updateMask": "description",
        });
        Reply::Calls(vec![("update_model", change.to_string())])
    });
    let llm = ScriptedLlm::start(vec![
        calls(vec![(
            "get_model",
            json!({"model": {"modelName": "qoe-predictor", "modelVersion": "1"}}),
        )]),
        update_by_id_read,
        text("I will change the description."),
    ])
    .await;
    let server = super::server(backend, &llm, AgentMode::ReadWrite).await;
    let id = server
        .register(model("qoe-predictor", "1", 1))
        .await
        .unwrap()
        .model_registration_id;
    let rest = Rest::of(&server);
    let body = ask(
        &rest,
        "set the description of qoe-predictor to 'from the agent'",
    )
    .await
    .json();
    let plan = &body["response"]["plan"];
    let arguments: Value =
        serde_json::from_str(plan["actions"][0]["arguments"].as_str().unwrap()).unwrap();
    let current = server.get(&id).await.unwrap();
    // Pinned to the version of the model the plan was made on.
    assert_eq!(arguments["modelRelatedInformation"]["etag"], current.etag);
    // Someone changes the model in between: the plan no longer applies to what was shown.
    let mut edited = current.clone();
    edited.description = "edited by hand".into();
    server.update(edited, &["description"]).await.unwrap();
    let answer = confirm(&rest, plan["confirmationToken"].as_str().unwrap()).await;
    assert_eq!(answer.status, 200);
    let performed = actions(&answer.json());
    assert_eq!(performed[0]["outcome"], "error");
    assert_eq!(performed[0]["reason"], "ETAG_MISMATCH");
    assert_eq!(server.get(&id).await.unwrap().description, "edited by hand");
}

async fn a_reader_asking_for_a_write_is_denied_and_nothing_changes(backend: Backend) {
    let llm = ScriptedLlm::start(vec![
        calls(vec![("register_model", registration("qoe-predictor"))]),
        text("You may not register models."),
        // The writer's turn.
        calls(vec![("register_model", registration("qoe-predictor"))]),
        text("Planned."),
    ])
    .await;
    let mut dir = None;
    let server = super::server_with(backend, &llm, AgentMode::ReadWrite, |config| {
        dir = Some(consumers(config));
    })
    .await;
    let reader = Rest::of(&server).with_token("reader");
    let answer = ask(&reader, "register qoe-predictor version 1").await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    let denied = &actions(&body)[0];
    assert_eq!(denied["outcome"], "error");
    assert_eq!(denied["reason"], "ROLE_TOO_LOW");
    let result: Value = serde_json::from_str(denied["result"].as_str().unwrap()).unwrap();
    assert_eq!(result["error"]["code"], "PERMISSION_DENIED");
    assert!(body["response"].get("plan").is_none());
    // What the LLM read is the core's error, so that it can tell the user.
    let told = super::llm::tool_messages(&llm.requests()[1]);
    assert!(told[0].contains("ROLE_TOO_LOW"), "{}", told[0]);

    // A writer's plan is bound to the writer: the reader cannot confirm it.
    let writer = Rest::of(&server).with_token("writer");
    let planned = ask(&writer, "register qoe-predictor version 1")
        .await
        .json();
    let token = planned["response"]["plan"]["confirmationToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let stolen = confirm(&reader, &token).await;
    let problem = assert_problem(&stolen, 400, "INVALID_ARGUMENT");
    assert!(
        problem["invalidParams"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("another caller")
    );
    let status = grpc(&server, Some("reader"))
        .await
        .generate_content(pb::GenerateContentRequest {
            text: String::new(),
            confirmation: token,
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    let names = writer.get("/ai-ml-model-discovery/v1/models").await.json();
    assert_eq!(names, json!([]));
}
