//! Limits that calls run into: the size of a request's header list, and the streams one
//! connection may have open at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use modelreg::pb::model_artifact_service_client::ModelArtifactServiceClient;
use modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient;
use modelreg::pb::{self, upload_artifact_request::Payload};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::{figures, health_check};
use crate::common::process::Serve;
use crate::common::prometheus::{free_address, sample, scrape};
use crate::common::{Backend, TestDatabase, TestServer, model, plain_async};

pub(super) fn trials() -> Vec<libtest_mimic::Trial> {
    plain_async!(
        a_header_list_over_the_limit_is_refused_and_the_server_serves_on,
        one_connection_carries_at_most_max_concurrent_streams_calls,
    )
}

const PADDING_HEADER: &str = "x-padding";
/// What HPACK counts for each header beyond its name and value (RFC 9113 §6.5.2).
const HEADER_OVERHEAD: usize = 32;
const UPLOAD_METHOD: &str = "/modelregistry.v1.ModelArtifactService/UploadArtifact";

async fn connect(url: String) -> Channel {
    Endpoint::from_shared(url)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to the server")
}

/// A health check carrying one more header that counts `size` bytes in the header list.
async fn padded_health_check(channel: &Channel, size: usize) -> Result<(), tonic::Status> {
    let value = "p".repeat(size - PADDING_HEADER.len() - HEADER_OVERHEAD);
    let mut request = tonic::Request::new(HealthCheckRequest::default());
    request
        .metadata_mut()
        .insert(PADDING_HEADER, MetadataValue::try_from(value).unwrap());
    HealthClient::new(channel.clone())
        .check(request)
        .await
        .map(|_| ())
}

async fn a_header_list_over_the_limit_is_refused_and_the_server_serves_on() {
    const LIMIT: usize = 9000;
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.limits.max_header_bytes = bytesize::ByteSize::b(LIMIT as u64);
    })
    .await;
    let url = format!("http://{}", server.addr);

    // The headers every call has (:path, content-type, user-agent, te, …) count about 400
    // bytes: with 1 KiB of padding fewer the list is just under the limit.
    let under = padded_health_check(&connect(url.clone()).await, LIMIT - 1024).await;
    // Over the limit by the padding alone; the default limit (16 KiB) would let it through.
    let refused_on = connect(url.clone()).await;
    let over = padded_health_check(&refused_on, LIMIT + 1).await;
    let same_connection_after = health_check(&refused_on).await;
    let new_connection_after = health_check(&connect(url).await).await;

    let over_status = over
        .as_ref()
        .expect_err("a header list over the limit is refused");
    figures(
        "a_header_list_over_the_limit_is_refused_and_the_server_serves_on",
        format_args!(
            "--max-header-bytes {LIMIT}: {} bytes of padding {}; {} bytes: {:?} \"{}\"; then \
             the same connection {}, a new one {}",
            LIMIT - 1024,
            if under.is_ok() { "ok" } else { "REFUSED" },
            LIMIT + 1,
            over_status.code(),
            over_status.message(),
            outcome(&same_connection_after),
            outcome(&new_connection_after),
        ),
    );
    // h2 answers HTTP 431 without a grpc-status, which tonic maps to UNKNOWN.
    assert_eq!(over_status.code(), tonic::Code::Unknown, "{over_status:?}");
    assert!(over_status.message().contains("431"), "{over_status:?}");
    under.expect("a header list just under the limit is served");
    new_connection_after.expect("the server serves a new connection");
    drop(refused_on);
    server.stop().await;
}

fn outcome(answer: &Result<(), tonic::Status>) -> String {
    match answer {
        Ok(()) => "ok".into(),
        Err(status) => format!("{:?}", status.code()),
    }
}

/// An upload that has sent its header and waits for `release`.
struct HeldUpload {
    release: mpsc::Sender<pb::UploadArtifactRequest>,
    call: tokio::task::JoinHandle<Result<tonic::Response<pb::ArtifactInfo>, tonic::Status>>,
}

