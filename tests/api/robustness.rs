//! Bad input and overload: every answer is a clear status that fits a default client, and the
//! server's limits shed or cut calls instead of letting them pile up.

use std::time::{Duration, Instant};

use bytes::Bytes;
use modelreg::pb::{self, upload_artifact_request::Payload};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use crate::artifacts::{random_bytes, upload};
use crate::common::{
    Backend, TestServer, assert_error, environment, model, on_every_backend, violated_fields,
};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        a_huge_id_is_a_small_invalid_argument,
        a_hundred_empty_environments_get_a_bounded_answer,
        fields_without_a_natural_bound_are_limited,
        requests_beyond_the_limit_are_shed_with_retry_info,
        calls_without_a_deadline_get_the_default_one,
        longer_deadlines_are_cut_to_the_maximum,
        an_upload_message_over_the_size_limit_is_resource_exhausted,
        a_delete_cut_short_never_leaves_bytes_without_a_record,
        ten_thousand_calls_at_once_are_served_or_shed,
    )
}

/// What gRPC clients accept of an answer's metadata by default (grpcio: 8 KiB).
const CLIENT_METADATA_BYTES: usize = 8 * 1024;

/// The answer's message and details as they travel (details base64-encoded).
fn answer_bytes(status: &tonic::Status) -> usize {
    status.message().len() + status.details().len().div_ceil(3) * 4
}

async fn a_huge_id_is_a_small_invalid_argument(backend: Backend) {
    let server = TestServer::start(backend).await;
    let status = server.get(&"x".repeat(20_000)).await.unwrap_err();

    assert_eq!(violated_fields(&status), ["model_registration_id"]);
    assert!(status.message().len() < 256, "{}", status.message());
    server.stop().await;
}

async fn a_hundred_empty_environments_get_a_bounded_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut info = model("qoe", "1", 0);
    info.model_information.as_mut().unwrap().target_environment =
        vec![pb::TargetEnvironment::default(); 100];

    let status = server.register(info).await.unwrap_err();

    let details = assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    let listed = details.bad_request().unwrap().field_violations.len();
    assert!((1..=20).contains(&listed), "{listed} violations listed");
    assert_eq!(details.error_info().unwrap().metadata["violations"], "300");
    assert!(status.message().contains("more"), "{}", status.message());
    assert!(answer_bytes(&status) < CLIENT_METADATA_BYTES / 2);
    server.stop().await;
}

async fn fields_without_a_natural_bound_are_limited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 1)).await.unwrap();
    let id = registered.model_registration_id.clone();

    let stale = server.delete(&id, &"e".repeat(200)).await.unwrap_err();
    assert_eq!(violated_fields(&stale), ["etag"]);

    let paths: Vec<String> = (0..81).map(|_| "description".to_owned()).collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let masked = server.update(registered.clone(), &paths).await.unwrap_err();
    assert_eq!(violated_fields(&masked), ["update_mask.paths"]);

    let long_path = "x".repeat(10_000);
    let masked = server
        .update(registered.clone(), &[&long_path])
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&masked), ["update_mask.paths[0]"]);
    assert!(masked.message().len() < 512, "{}", masked.message());

    let token = server
        .list(pb::ListModelsRequest {
            page_token: "t".repeat(5_000),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&token), ["page_token"]);

    let filter = server
        .list(pb::ListModelsRequest {
            model_name: "n".repeat(300),
            model_version: "v".repeat(300),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&filter), ["model_name", "model_version"]);

    assert_eq!(
        server.get(&id).await.unwrap(),
        registered,
        "nothing changed"
    );
    server.stop().await;
}

/// An upload that has sent its header and waits: a call in progress for as long as the sender
/// is kept.
async fn open_upload(
    server: &TestServer,
    id: &str,
) -> (
    mpsc::Sender<pb::UploadArtifactRequest>,
    tokio::task::JoinHandle<Result<tonic::Response<pb::ArtifactInfo>, tonic::Status>>,
) {
    open_upload_within(server, id, None).await
}

/// `open_upload`, with a deadline of the client's own when given.
async fn open_upload_within(
    server: &TestServer,
    id: &str,
    deadline: Option<Duration>,
) -> (
    mpsc::Sender<pb::UploadArtifactRequest>,
    tokio::task::JoinHandle<Result<tonic::Response<pb::ArtifactInfo>, tonic::Status>>,
) {
    let (sender, receiver) = mpsc::channel(4);
    sender
        .send(pb::UploadArtifactRequest {
            payload: Some(Payload::Header(pb::ArtifactHeader {
                model_registration_id: id.to_owned(),
                ..Default::default()
            })),
        })
        .await
        .unwrap();
    let mut request = tonic::Request::new(ReceiverStream::new(receiver));
    if let Some(deadline) = deadline {
        request.set_timeout(deadline);
    }
    let mut client = server.artifacts.clone();
    let call = tokio::spawn(async move { client.upload_artifact(request).await });
    (sender, call)
}

