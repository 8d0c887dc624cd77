//! Who is calling, as clients see it: bearer tokens of the consumers file (changed while the
//! server runs), JWTs signed with RS256, ES256 and EdDSA keys made here and published as a JWKS
//! file or over HTTP, `modelreg tokens new` run for real, and the open health and reflection
//! services. A Get of a registration that does not exist answers NOT_FOUND once past
//! authentication; that is how the tests tell "let in" from "refused".

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use modelreg::ServeConfig;
use modelreg::pb::{
    GetModelRegistrationRequest, model_registration_service_client::ModelRegistrationServiceClient,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::common::signing::{self, AUDIENCE, ISSUER, JwksServer, SigningKey, claims};
use crate::common::{Backend, TestServer, assert_error, plain_async};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    plain_async!(
        a_call_without_credentials_is_unauthenticated,
        unknown_tokens_and_other_schemes_are_invalid,
        a_consumer_token_gets_past_authentication,
        health_and_reflection_need_no_token,
        a_changed_consumers_file_is_picked_up_while_serving,
        jwts_signed_with_each_algorithm_are_accepted,
        expired_misaddressed_and_forged_jwts_are_refused,
        a_jwks_url_is_fetched_again_for_a_new_key_at_most_once_per_interval,
        an_unreachable_jwks_url_answers_unavailable,
        a_token_from_tokens_new_is_accepted,
    )
}

/// A Get of a registration that does not exist, with this `authorization` header.
async fn get(server: &TestServer, authorization: Option<String>) -> tonic::Status {
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .expect("connect to the server");
    let mut client = ModelRegistrationServiceClient::with_interceptor(
        channel,
        move |mut request: tonic::Request<()>| {
            if let Some(value) = &authorization {
                request
                    .metadata_mut()
                    .insert("authorization", value.parse().unwrap());
            }
            Ok(request)
        },
    );
    client
        .get_model_registration(GetModelRegistrationRequest {
            model_registration_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .expect_err("no such registration exists")
}

async fn get_with_token(server: &TestServer, token: &str) -> tonic::Status {
    get(server, Some(format!("Bearer {token}"))).await
}

fn assert_let_in(status: &tonic::Status) {
    assert_error(
        status,
        tonic::Code::NotFound,
        "MODEL_REGISTRATION_NOT_FOUND",
    );
}

fn assert_refused(status: &tonic::Status, reason: &str) {
    assert_error(status, tonic::Code::Unauthenticated, reason);
}

/// A consumers file of (name, token, role) entries.
fn consumers_toml(consumers: &[(&str, &str, &str)]) -> String {
    consumers
        .iter()
        .map(|(name, token, role)| {
            let digest = hex::encode(Sha256::digest(token.as_bytes()));
            format!(
                "[[consumer]]\nname = \"{name}\"\ntoken_sha256 = \"{digest}\"\nrole = \"{role}\"\n"
            )
        })
        .collect()
}

fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

async fn server_with_consumers(consumers: &str, dir: &Path) -> TestServer {
    let path = write_file(dir, "consumers.toml", consumers);
    TestServer::start_with(Backend::Sqlite, |config| {
        config.auth.auth_tokens = Some(path);
        config.auth.auth_reload_interval = Duration::from_millis(50);
    })
    .await
}

fn trust_jwks(config: &mut ServeConfig, location: String) {
    config.auth.auth_jwks = Some(location);
    config.auth.auth_issuer = Some(ISSUER.into());
    config.auth.auth_audience = Some(AUDIENCE.into());
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

async fn jwts_signed_with_each_algorithm_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<SigningKey> = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
        .into_iter()
        .enumerate()
        .map(|(i, algorithm)| SigningKey::new(algorithm, &format!("key-{i}")))
        .collect();
    let jwks = write_file(
        dir.path(),
        "jwks.json",
        &signing::jwks(&keys.iter().collect::<Vec<_>>()),
    );
    let consumers = write_file(
        dir.path(),
        "consumers.toml",
        &consumers_toml(&[("ci", "t0ken", "reader")]),
    );
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        trust_jwks(config, jwks.to_str().unwrap().into());
        config.auth.auth_tokens = Some(consumers);
    })
    .await;
    for key in &keys {
        let token = key.sign(&claims("training-manager"));
        let status = get_with_token(&server, &token).await;
        assert_eq!(
            status.code(),
            tonic::Code::NotFound,
            "{:?}: {status:?}",
            key.algorithm
        );
        // Again, from the cache of verified tokens.
        assert_let_in(&get_with_token(&server, &token).await);
    }
    // Opaque tokens still go to the consumers file.
    assert_let_in(&get_with_token(&server, "t0ken").await);
    server.stop().await;
}

