//! Who is calling, as clients see it, with bearer tokens of the consumers file: missing,
//! unknown and malformed credentials, the file changed while the server runs, a token made by
//! the real `modelreg tokens new`, and the health and reflection services that stay open.

use std::path::Path;
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::common::credentials::{
    assert_let_in, assert_refused, consumers_toml, get, get_with_token, write_file,
};
use crate::common::process::Serve;
use crate::common::{Backend, TestServer, plain_async};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    plain_async!(
        a_call_without_credentials_is_unauthenticated,
        unknown_tokens_and_other_schemes_are_invalid,
        a_consumer_token_gets_past_authentication,
        health_and_reflection_need_no_token,
        a_changed_consumers_file_is_picked_up_while_serving,
        a_token_from_tokens_new_is_accepted,
        the_log_names_the_principal_and_never_the_token,
    )
}

async fn server_with_consumers(consumers: &str, dir: &Path) -> TestServer {
    let path = write_file(dir, "consumers.toml", consumers);
    TestServer::start_with(Backend::Sqlite, |config| {
        config.auth.auth_tokens = Some(path);
        config.auth.auth_reload_interval = Duration::from_millis(50);
    })
    .await
}

async fn a_call_without_credentials_is_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        server_with_consumers(&consumers_toml(&[("ci", "t0ken", "reader")]), dir.path()).await;
    assert_refused(&get(&server, None).await, "CREDENTIALS_MISSING");
    server.stop().await;
}

async fn unknown_tokens_and_other_schemes_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        server_with_consumers(&consumers_toml(&[("ci", "t0ken", "reader")]), dir.path()).await;
    assert_refused(
        &get_with_token(&server, "t0ken-not").await,
        "CREDENTIALS_INVALID",
    );
    assert_refused(
        &get(&server, Some("Basic Y2k6dDBrZW4=".into())).await,
        "CREDENTIALS_INVALID",
    );
    assert_refused(
        &get(&server, Some("Bearer".into())).await,
        "CREDENTIALS_INVALID",
    );
    // A JWT-shaped token goes to the consumers file when no JWKS is configured.
    assert_refused(
        &get_with_token(&server, "a.b.c").await,
        "CREDENTIALS_INVALID",
    );
    server.stop().await;
}

async fn a_consumer_token_gets_past_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_consumers(
        &consumers_toml(&[("ci", "t0ken", "reader"), ("ops", "0ther", "admin")]),
        dir.path(),
    )
    .await;
    assert_let_in(&get_with_token(&server, "t0ken").await);
    assert_let_in(&get_with_token(&server, "0ther").await);
    server.stop().await;
}

async fn health_and_reflection_need_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        server_with_consumers(&consumers_toml(&[("ci", "t0ken", "reader")]), dir.path()).await;
    let health = server
        .health
        .clone()
        .check(HealthCheckRequest::default())
        .await
        .expect("health answers without a token");
    assert_eq!(health.into_inner().status, 1, "SERVING");

    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers without a token")
        .into_inner();
    let answer = answers.message().await.unwrap().expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a list of services: {answer:?}");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "modelregistry.v1.ModelRegistrationService")
    );
    server.stop().await;
}

/// Polls `check` until it holds, for at most 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_changed_consumers_file_is_picked_up_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_consumers(
        &consumers_toml(&[("old", "old-token", "reader")]),
        dir.path(),
    )
    .await;
    assert_let_in(&get_with_token(&server, "old-token").await);

    write_file(
        dir.path(),
        "consumers.toml",
        &consumers_toml(&[("new", "new-token", "writer")]),
    );
    eventually("the new consumer's admission", || async {
        get_with_token(&server, "new-token").await.code() == tonic::Code::NotFound
    })
    .await;
    assert_refused(
        &get_with_token(&server, "old-token").await,
        "CREDENTIALS_INVALID",
    );

    // A broken version keeps the one in force.
    write_file(
        dir.path(),
        "consumers.toml",
        "[[consumer]]\nname = \"x\"\nrole = \"owner\"\n",
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_let_in(&get_with_token(&server, "new-token").await);
    server.stop().await;
}

async fn a_token_from_tokens_new_is_accepted() {
    let run = |args: &[&str]| {
        let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_modelreg"));
        command
            .arg("tokens")
            .arg("new")
            .args(args)
            .env_remove("RUST_LOG");
        command.output().expect("run modelreg")
    };
    let output =
        tokio::task::block_in_place(|| run(&["ci-bot", "--role", "reader", "--scope", "qoe-*"]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    let token = printed.lines().next().unwrap().trim().to_owned();
    let entry = &printed[printed.find("[[consumer]]").expect("a consumer entry")..];
    assert!(
        !entry.contains(&token),
        "the entry holds the hash only:\n{printed}"
    );

    let dir = tempfile::tempdir().unwrap();
    let server = server_with_consumers(entry, dir.path()).await;
    assert_let_in(&get_with_token(&server, &token).await);
    server.stop().await;

    let refused = tokio::task::block_in_place(|| run(&["ci-bot", "--role", "owner"]));
    assert!(!refused.status.success());
    let message = String::from_utf8(refused.stderr).unwrap();
    assert!(
        message.contains("role") && message.contains("owner"),
        "{message}"
    );
}

/// The real binary, logging at debug level: each call's span names its principal; neither a
/// valid token nor a refused one appears anywhere in the log.
async fn the_log_names_the_principal_and_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let valid = "the-valid-token-that-must-not-be-logged";
    let unknown = "the-unknown-token-that-must-not-be-logged";
    let consumers = write_file(
        dir.path(),
        "consumers.toml",
        &consumers_toml(&[("log-reader", valid, "reader")]),
    );
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let artifacts = url::Url::from_directory_path(dir.path().join("artifacts")).unwrap();
    let log = dir.path().join("server.log");
    let mut server = Serve::new()
        .args([
            "--database-url",
            &database,
            "--artifact-store",
            artifacts.as_str(),
        ])
        .args(["--auth-tokens", consumers.to_str().unwrap()])
        .env("RUST_LOG", "info,modelreg=debug")
        .log_to(std::fs::File::create(&log).unwrap())
        .start()
        .await;
    let call = |token: &'static str| {
        let url = server.url();
        async move {
            let channel = Channel::from_shared(url).unwrap().connect_lazy();
            let mut request = tonic::Request::new(modelreg::pb::ListModelsRequest::default());
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            modelreg::pb::model_discovery_service_client::ModelDiscoveryServiceClient::new(channel)
                .list_models(request)
                .await
        }
    };
    call(valid).await.expect("the consumer lists");
    let refused = call(unknown).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    server.terminate();
    server
        .wait(Duration::from_secs(30))
        .await
        .expect("modelreg stops");
    drop(server);

    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("principal=log-reader"),
        "no span names the principal:\n{logged}"
    );
    for secret in [valid, unknown] {
        assert!(!logged.contains(secret), "a token was logged:\n{logged}");
    }
}
