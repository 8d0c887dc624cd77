//! Streams end when their credentials do: a WatchModels or Server-Sent Events stream whose
//! consumer is removed from the consumers file, whose JWT expires or whose role changes ends
//! within `--auth-reload-interval` plus `--auth-stream-check-interval`; and every stream ends at
//! its connection's maximum age or the longest deadline, with a reason to resume.

use std::path::Path;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, get_current_timestamp};
use modelreg::ServeConfig;
use modelreg::pb::{self, WatchModelsRequest};
use tonic::Streaming;
use tonic::metadata::MetadataValue;

use crate::common::credentials::{consumers_toml, write_file};
use crate::common::signing::{self, SigningKey, claims};
use crate::common::watch_command::WatchCommand;
use crate::common::{Backend, TestServer, assert_error, model, plain_async};
use crate::jwt::trust_jwks;
use crate::rest::Rest;
use crate::rest::events::EventStream;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    plain_async!(
        streams_end_when_their_consumer_is_removed_or_its_role_changes,
        a_stream_ends_when_its_jwt_expires,
        streams_end_at_the_connection_age_and_the_longest_deadline,
        the_cli_watch_resumes_after_each_stream_lifetime,
    )
}

/// How often the test servers read their files and check their streams' credentials.
const CHECKS: Duration = Duration::from_millis(200);

/// The latest a stream may end after its credentials do, here: a file check, a stream check,
/// and room for a busy machine.
const BOUND: Duration = Duration::from_secs(5);

async fn watch(server: &TestServer, token: &str) -> Streaming<pb::WatchModelsResponse> {
    let mut request = tonic::Request::new(WatchModelsRequest::default());
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    server
        .events
        .clone()
        .watch_models(request)
        .await
        .expect("the watch starts")
        .into_inner()
}

/// Reads the stream to its end; returns how it ended.
async fn ended(stream: &mut Streaming<pb::WatchModelsResponse>) -> tonic::Status {
    let deadline = Instant::now() + BOUND + Duration::from_secs(5);
    loop {
        let next = tokio::time::timeout_at(deadline.into(), stream.message())
            .await
            .expect("the stream ends in time");
        match next {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => return status,
        }
    }
}

/// Reads the event stream to its end; returns the data of its last `error` event.
async fn sse_ended(stream: &mut EventStream) -> serde_json::Value {
    let mut last_error = None;
    while let Some(sse) = stream.next_or_end().await {
        if sse.event == "error" {
            last_error = Some(sse.data);
        }
    }
    last_error.expect("the server said why it ended the stream")
}

fn configure_checks(config: &mut ServeConfig, consumers: &Path) {
    config.auth.auth_tokens = Some(consumers.to_owned());
    config.auth.auth_reload_interval = CHECKS;
    config.auth.auth_stream_check_interval = CHECKS;
}

async fn streams_end_when_their_consumer_is_removed_or_its_role_changes() {
    let dir = tempfile::tempdir().unwrap();
    let consumers = write_file(
        dir.path(),
        "consumers.toml",
        &consumers_toml(&[
            ("revoked", "revoked-token", "reader"),
            ("promoted", "promoted-token", "reader"),
            ("kept", "kept-token", "reader"),
        ]),
    );
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        configure_checks(config, &consumers)
    })
    .await;
    let mut revoked = watch(&server, "revoked-token").await;
    let mut promoted = watch(&server, "promoted-token").await;
    let mut kept = watch(&server, "kept-token").await;
    let rest = Rest::of(&server).with_token("revoked-token");
    let mut revoked_sse = EventStream::open(&rest, "", None).await;
    let promoted_rest = Rest::of(&server).with_token("promoted-token");
    let mut promoted_sse = EventStream::open(&promoted_rest, "", None).await;

    let changed = Instant::now();
    write_file(
        dir.path(),
        "consumers.toml",
        &consumers_toml(&[
            ("promoted", "promoted-token", "writer"),
            ("kept", "kept-token", "reader"),
        ]),
    );
    let status = ended(&mut revoked).await;
    assert_error(&status, tonic::Code::Unauthenticated, "CREDENTIALS_INVALID");
    assert!(
        changed.elapsed() < BOUND,
        "ended after {:?}",
        changed.elapsed()
    );

    let status = ended(&mut promoted).await;
    let details = assert_error(&status, tonic::Code::Unavailable, "CREDENTIALS_CHANGED");
    assert!(
        details
            .error_info()
            .unwrap()
            .metadata
            .contains_key("last_sequence"),
        "{status:?}"
    );

    let error = sse_ended(&mut revoked_sse).await;
    assert_eq!(error["reason"], "CREDENTIALS_INVALID", "{error}");
    let error = sse_ended(&mut promoted_sse).await;
    assert_eq!(error["reason"], "CREDENTIALS_CHANGED", "{error}");
    assert!(
        changed.elapsed() < BOUND,
        "ended after {:?}",
        changed.elapsed()
    );

    // A consumer whose entry did not change keeps its stream.
    let still = tokio::time::timeout(Duration::from_millis(600), kept.message()).await;
    assert!(
        still.is_err() || matches!(still, Ok(Ok(Some(_)))),
        "the unchanged consumer's stream ended: {still:?}"
    );
    // The new role counts for a new stream.
    let _ = watch(&server, "promoted-token").await;
    server.stop().await;
}

