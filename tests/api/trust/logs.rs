//! What reaches the log: no secret of a URL the configuration holds (user-info, query values),
//! however it is logged; and no identity with control characters is accepted, so that none
//! can forge a log line or an audit record.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::common::certificates::Authority;
use crate::common::credentials::{assert_refused, get_with_token, write_file};
use crate::common::process::Serve;
use crate::common::signing::{self, AUDIENCE, ISSUER, SigningKey, claims};
use crate::common::{Backend, TestServer, plain_async};
use crate::jwt::trust_jwks;
use crate::rest::{Rest, assert_problem};
use crate::tls::ServerFiles;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    plain_async!(
        secrets_of_configured_urls_never_reach_the_log,
        identities_with_control_characters_are_refused,
    )
}

const SECRETS: [&str; 3] = ["pw-SECRET-1", "SECRET-api-key-2", "SECRET-signature-3"];

async fn secrets_of_configured_urls_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let artifacts = url::Url::from_directory_path(dir.path().join("artifacts")).unwrap();
    let mut server = Serve::new()
        .args([
            "--database-url",
            &format!("sqlite://{}/registry.db?mode=rwc", dir.path().display()),
            "--artifact-store",
            &format!("{artifacts}?sig={}", SECRETS[2]),
            // Nothing listens on port 9: every fetch fails, and says so in the log.
            "--auth-jwks",
            &format!(
                "https://jwks-user:{}@127.0.0.1:9/jwks.json?api_key={}",
                SECRETS[0], SECRETS[1]
            ),
            "--auth-issuer",
            ISSUER,
            "--auth-audience",
            AUDIENCE,
            "--auth-jwks-refresh-min-interval",
            "0s",
        ])
        .env("RUST_LOG", "info,modelreg=debug")
        .log_to(std::fs::File::create(&log_path).unwrap())
        .start()
        .await;
    // A JWT names a key the server does not hold: it fetches the JWKS again, and fails.
    let key = SigningKey::new(Algorithm::ES256, "unknown");
    let rest = Rest::with_url(&server.url()).with_token(&key.sign(&claims("someone")));
    let answer = rest
        .send(rest.request(reqwest::Method::GET, "/ai-ml-model-discovery/v1/models"))
        .await;
    assert_problem(&answer, 503, "AUTHENTICATION_UNAVAILABLE");
    assert!(
        !String::from_utf8_lossy(&answer.body).contains("SECRET"),
        "{answer:?}"
    );
    server.terminate();
    server.wait(Duration::from_secs(30)).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    for secret in SECRETS {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
    assert!(log.contains("starting"), "{log}");
    assert!(log.contains("REDACTED"), "{log}");
    assert!(log.contains("cannot fetch the JWKS"), "{log}");
}

async fn identities_with_control_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::new(Algorithm::ES256, "idp");
    let jwks = write_file(dir.path(), "jwks.json", &signing::jwks(&[&key]));
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        trust_jwks(config, jwks.display().to_string());
    })
    .await;
    for subject in [
        "mallory\n2026-12-07T00:00:00Z  INFO modelreg: admin logged in",
        "mallory\u{1b}[2J",
    ] {
        let mut forged = claims(subject);
        forged["role"] = "admin".into();
        let token = key.sign(&forged);
        assert_refused(
            &get_with_token(&server, &token).await,
            "CREDENTIALS_INVALID",
        );
        let rest = Rest::of(&server).with_token(&token);
        let answer = rest
            .send(rest.request(reqwest::Method::GET, "/ai-ml-model-discovery/v1/models"))
            .await;
        assert_problem(&answer, 401, "CREDENTIALS_INVALID");
    }
    server.stop().await;

    // A client certificate named with a newline, from the very CA that makes every certified
    // client an administrator.
    let authority = Authority::new("registry CA");
    let clients = Authority::new("client CA");
    let files = ServerFiles::new(&authority, Some(&clients));
    let forged = clients.client_certificate_with_common_name("mallory\nINFO forged line");
    let server = TestServer::start_tls(
        Backend::Sqlite,
        |config| files.configure(config),
        authority.trusted_by_client().identity(forged.identity()),
    )
    .await;
    let refused = server
        .registration
        .clone()
        .get_model_registration(modelreg::pb::GetModelRegistrationRequest {
            model_registration_id: uuid::Uuid::new_v4().to_string(),
            model: None,
        })
        .await
        .unwrap_err();
    assert_refused(&refused, "CREDENTIALS_INVALID");
    server.stop().await;
}
