//! Incomplete multipart uploads on S3: kill -9 in the middle of an upload leaves one, which
//! object listings do not show and which keeps its parts (billed) until it is aborted.
//! `modelreg gc` lists it and, past the grace period, aborts it; so does the sweeper of
//! `modelreg serve`, which never aborts an upload of its own. The database plays no part:
//! SQLite is enough.

use std::time::{Duration, Instant};

use bytes::Bytes;
use modelreg::pb::model_artifact_service_client::ModelArtifactServiceClient;
use modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient;
use modelreg::pb::{self, upload_artifact_request::Payload};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

use crate::artifacts::random_bytes;
use crate::common::objects::StoredObjects;
use crate::common::process::{Serve, gc};
use crate::common::s3::{bucket_of, pending_multipart_uploads};
use crate::common::trials::{Needs, name, trial};
use crate::common::{Backend, Objects, TestDatabase, TestServer, model};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    vec![
        trial(
            name(
                module_path!(),
                Some("sqlite_s3"),
                "gc_aborts_the_multipart_upload_of_a_killed_upload_past_the_grace_period",
            ),
            &[Needs::S3],
            || {
                gc_aborts_the_multipart_upload_of_a_killed_upload_past_the_grace_period(
                    Backend::Sqlite,
                )
            },
        ),
        trial(
            name(
                module_path!(),
                Some("sqlite_s3"),
                "the_sweeper_aborts_stalled_uploads_and_spares_its_own",
            ),
            &[Needs::S3],
            || the_sweeper_aborts_stalled_uploads_and_spares_its_own(Backend::Sqlite),
        ),
    ]
}

const CHUNK: usize = 64 * 1024;
/// More than one part (5 MiB), so that the killed upload has stored one.
const INTERRUPTED_BYTES: usize = 6 * 1024 * 1024;
/// How `pending_multipart_uploads` describes an upload.
const PENDING: &str = "pending multipart upload ";

fn header(id: &str) -> pb::UploadArtifactRequest {
    pb::UploadArtifactRequest {
        payload: Some(Payload::Header(pb::ArtifactHeader {
            model_registration_id: id.to_owned(),
            ..Default::default()
        })),
    }
}

fn chunk(bytes: &[u8]) -> pb::UploadArtifactRequest {
    pb::UploadArtifactRequest {
        payload: Some(Payload::Chunk(Bytes::copy_from_slice(bytes))),
    }
}

