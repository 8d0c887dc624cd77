//! Where watches end: a sequence the log no longer keeps (or never wrote), a watcher too slow
//! for its buffer, a server that stops; and what a scoped consumer may see.

use std::time::{Duration, Instant};

use modelreg::pb::{self, model_event_service_client::ModelEventServiceClient};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};

use crate::artifacts::{chunk_message, header_for, header_message};
use crate::common::watching::{Watching, event_type, name_of};
use crate::common::{Backend, TestServer, assert_error, model, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        resuming_before_the_retained_log_or_past_its_end_is_out_of_range,
        a_slow_watcher_is_cut_off_while_writers_keep_going,
        stopping_the_server_ends_watches_with_unavailable,
        watches_end_only_after_the_calls_in_progress_finish,
        scoped_consumers_see_only_the_events_of_their_models,
    )
}

async fn resuming_before_the_retained_log_or_past_its_end_is_out_of_range(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.events.event_retention = Duration::from_millis(500);
        config.events.event_prune_interval = Duration::from_millis(100);
    })
    .await;
    for name in ["a", "b"] {
        server.registered_id(name).await;
    }
    let status = Watching::after(&server.events, 3)
        .await
        .err()
        .expect("a sequence past the end");
    let details = assert_error(&status, Code::OutOfRange, "SEQUENCE_AHEAD");
    assert_eq!(details.error_info().unwrap().metadata["last_sequence"], "2");

    // Pruned: the whole log is past its retention after a while.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        match Watching::after(&server.events, 1).await {
            Err(status) => break status,
            Ok(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Ok(_) => panic!("sequence 1 was never pruned"),
        }
    };
    assert_error(&status, Code::OutOfRange, "SEQUENCE_EXPIRED");
    assert!(status.message().contains("list the models again"));

    // What the error says to do works: list, and watch from the list's sequence.
    let listed = server.list(pb::ListModelsRequest::default()).await.unwrap();
    assert_eq!(listed.models.len(), 2);
    let mut watching = Watching::after(&server.events, listed.sequence)
        .await
        .expect("a watch from the list's sequence");
    server.registered_id("c").await;
    assert_eq!(name_of(&watching.next_event().await), "c");
    server.stop().await;
}

