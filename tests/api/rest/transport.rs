//! The REST API's transport: TLS with HTTP/1.1 and HTTP/2 on the gRPC port, and the deadline
//! of a request that does not finish.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Rest, only_artifact_version, registration_body};
use crate::common::certificates::Authority;
use crate::common::{Backend, TestServer, on_every_backend};
use crate::tls::ServerFiles;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        rest_and_grpc_share_a_tls_port_over_http1_and_http2,
        a_stalled_upload_is_answered_504_at_its_deadline_and_stores_nothing,
        rest_and_grpc_share_the_limit_of_requests_in_progress,
    )
}

pub(crate) fn tls_client(authority: &Authority, http1_only: bool) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(authority.pem().as_bytes()).unwrap())
        .unwrap();
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    // A preconfigured TLS is used as it is: the client offers what it speaks by ALPN itself.
    tls.alpn_protocols = if http1_only {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    let builder = reqwest::Client::builder().tls_backend_preconfigured(tls);
    let builder = if http1_only {
        builder.http1_only()
    } else {
        builder
    };
    builder.build().unwrap()
}

async fn rest_and_grpc_share_a_tls_port_over_http1_and_http2(backend: Backend) {
    let authority = Authority::new("registry CA");
    let files = ServerFiles::new(&authority, None);
    let server = TestServer::start_tls(
        backend,
        |config| files.configure(config),
        authority.trusted_by_client(),
    )
    .await;
    assert!(server.url.starts_with("https://"), "{}", server.url);
    for (http1_only, version) in [
        (true, reqwest::Version::HTTP_11),
        (false, reqwest::Version::HTTP_2),
    ] {
        let rest = Rest::with_client(&server, tls_client(&authority, http1_only));
        let response = rest
            .request(reqwest::Method::GET, "/ai-ml-model-discovery/v1/models")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), version);
    }
    let rest = Rest::with_client(&server, tls_client(&authority, true));
    let registered = rest.register(&registration_body("qoe", "1")).await;
    // Registered over REST on HTTP/1.1, read over gRPC on the same port.
    let id = registered["modelRegistrationId"].as_str().unwrap();
    assert_eq!(server.get(id).await.unwrap().etag, registered["etag"]);
}

/// An upload that has sent its headers and part of its body, over a raw connection, and
/// waits: it holds its place among the requests in progress until its deadline.
async fn stall_an_upload(server: &TestServer) -> tokio::net::TcpStream {
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let part =
        "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"model.zip\"\r\n\r\nPK";
    let head = format!(
        "POST /ai-ml-model-registration/v1/uploadModel/qoe/1 HTTP/1.1\r\nhost: registry\r\n\
         content-type: multipart/form-data; boundary=b\r\ncontent-length: 100000\r\n\r\n{part}"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
}

/// With room for one request in progress, a stalled upload takes it: a REST request is
/// answered 429 with `Retry-After`, a gRPC call UNAVAILABLE, both at once.
async fn rest_and_grpc_share_the_limit_of_requests_in_progress(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.limits.max_concurrent_requests = 1;
    })
    .await;
    let rest = Rest::of(&server);
    rest.register(&registration_body("qoe", "1")).await;
    // The place the registration held is given back when the server drops its answer's
    // future, which may be just after the client has read the answer: an upload that comes
    // in that moment is answered 429 at once, and is tried again.
    let mut stalled = None;
    for _ in 0..50 {
        let mut socket = stall_an_upload(&server).await;
        let mut first = [0; 64];
        match tokio::time::timeout(Duration::from_millis(200), socket.read(&mut first)).await {
            Err(_) => {
                stalled = Some(socket);
                break;
            }
            Ok(read) => {
                let read = read.unwrap();
                assert!(
                    first[..read].starts_with(b"HTTP/1.1 429"),
                    "{:?}",
                    &first[..read]
                );
            }
        }
    }
    let _stalled = stalled.expect("an upload that holds the one place");
    let answer = rest.get("/ai-ml-model-discovery/v1/models").await;
    super::assert_problem(&answer, 429, "OVERLOADED");
    assert_eq!(answer.header("retry-after"), Some("1"));
    let refused = server.list(Default::default()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable);
}

/// An upload whose client stops sending: the answer comes at `--max-deadline`, and the model
/// keeps its artifact version.
async fn a_stalled_upload_is_answered_504_at_its_deadline_and_stores_nothing(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.limits.max_deadline = Duration::from_millis(500);
    })
    .await;
    let rest = Rest::of(&server);
    rest.register(&registration_body("qoe", "1")).await;
    let mut socket = stall_an_upload(&server).await;
    let started = tokio::time::Instant::now();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("an answer while the body is still awaited")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    assert!(answer.contains("DEADLINE_EXCEEDED"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(only_artifact_version(&server).await, "0.0.0");
}