async fn requests_beyond_the_limit_are_shed_with_retry_info(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.limits.max_concurrent_requests = 1;
    })
    .await;
    let id = server.registered_id("qoe").await;
    // The upload holds the one permit once the server has started it. A probe may take the
    // permit first and have the upload shed: then the upload is opened again.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut sender, mut upload) = open_upload(&server, &id).await;
    let shed = loop {
        assert!(Instant::now() < deadline, "no request was shed");
        if upload.is_finished() {
            (sender, upload) = open_upload(&server, &id).await;
        }
        match server.get(&id).await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(status) => break status,
        }
    };

    let details = assert_error(&shed, Code::Unavailable, "OVERLOADED");
    let retry = details.retry_info().expect("a RetryInfo");
    assert!(
        retry
            .retry_delay
            .is_some_and(|delay| delay > Duration::ZERO)
    );

    sender
        .send(pb::UploadArtifactRequest {
            payload: Some(Payload::Chunk(Bytes::from_static(b"weights"))),
        })
        .await
        .unwrap();
    drop(sender);
    upload
        .await
        .unwrap()
        .expect("the upload in progress ends well");
    server
        .get(&id)
        .await
        .expect("served again once the permit is free");
    server.stop().await;
}

async fn calls_without_a_deadline_get_the_default_one(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.limits.default_deadline = Duration::from_millis(300);
    })
    .await;
    let id = server.registered_id("qoe").await;
    let started = Instant::now();
    let (_sender, upload) = open_upload(&server, &id).await;

    let status = upload.await.unwrap().unwrap_err();

    assert_error(&status, Code::DeadlineExceeded, "DEADLINE_EXCEEDED");
    assert!(started.elapsed() < Duration::from_secs(5));
    let listed = server
        .artifacts
        .clone()
        .list_artifacts(pb::ListArtifactsRequest {
            model_registration_id: id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed.artifacts.is_empty(),
        "the cut-off upload kept nothing"
    );
    server.stop().await;
}

async fn longer_deadlines_are_cut_to_the_maximum(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.limits.max_deadline = Duration::from_millis(300);
    })
    .await;
    let id = server.registered_id("qoe").await;
    let started = Instant::now();
    let (sender, upload) = open_upload_within(&server, &id, Some(Duration::from_secs(30))).await;

    let status = upload.await.unwrap().unwrap_err();

    assert_error(&status, Code::DeadlineExceeded, "DEADLINE_EXCEEDED");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(sender);
    server.stop().await;
}

async fn an_upload_message_over_the_size_limit_is_resource_exhausted(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.limits.max_message_bytes = bytesize::ByteSize::kib(64);
    })
    .await;
    let id = server.registered_id("qoe").await;
    let (sender, upload) = open_upload(&server, &id).await;
    sender
        .send(pb::UploadArtifactRequest {
            payload: Some(Payload::Chunk(Bytes::from(vec![7; 128 * 1024]))),
        })
        .await
        .unwrap();
    drop(sender);

    let status = upload.await.unwrap().unwrap_err();

    assert_error(&status, Code::ResourceExhausted, "MESSAGE_TOO_LARGE");
    let mut model = model("still", "1", 0);
    model.model_information.as_mut().unwrap().target_environment = vec![environment("kserve")];
    server
        .register(model)
        .await
        .expect("the server still serves");
    server.stop().await;
}

/// A delete whose call ends early (its deadline passes, its client goes away) either did not
/// happen, or happened with its artifacts' bytes: the removal runs on after the call.
async fn a_delete_cut_short_never_leaves_bytes_without_a_record(backend: Backend) {
    let server = TestServer::start(backend).await;
    for attempt in 0..50u64 {
        let name = format!("qoe-{attempt}");
        let id = server
            .register(model(&name, "1", 1))
            .await
            .unwrap()
            .model_registration_id;
        upload(&server, &id, &random_bytes(1000, attempt)).await;
        let mut request = tonic::Request::new(pb::DeleteModelRegistrationRequest {
            model_registration_id: id.clone(),
            etag: String::new(),
        });
        // Deadlines from nothing to a few milliseconds cut the call at every step.
        request.set_timeout(Duration::from_micros(attempt * 100));
        let _ = server
            .registration
            .clone()
            .delete_model_registration(request)
            .await;

        let settled = Instant::now() + Duration::from_secs(5);
        loop {
            let registered = server.get(&id).await.is_ok();
            let bytes = server
                .objects
                .keys()
                .await
                .into_iter()
                .any(|key| key.contains(&id));
            if registered == bytes {
                break;
            }
            assert!(
                Instant::now() < settled,
                "attempt {attempt}: registered {registered}, bytes stored {bytes}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    server.stop().await;
}

/// One client opens 10,000 calls at once on one connection: each ends OK or UNAVAILABLE
/// (shed), none hangs or fails otherwise, and the server serves on.
async fn ten_thousand_calls_at_once_are_served_or_shed(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.limits.max_concurrent_requests = 64;
        config.limits.max_concurrent_streams = 100;
    })
    .await;
    let id = server.registered_id("qoe").await;
    let calls = (0..10_000).map(|_| {
        let mut client = server.registration.clone();
        let id = id.clone();
        async move {
            client
                .get_model_registration(pb::GetModelRegistrationRequest {
                    model_registration_id: id,
                    model: None,
                })
                .await
        }
    });

    let answers = tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(calls))
        .await
        .expect("every call ends");

    let (mut ok, mut shed) = (0, 0);
    for answer in answers {
        match answer {
            Ok(_) => ok += 1,
            Err(status) if status.code() == Code::Unavailable => shed += 1,
            Err(status) => panic!("neither served nor shed: {status:?}"),
        }
    }
    println!("10000 calls at once: {ok} served, {shed} shed");
    assert!(ok > 0);
    server.get(&id).await.expect("the server serves on");
    server.stop().await;
}