/// A watcher that stops reading falls behind its buffer and is cut off with RESOURCE_EXHAUSTED;
/// the writers never wait for it, and a watcher that reads gets everything.
async fn a_slow_watcher_is_cut_off_while_writers_keep_going(backend: Backend) {
    // Well past what the stalled watcher's buffer, its stream and HTTP/2 can hold.
    const WRITES: usize = 1000;
    const WRITERS: usize = 8;
    let server = TestServer::start_with(backend, |config| {
        config.events.watch_buffer = 128;
    })
    .await;
    // On a connection of its own, with HTTP/2's default windows (64 KiB) rather than tonic's
    // larger ones, so that the server soon has to hold events back: a stream nobody reads
    // holds its connection's window, and would stall every other call on it.
    let own_connection = Channel::from_shared(server.url.clone())
        .unwrap()
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .unwrap();
    let mut slow = Watching::everything(&ModelEventServiceClient::new(own_connection)).await;
    let mut reader = Watching::everything(&server.events).await;
    let reading = tokio::spawn(async move { reader.events(WRITES).await });

    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let mut client = server.registration.clone();
            tokio::spawn(async move {
                for i in (writer..WRITES).step_by(WRITERS) {
                    client
                        .register_model(pb::RegisterModelRequest {
                            model_related_information: Some(model(&format!("m{i:04}"), "1", 3)),
                            request_id: String::new(),
                        })
                        .await
                        .expect("every write succeeds");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let writing = started.elapsed();
    let read = tokio::time::timeout(Duration::from_secs(60), reading)
        .await
        .expect("the reading watcher keeps up")
        .unwrap();
    let sequences: Vec<i64> = read.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=WRITES as i64).collect::<Vec<_>>());

    // The slow one now reads: what was buffered, then the reason it was cut off.
    let status = slow.failure().await;
    let details = assert_error(&status, Code::ResourceExhausted, "WATCHER_TOO_SLOW");
    let last: i64 = details.error_info().unwrap().metadata["last_sequence"]
        .parse()
        .unwrap();
    assert!(
        last < WRITES as i64,
        "it was cut off before the end ({last})"
    );
    println!("{WRITES} writes in {writing:?} with a stalled watcher; it was cut off at {last}");

    // It resumes from its last sequence and gets the rest.
    let mut resumed = Watching::after(&server.events, last).await.unwrap();
    let rest = resumed.events(WRITES - last as usize).await;
    assert_eq!(rest.first().unwrap().sequence, last + 1);
    assert_eq!(rest.last().unwrap().sequence, WRITES as i64);
    server.stop().await;
}

async fn stopping_the_server_ends_watches_with_unavailable(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut watching = Watching::everything(&server.events).await;
    server.registered_id("a").await;
    assert_eq!(watching.next_event().await.sequence, 1);
    let (status, _) = tokio::join!(watching.failure(), server.stop());
    let details = assert_error(&status, Code::Unavailable, "SHUTTING_DOWN");
    assert_eq!(details.error_info().unwrap().metadata["last_sequence"], "1");
}

/// On SIGTERM the server first lets its unary calls finish (here an upload whose client is
/// still sending), and only then ends its watch streams: their event comes first.
async fn watches_end_only_after_the_calls_in_progress_finish(backend: Backend) {
    let server = TestServer::start(backend).await;
    let id = server.registered_id("a").await;
    let mut watching = Watching::everything(&server.events).await;
    let content = b"weights";
    let (messages, outgoing) = tokio::sync::mpsc::channel(4);
    messages
        .send(header_message(header_for(&id, content)))
        .await
        .unwrap();
    let mut artifacts = server.artifacts.clone();
    let upload = tokio::spawn(async move {
        artifacts
            .upload_artifact(tokio_stream::wrappers::ReceiverStream::new(outgoing))
            .await
    });
    // The upload is in progress on the server before the stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = tokio::spawn(server.stop());
    assert!(
        watching
            .try_next(Duration::from_millis(500))
            .await
            .expect("the watch is still open while the upload goes on")
            .is_none()
    );
    messages.send(chunk_message(content)).await.unwrap();
    drop(messages);
    let stored = upload.await.unwrap().expect("the upload finishes");
    let event = watching.next_event().await;
    assert_eq!(event_type(&event), pb::EventType::ArtifactStored);
    assert_eq!(event.artifact_version, stored.into_inner().artifact_version);
    let status = watching.failure().await;
    assert_error(&status, Code::Unavailable, "SHUTTING_DOWN");
    stopping.await.unwrap();
}

fn with_token<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {token}")).unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

async fn scoped_consumers_see_only_the_events_of_their_models(backend: Backend) {
    let files = tempfile::tempdir().unwrap();
    let consumers = [
        ("admin", "admin-token", "admin", ""),
        ("qoe-team", "qoe-token", "reader", "scopes = [\"qoe-*\"]\n"),
    ]
    .iter()
    .map(|(name, token, role, scopes)| {
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
        format!(
            "[[consumer]]\nname = \"{name}\"\ntoken_sha256 = \"{digest}\"\nrole = \"{role}\"\n{scopes}"
        )
    })
    .collect::<String>();
    let consumers_file = files.path().join("consumers.toml");
    std::fs::write(&consumers_file, consumers).unwrap();
    let server = TestServer::start_with(backend, |config| {
        config.auth.auth_tokens = Some(consumers_file);
    })
    .await;

    let anonymous = server
        .events
        .clone()
        .watch_models(pb::WatchModelsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let mut scoped = server
        .events
        .clone()
        .watch_models(with_token("qoe-token", pb::WatchModelsRequest::default()))
        .await
        .expect("a reader may watch")
        .into_inner();
    for name in ["ran-1", "qoe-1", "ran-2", "qoe-2"] {
        server
            .registration
            .clone()
            .register_model(with_token(
                "admin-token",
                pb::RegisterModelRequest {
                    model_related_information: Some(model(name, "1", 1)),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("the admin registers");
    }
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let message = tokio::time::timeout(Duration::from_secs(10), scoped.message())
            .await
            .expect("an event in time")
            .expect("the watch goes on")
            .expect("a message");
        if let Some(pb::watch_models_response::Message::Event(event)) = message.message {
            assert_eq!(event.actor, "admin", "the actor is the admin's principal");
            seen.push((event.sequence, name_of(&event).to_owned()));
        }
    }
    assert_eq!(seen, [(2, "qoe-1".to_owned()), (4, "qoe-2".to_owned())]);

    // The audit view is the admin's.
    let refused = server
        .events
        .clone()
        .list_events(with_token("qoe-token", pb::ListEventsRequest::default()))
        .await
        .unwrap_err();
    assert_error(&refused, Code::PermissionDenied, "ROLE_TOO_LOW");
    let audit = server
        .events
        .clone()
        .list_events(with_token("admin-token", pb::ListEventsRequest::default()))
        .await
        .expect("the admin lists the log")
        .into_inner();
    assert_eq!(audit.events.len(), 4);
    server.stop().await;
}
