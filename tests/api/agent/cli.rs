//! `modelreg ask`: the steps as they happen, the answer, and a plan performed with --yes.

use modelreg::AgentMode;
use serde_json::json;

use super::llm::{ScriptedLlm, calls, text};
use super::{events, model_names, registration};
use crate::cli::{modelreg, run, stdout};
use crate::common::{Backend, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(ask_prints_each_step_and_performs_a_plan_with_yes)
}

async fn ask_prints_each_step_and_performs_a_plan_with_yes(backend: Backend) {
    let llm = ScriptedLlm::start(vec![
        calls(vec![("list_models", json!({"modelName": "qoe-predictor"}))]),
        calls(vec![("register_model", registration("qoe-predictor"))]),
        text("qoe-predictor is not registered; I will register version 1."),
    ])
    .await;
    let server = super::server(backend, &llm, AgentMode::ReadWrite).await;

    // Without --yes and without a terminal: the plan is printed, nothing is changed.
    let mut command = modelreg(&server);
    command.args(["ask", "register qoe-predictor version 1 for kserve"]);
    let printed = stdout(&run(command).await);
    assert!(printed.contains("→ list_models"), "{printed}");
    assert!(printed.contains("→ register_model"), "{printed}");
    assert!(printed.contains("planned"), "{printed}");
    assert!(printed.contains("I will register version 1"), "{printed}");
    assert!(printed.contains("modelreg ask --confirm "), "{printed}");
    assert!(model_names(&server).await.is_empty());

    // The printed command performs it.
    let token = printed
        .split("modelreg ask --confirm ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let mut command = modelreg(&server);
    command.args(["ask", "--confirm", &token]);
    let printed = stdout(&run(command).await);
    assert!(printed.contains("→ register_model"), "{printed}");
    assert!(printed.contains("1 of 1"), "{printed}");
    assert_eq!(model_names(&server).await, ["qoe-predictor"]);
    assert_eq!(events(&server).await[0].via, "agent");

    // --yes performs the plan at once; -o json prints every step as proto3 JSON.
    let llm = ScriptedLlm::start(vec![
        calls(vec![("register_model", registration("energy-saver"))]),
        text("Registering energy-saver."),
    ])
    .await;
    let server = super::server(Backend::Sqlite, &llm, AgentMode::ReadWrite).await;
    let mut command = modelreg(&server);
    command.args(["ask", "--yes", "register energy-saver"]);
    let printed = stdout(&run(command).await);
    assert!(printed.contains("Registering energy-saver."), "{printed}");
    assert!(printed.contains("1 of 1"), "{printed}");
    assert_eq!(model_names(&server).await, ["energy-saver"]);
}
