//! Who is calling, with JWTs: tokens signed with RS256, ES256 and EdDSA keys made here, their
//! JWKS published as a file or over real HTTP (rotated while the server runs, and unreachable),
//! and every reason a token is refused.

use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use modelreg::ServeConfig;
use serde_json::json;

use crate::common::credentials::{
    assert_let_in, assert_refused, consumers_toml, get, get_with_token, write_file,
};
use crate::common::signing::{self, AUDIENCE, ISSUER, JwksServer, SigningKey, claims};
use crate::common::{Backend, TestServer, assert_error, plain_async};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    plain_async!(
        jwts_signed_with_each_algorithm_are_accepted,
        expired_misaddressed_and_forged_jwts_are_refused,
        a_jwks_url_is_fetched_again_for_a_new_key_at_most_once_per_interval,
        an_unreachable_jwks_url_answers_unavailable,
    )
}

pub(crate) fn trust_jwks(config: &mut ServeConfig, location: String) {
    config.auth.auth_jwks = Some(location);
    config.auth.auth_issuer = Some(ISSUER.into());
    config.auth.auth_audience = Some(AUDIENCE.into());
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
