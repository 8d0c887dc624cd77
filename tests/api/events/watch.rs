//! WatchModels: changes in commit order, filters, resuming, the initial state, list-then-watch
//! under concurrent writers, heartbeats.

use std::collections::BTreeMap;
use std::time::Duration;

use modelreg::pb::{self, watch_models_response::Message};

use crate::common::watching::{Watching, event_type, name_of};
use crate::common::{Backend, TestServer, model, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        a_watch_receives_every_change_in_commit_order,
        filters_select_by_name_version_and_type,
        a_watch_resumes_after_the_last_sequence_it_saw,
        list_then_watch_from_the_list_sequence_misses_nothing,
        the_initial_state_and_the_changes_after_it_add_up_under_concurrent_writes,
        idle_watches_get_heartbeats_with_the_current_sequence,
    )
}

async fn a_watch_receives_every_change_in_commit_order(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut watching = Watching::everything(&server.events).await;
    let a = server.registered_id("a").await;
    let b = server.registered_id("b").await;
    server.delete(&a, "").await.unwrap();
    let events = watching.events(3).await;
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.sequence, event_type(e), e.model_registration_id.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, pb::EventType::ModelRegistered, a.clone()),
            (2, pb::EventType::ModelRegistered, b),
            (3, pb::EventType::ModelDeregistered, a),
        ]
    );
    assert!(events.iter().all(|e| !e.initial));
    server.stop().await;
}

async fn filters_select_by_name_version_and_type(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut by_name = Watching::start(
        &server.events,
        pb::WatchModelsRequest {
            model_name: "qoe".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut by_version = Watching::start(
        &server.events,
        pb::WatchModelsRequest {
            model_name: "qoe".into(),
            model_version: "2".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut deletions = Watching::start(
        &server.events,
        pb::WatchModelsRequest {
            types: vec![pb::EventType::ModelDeregistered as i32],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    server.registered_id("other").await;
    let v1 = server.register(model("qoe", "1", 1)).await.unwrap();
    let v2 = server.register(model("qoe", "2", 1)).await.unwrap();
    server.delete(&v1.model_registration_id, "").await.unwrap();

    let named = by_name.events(3).await;
    assert!(named.iter().all(|e| name_of(e) == "qoe"));
    assert_eq!(
        named.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    let versioned = by_version.next_event().await;
    assert_eq!(versioned.model_registration_id, v2.model_registration_id);
    let deleted = deletions.next_event().await;
    assert_eq!(event_type(&deleted), pb::EventType::ModelDeregistered);
    assert_eq!(deleted.model_registration_id, v1.model_registration_id);
    by_version.assert_quiet(Duration::from_millis(300)).await;
    deletions.assert_quiet(Duration::from_millis(300)).await;
    server.stop().await;
}

async fn a_watch_resumes_after_the_last_sequence_it_saw(backend: Backend) {
    let server = TestServer::start(backend).await;
    for name in ["a", "b", "c"] {
        server.registered_id(name).await;
    }
    let mut resumed = Watching::after(&server.events, 1).await.unwrap();
    server.registered_id("d").await;
    let names: Vec<String> = resumed
        .events(3)
        .await
        .iter()
        .map(|e| name_of(e).to_owned())
        .collect();
    assert_eq!(
        names,
        ["b", "c", "d"],
        "after sequence 1, old and new alike"
    );
    server.stop().await;
}

async fn list_then_watch_from_the_list_sequence_misses_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.registered_id("a").await;
    let listed = server.list(pb::ListModelsRequest::default()).await.unwrap();
    assert_eq!(
        listed.sequence, 1,
        "the page was read after the first event"
    );
    // Changes between the list and the watch.
    server.registered_id("b").await;
    let mut watching = Watching::after(&server.events, listed.sequence)
        .await
        .unwrap();
    server.registered_id("c").await;
    let names: Vec<String> = watching
        .events(2)
        .await
        .iter()
        .map(|e| name_of(e).to_owned())
        .collect();
    assert_eq!(names, ["b", "c"]);
    server.stop().await;
}

/// Writers register, update and delete while a watcher starts with the initial state: the
/// state it builds from the snapshot and the changes after it equals the final listing.
async fn the_initial_state_and_the_changes_after_it_add_up_under_concurrent_writes(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    for i in 0..20 {
        server.registered_id(&format!("seed-{i}")).await;
    }
    let writers: Vec<_> = (0..3)
        .map(|writer| {
            let server_registration = server.registration.clone();
            tokio::spawn(async move {
                for i in 0..30 {
                    let mut client = server_registration.clone();
                    let registered = client
                        .register_model(pb::RegisterModelRequest {
                            model_related_information: Some(model(
                                &format!("w{writer}-{i}"),
                                "1",
                                1,
                            )),
                            request_id: String::new(),
                        })
                        .await
                        .expect("register")
                        .into_inner();
                    if i % 3 == 0 {
                        client
                            .delete_model_registration(pb::DeleteModelRegistrationRequest {
                                model_registration_id: registered.model_registration_id,
                                etag: String::new(),
                            })
                            .await
                            .expect("delete");
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut watching = Watching::start(
        &server.events,
        pb::WatchModelsRequest {
            send_initial_state: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // id → etag
    let mut state = BTreeMap::new();
    let snapshot = loop {
        match watching.next().await {
            Message::Event(event) => {
                assert!(event.initial);
                assert!(
                    state
                        .insert(
                            event.model_registration_id.clone(),
                            event.etag_after.clone()
                        )
                        .is_none(),
                    "a registration twice in the initial state"
                );
            }
            Message::InitialStateComplete(complete) => break complete.sequence,
            Message::Heartbeat(_) => panic!("a heartbeat inside the initial state"),
        }
    };
    for writer in writers {
        writer.await.unwrap();
    }
    let last = server
        .list(pb::ListModelsRequest::default())
        .await
        .unwrap()
        .sequence;
    let mut expected = snapshot + 1;
    while expected <= last {
        let event = watching.next_event().await;
        assert_eq!(event.sequence, expected, "no gap and no repeat");
        assert!(!event.initial);
        expected += 1;
        match event_type(&event) {
            pb::EventType::ModelDeregistered => {
                assert!(state.remove(&event.model_registration_id).is_some());
            }
            _ => {
                state.insert(event.model_registration_id, event.etag_after);
            }
        }
    }
    let mut listed = BTreeMap::new();
    let mut request = pb::ListModelsRequest {
        page_size: 1000,
        ..Default::default()
    };
    loop {
        let page = server.list(request.clone()).await.unwrap();
        for model in page.models {
            listed.insert(model.model_registration_id, model.etag);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(state, listed, "snapshot + changes = the registry");
    watching.assert_quiet(Duration::from_millis(200)).await;
    server.stop().await;
}

async fn idle_watches_get_heartbeats_with_the_current_sequence(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.events.watch_heartbeat = Duration::from_millis(200);
    })
    .await;
    let mut watching = Watching::start(
        &server.events,
        pb::WatchModelsRequest {
            model_name: "nobody-registers-this".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for name in ["a", "b"] {
        server.registered_id(name).await;
    }
    // The events do not match; heartbeats come, and reach the log's end.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match watching.next().await {
            Message::Heartbeat(heartbeat) if heartbeat.sequence == 2 => break,
            Message::Heartbeat(heartbeat) => assert!(heartbeat.sequence <= 2),
            other => panic!("only heartbeats were expected, not {other:?}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "no heartbeat at 2");
    }
    server.stop().await;
}
