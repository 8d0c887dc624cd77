//! A consumers file that cannot be read or parsed: by default the last valid version stays in
//! force (and says so in the log and in `modelreg_auth_file_valid`); with
//! `--auth-fail-closed` every call is refused UNAVAILABLE and health reports NOT_SERVING until
//! the file is valid again, so that a revocation made by rewriting the file never fails
//! silently.

use std::path::Path;
use std::time::{Duration, Instant};

use tonic_health::pb::health_check_response::ServingStatus;

use crate::common::credentials::{assert_let_in, consumers_toml, get_with_token, write_file};
use crate::common::prometheus::{free_address, sample, scrape};
use crate::common::{Backend, TestServer, assert_error, plain_async};
use crate::operations::wait_for_health;
use crate::rest::{Rest, assert_problem};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    plain_async!(
        a_broken_consumers_file_refuses_every_call_when_failing_closed,
        a_broken_consumers_file_keeps_the_last_valid_version_by_default,
    )
}

const TOKEN: &str = "token-of-the-fail-closed-reader";
const METRIC: &str = "modelreg_auth_file_valid";

async fn start(dir: &Path, fail_closed: bool) -> (TestServer, std::path::PathBuf) {
    let consumers = write_file(
        dir,
        "consumers.toml",
        &consumers_toml(&[("reader", TOKEN, "reader")]),
    );
    let path = consumers.clone();
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.auth.auth_tokens = Some(consumers);
        config.auth.auth_reload_interval = Duration::from_millis(100);
        config.auth.auth_fail_closed = fail_closed;
        config.health_check_interval = Duration::from_millis(100);
        config.metrics_listen = Some(free_address());
    })
    .await;
    (server, path)
}

/// Waits until the gauge of `path` reads `value`.
async fn gauge_reads(server: &TestServer, path: &Path, value: f64) {
    let path = path.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = scrape(server.metrics_addr.unwrap()).await;
        let present = metrics
            .lines()
            .any(|line| line.starts_with(METRIC) && line.contains(&path));
        if present && sample(&metrics, METRIC, Some(("path", &path))) == value {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{METRIC} of {path} never read {value}:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_broken_consumers_file_refuses_every_call_when_failing_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (server, path) = start(dir.path(), true).await;
    assert_let_in(&get_with_token(&server, TOKEN).await);
    gauge_reads(&server, &path, 1.0).await;

    std::fs::write(&path, "[[consumer]]\nname = broken").unwrap();
    wait_for_health(&server, ServingStatus::NotServing).await;
    gauge_reads(&server, &path, 0.0).await;
    let refused = get_with_token(&server, TOKEN).await;
    assert_error(
        &refused,
        tonic::Code::Unavailable,
        "AUTHENTICATION_UNAVAILABLE",
    );
    let rest = Rest::of(&server).with_token(TOKEN);
    let answer = rest
        .send(rest.request(reqwest::Method::GET, "/ai-ml-model-discovery/v1/models"))
        .await;
    assert_problem(&answer, 503, "AUTHENTICATION_UNAVAILABLE");

    // A deleted file is no better.
    std::fs::remove_file(&path).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = get_with_token(&server, TOKEN).await;
    assert_error(
        &refused,
        tonic::Code::Unavailable,
        "AUTHENTICATION_UNAVAILABLE",
    );

    write_file(
        dir.path(),
        "consumers.toml",
        &consumers_toml(&[("reader", TOKEN, "reader")]),
    );
    wait_for_health(&server, ServingStatus::Serving).await;
    gauge_reads(&server, &path, 1.0).await;
    assert_let_in(&get_with_token(&server, TOKEN).await);
    server.stop().await;
}

async fn a_broken_consumers_file_keeps_the_last_valid_version_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (server, path) = start(dir.path(), false).await;
    gauge_reads(&server, &path, 1.0).await;
    std::fs::write(&path, "not toml at all [").unwrap();
    gauge_reads(&server, &path, 0.0).await;
    assert_let_in(&get_with_token(&server, TOKEN).await);
    wait_for_health(&server, ServingStatus::Serving).await;
    server.stop().await;
}