async fn expired_misaddressed_and_forged_jwts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::new(Algorithm::ES256, "es");
    let jwks = write_file(dir.path(), "jwks.json", &signing::jwks(&[&key]));
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        trust_jwks(config, jwks.to_str().unwrap().into());
    })
    .await;
    let with = |field: &str, value: serde_json::Value| {
        let mut claims = claims("alice");
        claims[field] = value;
        key.sign(&claims)
    };
    let expired = with("exp", json!(jsonwebtoken::get_current_timestamp() - 3600));
    assert_refused(&get_with_token(&server, &expired).await, "TOKEN_EXPIRED");
    let elsewhere = with("aud", json!("another-service"));
    assert_refused(
        &get_with_token(&server, &elsewhere).await,
        "TOKEN_AUDIENCE_MISMATCH",
    );
    let foreign = with("iss", json!("https://impostor.example"));
    assert_refused(
        &get_with_token(&server, &foreign).await,
        "TOKEN_ISSUER_MISMATCH",
    );
    let forged = SigningKey::new(Algorithm::ES256, "other").sign_as("es", &claims("alice"));
    assert_refused(
        &get_with_token(&server, &forged).await,
        "CREDENTIALS_INVALID",
    );
    let roleless = with("role", json!(null));
    assert_refused(
        &get_with_token(&server, &roleless).await,
        "CREDENTIALS_INVALID",
    );
    assert_refused(&get(&server, None).await, "CREDENTIALS_MISSING");
    server.stop().await;
}

async fn a_jwks_url_is_fetched_again_for_a_new_key_at_most_once_per_interval() {
    const INTERVAL: Duration = Duration::from_secs(1);
    let old = SigningKey::new(Algorithm::RS256, "2025");
    let new = SigningKey::new(Algorithm::EdDSA, "2026");
    let jwks = JwksServer::start(signing::jwks(&[&old])).await;
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        trust_jwks(config, jwks.url.clone());
        config.auth.auth_jwks_refresh_min_interval = INTERVAL;
    })
    .await;
    assert_eq!(jwks.requests(), 1, "fetched at start");
    assert_let_in(&get_with_token(&server, &old.sign(&claims("a"))).await);
    assert_eq!(jwks.requests(), 1, "a known key needs no fetch");

    // The provider rotates its keys; the first token of the new key makes the server look.
    jwks.publish(signing::jwks(&[&old, &new]));
    tokio::time::sleep(INTERVAL).await;
    assert_let_in(&get_with_token(&server, &new.sign(&claims("b"))).await);
    assert_eq!(jwks.requests(), 2);

    // A flood of unknown kids: at most one fetch per interval, however many calls.
    let started = Instant::now();
    for round in 0..3 {
        let calls = (0..20).map(|i| {
            let token = new.sign_as(&format!("unknown-{round}-{i}"), &claims("c"));
            let server = &server;
            async move { get_with_token(server, &token).await }
        });
        for status in futures::future::join_all(calls).await {
            assert_refused(&status, "CREDENTIALS_INVALID");
        }
        tokio::time::sleep(INTERVAL / 2).await;
    }
    let intervals = started.elapsed().as_secs_f64() / INTERVAL.as_secs_f64();
    let fetches = jwks.requests() - 2;
    assert!(
        fetches as f64 <= intervals.ceil(),
        "{fetches} fetches in {intervals:.1} intervals"
    );
    assert!(
        fetches >= 1,
        "an unknown kid after the interval is looked up"
    );
    server.stop().await;
}

async fn an_unreachable_jwks_url_answers_unavailable() {
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let key = SigningKey::new(Algorithm::EdDSA, "k");
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        trust_jwks(config, format!("http://{closed}/jwks.json"));
        config.auth.auth_jwks_refresh_min_interval = Duration::ZERO;
    })
    .await;
    let status = get_with_token(&server, &key.sign(&claims("a"))).await;
    assert_error(
        &status,
        tonic::Code::Unavailable,
        "AUTHENTICATION_UNAVAILABLE",
    );
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