async fn a_stream_ends_when_its_jwt_expires() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::new(Algorithm::ES256, "idp");
    let jwks = write_file(dir.path(), "jwks.json", &signing::jwks(&[&key]));
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        trust_jwks(config, jwks.display().to_string());
        config.auth.auth_leeway = Duration::ZERO;
        config.auth.auth_stream_check_interval = CHECKS;
    })
    .await;
    let mut short_lived = claims("short-lived");
    let expiry = get_current_timestamp() + 2;
    short_lived["exp"] = expiry.into();
    let token = key.sign(&short_lived);
    let mut stream = watch(&server, &token).await;
    let rest = Rest::of(&server).with_token(&token);
    let mut sse = EventStream::open(&rest, "", None).await;

    let status = ended(&mut stream).await;
    assert_error(&status, tonic::Code::Unauthenticated, "TOKEN_EXPIRED");
    let now = get_current_timestamp();
    assert!(now >= expiry, "ended before the token expired");
    assert!(
        now < expiry + BOUND.as_secs(),
        "ended {}s after expiry",
        now - expiry
    );
    let error = sse_ended(&mut sse).await;
    assert_eq!(error["reason"], "TOKEN_EXPIRED", "{error}");
    server.stop().await;
}

async fn streams_end_at_the_connection_age_and_the_longest_deadline() {
    for (limit, set) in [
        (
            "--max-connection-age",
            (|config: &mut ServeConfig| config.limits.max_connection_age = Duration::from_secs(1))
                as fn(&mut ServeConfig),
        ),
        ("--max-deadline", |config: &mut ServeConfig| {
            config.limits.max_deadline = Duration::from_secs(1)
        }),
    ] {
        let server = TestServer::start_with(Backend::Sqlite, set).await;
        let started = Instant::now();
        let mut stream = server
            .events
            .clone()
            .watch_models(WatchModelsRequest::default())
            .await
            .expect("the watch starts")
            .into_inner();
        let mut sse = EventStream::open(&Rest::of(&server), "", None).await;
        let status = ended(&mut stream).await;
        let details = assert_error(&status, tonic::Code::Unavailable, "STREAM_LIFETIME_REACHED");
        assert!(
            details
                .error_info()
                .unwrap()
                .metadata
                .contains_key("last_sequence"),
            "{limit}: {status:?}"
        );
        assert!(
            started.elapsed() < BOUND,
            "{limit}: ended after {:?}",
            started.elapsed()
        );
        let error = sse_ended(&mut sse).await;
        assert_eq!(
            error["reason"], "STREAM_LIFETIME_REACHED",
            "{limit}: {error}"
        );
        assert!(
            started.elapsed() < BOUND,
            "{limit}: the event stream ended after {:?}",
            started.elapsed()
        );
        server.stop().await;
    }
}

/// `modelreg models watch` against a server whose streams last a second: every change is
/// printed once, in order, across the ends of the streams.
async fn the_cli_watch_resumes_after_each_stream_lifetime() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.limits.max_deadline = Duration::from_secs(1);
    })
    .await;
    let register = |name: &'static str| {
        let mut client = server.registration.clone();
        async move {
            client
                .register_model(pb::RegisterModelRequest {
                    model_related_information: Some(model(name, "1", 1)),
                    request_id: String::new(),
                })
                .await
                .expect("register");
        }
    };
    register("zero").await;
    let mut watch = WatchCommand::start(&server.url, "-o json --initial");
    let initial = watch.events(1).await.remove(0);
    assert!(initial.initial, "{initial:?}");
    let mut printed = Vec::new();
    for name in ["first", "second", "third"] {
        register(name).await;
        let event = watch.events(1).await.remove(0);
        printed.push(event.model_id.unwrap().model_name);
        // The stream reaches its longest life, and the watch resumes.
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    assert_eq!(printed, ["first", "second", "third"]);
    let notes = watch.stderr();
    assert!(notes.contains("longest life"), "{notes}");
    assert!(notes.matches("reconnected").count() >= 2, "{notes}");
    assert!(watch.interrupt().await.success());
    server.stop().await;
}
