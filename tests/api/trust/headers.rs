//! `--max-header-bytes` holds over HTTP/1.1 as over HTTP/2: a request whose headers exceed it
//! is answered 431 before anything reads them (authentication above all).

use crate::common::credentials::{consumers_toml, write_file};
use crate::common::{Backend, TestServer, plain_async};
use crate::rest::{Rest, assert_problem};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    plain_async!(oversized_headers_are_refused_over_http1_before_authentication)
}

async fn oversized_headers_are_refused_over_http1_before_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let consumers = write_file(
        dir.path(),
        "consumers.toml",
        &consumers_toml(&[("reader", "reader-token", "reader")]),
    );
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.auth.auth_tokens = Some(consumers);
    })
    .await;
    let limit = 16 * 1024;
    let rest = Rest::of(&server);
    let list = "/ai-ml-model-discovery/v1/models";

    // A 100 KB token: refused for its size, not looked up.
    let huge = rest.with_token(&"x".repeat(100 * 1024));
    let answer = huge.send(huge.request(reqwest::Method::GET, list)).await;
    let problem = assert_problem(&answer, 431, "HEADERS_TOO_LARGE");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&limit.to_string()),
        "{problem}"
    );
    // Many small headers count together (fewer than hyper's own limit of 100 headers).
    let mut request = rest
        .with_token("reader-token")
        .request(reqwest::Method::GET, list);
    for i in 0..90 {
        request = request.header(format!("x-padding-{i}"), "y".repeat(200));
    }
    assert_problem(&rest.send(request).await, 431, "HEADERS_TOO_LARGE");
    // Just under the limit is served.
    let ok = rest.with_token("reader-token");
    let request = ok
        .request(reqwest::Method::GET, list)
        .header("x-padding", "y".repeat(limit - 1024));
    assert_eq!(ok.send(request).await.status, 200);
    server.stop().await;
}