async fn gc_aborts_the_multipart_upload_of_a_killed_upload_past_the_grace_period(backend: Backend) {
    let Objects::S3(bucket_url) = Objects::s3().await else {
        unreachable!("an S3 store")
    };
    let bucket = bucket_of(&bucket_url);
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    let store = format!("{}/{prefix}", bucket_url.trim_end_matches('/'));
    let database = TestDatabase::create(&backend).await;
    let mut server = Serve::new()
        .args(["--database-url", &database.url, "--artifact-store", &store])
        .args(["--gc-interval", "0s"])
        .start()
        .await;
    let channel: Channel = Endpoint::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .expect("connect to modelreg");
    let id = ModelRegistrationServiceClient::new(channel.clone())
        .register_model(pb::RegisterModelRequest {
            model_related_information: Some(model("interrupted", "1", 1)),
            request_id: String::new(),
        })
        .await
        .expect("register")
        .into_inner()
        .model_registration_id;
    let mut artifacts = ModelArtifactServiceClient::new(channel);
    artifacts
        .upload_artifact(futures::stream::iter([header(&id), chunk(b"committed")]))
        .await
        .expect("a committed artifact");

    // Sent at once and held open: the server stores a first part and waits for more.
    let (sender, receiver) = mpsc::channel(INTERRUPTED_BYTES / CHUNK + 1);
    sender.try_send(header(&id)).unwrap();
    for bytes in random_bytes(INTERRUPTED_BYTES, 11).chunks(CHUNK) {
        sender.try_send(chunk(bytes)).unwrap();
    }
    let call = tokio::spawn(async move {
        artifacts
            .upload_artifact(ReceiverStream::new(receiver))
            .await
    });
    // The upload exists once the server has begun it; a moment later its first part is
    // stored too (moto cannot list parts for the SDK, so that is not checked).
    let deadline = Instant::now() + Duration::from_secs(20);
    while pending_multipart_uploads(&bucket, &prefix).await.is_empty() {
        assert!(Instant::now() < deadline, "the upload was not begun");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.kill();
    call.await
        .unwrap()
        .expect_err("the killed upload cannot succeed");
    drop(sender);

    let pending = pending_multipart_uploads(&bucket, &prefix).await;
    let within_grace = gc(&database.url, &store, &["--gc-grace", "1h"]);
    let kept_within_grace = pending_multipart_uploads(&bucket, &prefix).await;
    let dry_run = gc(&database.url, &store, &["--gc-grace", "0s", "--dry-run"]);
    let kept_by_dry_run = pending_multipart_uploads(&bucket, &prefix).await;
    let removal = gc(&database.url, &store, &["--gc-grace", "0s"]);
    let left = pending_multipart_uploads(&bucket, &prefix).await;
    let objects = StoredObjects::open(&store).keys().await;

    println!(
        "stalled_uploads::sqlite_s3: killed mid-upload, {} pending multipart upload(s); \
         --gc-grace 1h kept {}, --dry-run kept {}, --gc-grace 0s left {}; {} committed object(s)",
        pending.len(),
        kept_within_grace.len(),
        kept_by_dry_run.len(),
        left.len(),
        objects.len()
    );
    assert_eq!(pending.len(), 1, "the kill left one upload: {pending:?}");
    let key = pending[0]
        .strip_prefix(PENDING)
        .and_then(|key| key.strip_prefix(&format!("{prefix}/")))
        .expect("an upload under the store's prefix");
    assert!(key.starts_with(&format!("models/{id}/artifacts/")), "{key}");
    assert_eq!(kept_within_grace, pending, "a fresh upload stays");
    assert!(!within_grace.contains(key), "{within_grace}");
    assert!(
        within_grace.contains("aborted 0 incomplete multipart uploads"),
        "{within_grace}"
    );
    assert_eq!(kept_by_dry_run, pending, "a dry run aborts nothing");
    assert!(
        dry_run.contains(key),
        "a dry run lists the upload:\n{dry_run}"
    );
    assert!(
        dry_run.contains("would abort (dry run) 1 incomplete multipart uploads"),
        "{dry_run}"
    );
    assert!(
        left.is_empty(),
        "past the grace period it is aborted: {left:?}"
    );
    assert!(removal.contains(key), "{removal}");
    assert!(
        removal.contains("aborted 1 incomplete multipart uploads"),
        "{removal}"
    );
    assert_eq!(
        objects.len(),
        1,
        "the committed artifact stays: {objects:?}"
    );
}

/// A server that sweeps every 100 ms with no grace period: an upload that a crashed writer
/// left is aborted, while the server's own upload, held open all along, completes.
async fn the_sweeper_aborts_stalled_uploads_and_spares_its_own(backend: Backend) {
    let server = TestServer::start_with_objects(backend, Objects::s3().await, |config| {
        config.sweep.gc_grace = Duration::ZERO;
        config.sweep.gc_interval = Duration::from_millis(100);
    })
    .await;
    let id = server.registered_id("swept").await;
    let (sender, receiver) = mpsc::channel(4);
    sender.try_send(header(&id)).unwrap();
    let mut artifacts = server.artifacts.clone();
    let own = tokio::spawn(async move {
        artifacts
            .upload_artifact(ReceiverStream::new(receiver))
            .await
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.objects.pending_uploads().await.is_empty() {
        assert!(Instant::now() < deadline, "the upload was not begun");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let crashed = format!("models/{id}/artifacts/{}", uuid::Uuid::now_v7());
    server.objects.begin_upload(&crashed).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let left = loop {
        let pending = server.objects.pending_uploads().await;
        if !pending.iter().any(|upload| upload.ends_with(&crashed)) {
            break pending;
        }
        assert!(
            Instant::now() < deadline,
            "the stalled upload is still there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // A few more sweeps pass by the upload in progress.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sender
        .send(chunk(b"weights"))
        .await
        .expect("the upload is open");
    drop(sender);
    let own = own.await.unwrap();

    assert_eq!(left.len(), 1, "the server's own upload stays: {left:?}");
    own.expect("the server's own upload completes");
    server.stop().await;
}