fn hold_upload(channel: &Channel, id: &str) -> HeldUpload {
    let (release, messages) = mpsc::channel(4);
    release
        .try_send(pb::UploadArtifactRequest {
            payload: Some(Payload::Header(pb::ArtifactHeader {
                model_registration_id: id.to_owned(),
                ..Default::default()
            })),
        })
        .unwrap();
    let mut client = ModelArtifactServiceClient::new(channel.clone());
    let call =
        tokio::spawn(async move { client.upload_artifact(ReceiverStream::new(messages)).await });
    HeldUpload { release, call }
}

/// Scrapes the uploads in flight every 20 ms until `stop`; returns the most seen.
async fn most_uploads_in_flight(metrics: std::net::SocketAddr, stop: Arc<AtomicBool>) -> f64 {
    let mut most = 0f64;
    while !stop.load(Ordering::SeqCst) {
        let scraped = scrape(metrics).await;
        most = most.max(sample(
            &scraped,
            "modelreg_rpc_in_flight",
            Some(("method", UPLOAD_METHOD)),
        ));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    most
}

/// 32 uploads held open on one connection to a server allowing 4 streams per connection: the
/// server never has more than 4 of them in flight, and all 32 complete once released. The
/// real binary, because the in-flight gauge is process-wide and other tests move it too.
async fn one_connection_carries_at_most_max_concurrent_streams_calls() {
    const STREAMS: usize = 4;
    const UPLOADS: usize = 32;
    let database = TestDatabase::create(&Backend::Sqlite).await;
    let folder = tempfile::tempdir().unwrap();
    let metrics = free_address();
    let server = Serve::new()
        .args(["--database-url", &database.url])
        .args([
            "--artifact-store",
            url::Url::from_directory_path(folder.path())
                .unwrap()
                .as_str(),
        ])
        .args(["--max-concurrent-streams", &STREAMS.to_string()])
        .args(["--metrics-listen", &metrics.to_string()])
        .start()
        .await;
    // One channel is one connection; its first call has the server's SETTINGS received.
    let channel = connect(server.url()).await;
    let id = ModelRegistrationServiceClient::new(channel.clone())
        .register_model(pb::RegisterModelRequest {
            model_related_information: Some(model("held", "1", 1)),
            request_id: String::new(),
        })
        .await
        .expect("register")
        .into_inner()
        .model_registration_id;

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(most_uploads_in_flight(metrics, stop.clone()));
    let uploads: Vec<HeldUpload> = (0..UPLOADS).map(|_| hold_upload(&channel, &id)).collect();
    // Held until the server has its 4, and a second longer.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sample(
        &scrape(metrics).await,
        "modelreg_rpc_in_flight",
        Some(("method", UPLOAD_METHOD)),
    ) < STREAMS as f64
    {
        assert!(
            Instant::now() < deadline,
            "{STREAMS} uploads never were in flight"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut calls = Vec::new();
    for upload in uploads {
        upload
            .release
            .send(pb::UploadArtifactRequest {
                payload: Some(Payload::Chunk(Bytes::from_static(b"weights"))),
            })
            .await
            .expect("the upload is open");
        calls.push(upload.call);
    }
    let answers = tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(calls))
        .await
        .expect("the released uploads complete");
    stop.store(true, Ordering::SeqCst);
    let most = watcher.await.unwrap();

    let ok = answers
        .iter()
        .filter(|answer| answer.as_ref().is_ok_and(Result::is_ok))
        .count();
    figures(
        "one_connection_carries_at_most_max_concurrent_streams_calls",
        format_args!(
            "--max-concurrent-streams {STREAMS}: {UPLOADS} uploads on one connection, at most \
             {most} in flight in the server, {ok} completed"
        ),
    );
    assert_eq!(most, STREAMS as f64, "uploads in flight at once");
    assert_eq!(ok, UPLOADS, "{answers:?}");
    drop(server);
}
