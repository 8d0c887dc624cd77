//! `modelreg models list --filter/--order-by`, `models alias set|delete`, `--label` and
//! `models get --name … --alias …`, run as a user runs them.

use modelreg::client::cli::json;
use modelreg::pb;

use crate::cli::{modelreg, run, stderr_of_failure, stdout};
use crate::common::{Backend, TestServer, model, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(labels_aliases_filters_and_orders_from_the_command_line)
}

fn parse_model(text: &str) -> pb::ModelRelatedInformation {
    json::from_json(text, json::MODEL).unwrap_or_else(|err| panic!("{err}: {text}"))
}

fn names_versions(text: &str) -> Vec<String> {
    let listed: pb::ListModelsResponse =
        json::from_json(text, json::LIST_MODELS).unwrap_or_else(|err| panic!("{err}: {text}"));
    listed
        .models
        .iter()
        .map(|m| {
            let id = m.model_id.as_ref().unwrap();
            format!("{} {}", id.model_name, id.model_version)
        })
        .collect()
}

async fn labels_aliases_filters_and_orders_from_the_command_line(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dir = tempfile::tempdir().unwrap();
    for version in ["1", "2"] {
        let path = dir.path().join(format!("{version}.json"));
        let body = json::to_json(&model("qoe", version, 1), json::MODEL);
        std::fs::write(&path, body).unwrap();
        let mut register = modelreg(&server);
        register
            .args(["models", "register", "-f"])
            .arg(&path)
            .args([
                "--label",
                "team=ran",
                "--label",
                &format!("build={version}"),
            ]);
        let table = stdout(&run(register).await);
        assert!(table.contains("team=ran"), "{table}");
    }

    // Labels are set and removed one at a time.
    let id = server.list(Default::default()).await.unwrap().models[0]
        .model_registration_id
        .clone();
    let mut update = modelreg(&server);
    update.args([
        "models",
        "update",
        &id,
        "--label",
        "stage=canary",
        "--remove-label",
        "build",
        "-o",
        "json",
    ]);
    let updated = parse_model(&stdout(&run(update).await));
    let labels: Vec<(&str, &str)> = updated
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(labels, [("stage", "canary"), ("team", "ran")]);

    // An alias, and a read by it.
    let mut set = modelreg(&server);
    set.args([
        "models",
        "alias",
        "set",
        "qoe",
        "production",
        "2",
        "-o",
        "json",
    ]);
    let named = parse_model(&stdout(&run(set).await));
    assert_eq!(named.aliases, ["production"]);
    let mut get = modelreg(&server);
    get.args([
        "models",
        "get",
        "--name",
        "qoe",
        "--alias",
        "production",
        "-o",
        "json",
    ]);
    let found = parse_model(&stdout(&run(get).await));
    assert_eq!(found.model_id.unwrap().model_version, "2");

    // Filters and orders.
    let list = |filter: &str, order_by: &str| {
        let mut list = modelreg(&server);
        list.args(["models", "list", "--filter", filter, "-o", "json"]);
        if !order_by.is_empty() {
            list.args(["--order-by", order_by]);
        }
        list
    };
    let found = stdout(&run(list("aliases:\"production\"", "")).await);
    assert_eq!(names_versions(&found), ["qoe 2"]);
    let found = stdout(&run(list("labels.team = \"ran\"", "create_time desc")).await);
    assert_eq!(names_versions(&found), ["qoe 2", "qoe 1"]);
    let error = stderr_of_failure(&run(list("labels.team = ", "")).await);
    assert!(error.starts_with("error: INVALID_ARGUMENT: "), "{error}");
    assert!(error.contains("filter: at character"), "{error}");

    let mut delete = modelreg(&server);
    delete.args(["models", "alias", "delete", "qoe", "production"]);
    assert_eq!(stdout(&run(delete).await), "deleted qoe@production\n");
    let mut gone = modelreg(&server);
    gone.args(["models", "get", "--name", "qoe", "--alias", "production"]);
    let error = stderr_of_failure(&run(gone).await);
    assert!(error.starts_with("error: NOT_FOUND: "), "{error}");
    server.stop().await;
}
