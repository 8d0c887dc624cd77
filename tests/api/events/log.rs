//! Every write appends exactly its event, with the actor and the etags, in the transaction of
//! the change; failed writes append none. ListEvents pages through the log for audit.

use modelreg::pb;
use tonic::Code;

use crate::artifacts::upload;
use crate::common::watching::{event_type, name_of};
use crate::common::{Backend, TestServer, assert_error, model, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        every_write_appends_exactly_its_event,
        failed_writes_append_no_event,
        list_events_filters_and_pages_both_ways,
        list_events_refuses_bad_filters_and_foreign_tokens,
    )
}

/// The whole log, oldest first.
pub(crate) async fn all_events(server: &TestServer) -> Vec<pb::ModelEvent> {
    list_all(server, pb::ListEventsRequest::default()).await
}

async fn list_all(server: &TestServer, mut request: pb::ListEventsRequest) -> Vec<pb::ModelEvent> {
    let mut events = Vec::new();
    loop {
        let page = server
            .events
            .clone()
            .list_events(request.clone())
            .await
            .expect("list events")
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return events;
        }
        request.page_token = page.next_page_token;
    }
}

async fn every_write_appends_exactly_its_event(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server
        .registration
        .clone()
        .register_model(pb::RegisterModelRequest {
            model_related_information: Some(model("qoe", "1", 2)),
            request_id: "req-1".into(),
        })
        .await
        .expect("register")
        .into_inner();
    let id = registered.model_registration_id.clone();
    let mut patch = pb::ModelRelatedInformation {
        model_registration_id: id.clone(),
        description: "retrained".into(),
        ..Default::default()
    };
    patch.etag = registered.etag.clone();
    let updated = server
        .update(patch, &["description"])
        .await
        .expect("update");
    let stored = upload(&server, &id, b"weights").await;
    let after_upload = server.get(&id).await.expect("get");
    server.delete(&id, "").await.expect("delete");

    let events = all_events(&server).await;
    let kinds: Vec<_> = events.iter().map(event_type).collect();
    assert_eq!(
        kinds,
        [
            pb::EventType::ModelRegistered,
            pb::EventType::ModelUpdated,
            pb::EventType::ArtifactStored,
            pb::EventType::ModelDeregistered,
        ]
    );
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4], "numbered without gaps");
    for event in &events {
        assert_eq!(event.model_registration_id, id);
        assert_eq!(name_of(event), "qoe");
        assert_eq!(
            event.actor, "anonymous",
            "no authentication: the anonymous admin"
        );
        assert!(event.event_time.is_some());
    }
    let [
        registered_event,
        updated_event,
        stored_event,
        deregistered_event,
    ] = &events[..]
    else {
        unreachable!()
    };
    assert_eq!(registered_event.request_id, "req-1");
    assert_eq!(registered_event.etag_before, "");
    assert_eq!(registered_event.etag_after, registered.etag);
    assert_eq!(
        registered_event.model_related_information.as_ref(),
        Some(&registered),
        "the registration as it is after the change"
    );
    assert_eq!(updated_event.etag_before, registered.etag);
    assert_eq!(updated_event.etag_after, updated.etag);
    assert_eq!(
        updated_event
            .model_related_information
            .as_ref()
            .unwrap()
            .description,
        "retrained"
    );
    assert_eq!(stored_event.etag_before, updated.etag);
    assert_eq!(stored_event.etag_after, after_upload.etag);
    assert_eq!(stored_event.artifact_version, stored.artifact_version);
    assert_eq!(
        stored_event.model_related_information.as_ref(),
        Some(&after_upload)
    );
    assert_eq!(deregistered_event.etag_before, after_upload.etag);
    assert_eq!(deregistered_event.etag_after, "");
    assert_eq!(
        deregistered_event.model_related_information.as_ref(),
        Some(&after_upload),
        "a deregistration carries the registration as it was"
    );
    server.stop().await;
}

async fn failed_writes_append_no_event(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 1)).await.unwrap();
    let id = registered.model_registration_id.clone();

    let duplicate = server.register(model("qoe", "1", 1)).await.unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    let mut invalid = model("bad", "1", 1);
    invalid.description.clear();
    assert_eq!(
        server.register(invalid).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let stale = pb::ModelRelatedInformation {
        model_registration_id: id.clone(),
        description: "x".into(),
        etag: "stale".into(),
        ..Default::default()
    };
    assert_eq!(
        server
            .update(stale, &["description"])
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );
    assert_eq!(
        server.delete(&id, "stale").await.unwrap_err().code(),
        Code::Aborted
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        server.delete(&unknown, "").await.unwrap_err().code(),
        Code::NotFound
    );

    let events = all_events(&server).await;
    assert_eq!(events.len(), 1, "only the registration: {events:#?}");
    assert_eq!(event_type(&events[0]), pb::EventType::ModelRegistered);
    server.stop().await;
}

async fn list_events_filters_and_pages_both_ways(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(server.registered_id(&format!("m{i}")).await);
    }
    server.delete(&ids[3], "").await.unwrap();

    // Oldest first, in pages of 2.
    let paged = list_all(
        &server,
        pb::ListEventsRequest {
            page_size: 2,
            ..Default::default()
        },
    )
    .await;
    let sequences: Vec<i64> = paged.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=8).collect::<Vec<_>>());

    // Newest first, in pages of 3.
    let newest = list_all(
        &server,
        pb::ListEventsRequest {
            page_size: 3,
            newest_first: true,
            ..Default::default()
        },
    )
    .await;
    let sequences: Vec<i64> = newest.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=8).rev().collect::<Vec<_>>());

    // By registration, by name, by type, by actor.
    let of_m3 = list_all(
        &server,
        pb::ListEventsRequest {
            model_registration_id: ids[3].clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(of_m3.len(), 2);
    let named = list_all(
        &server,
        pb::ListEventsRequest {
            model_name: "m5".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(named.len(), 1);
    assert_eq!(name_of(&named[0]), "m5");
    let deregistrations = list_all(
        &server,
        pb::ListEventsRequest {
            types: vec![pb::EventType::ModelDeregistered as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(deregistrations.len(), 1);
    assert_eq!(deregistrations[0].model_registration_id, ids[3]);
    let by_nobody = list_all(
        &server,
        pb::ListEventsRequest {
            actor: "somebody-else".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(by_nobody.is_empty());

    // By time: everything is before a minute from now, nothing at or after it.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    let later = prost_types::Timestamp::from(later);
    let before = list_all(
        &server,
        pb::ListEventsRequest {
            end_time: Some(later),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(before.len(), 8);
    let after = list_all(
        &server,
        pb::ListEventsRequest {
            start_time: Some(later),
            ..Default::default()
        },
    )
    .await;
    assert!(after.is_empty());
    server.stop().await;
}

async fn list_events_refuses_bad_filters_and_foreign_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    for i in 0..3 {
        server.registered_id(&format!("m{i}")).await;
    }
    let mut events = server.events.clone();
    let first = events
        .list_events(pb::ListEventsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    // The token of an oldest-first listing does not continue a newest-first one.
    let status = events
        .list_events(pb::ListEventsRequest {
            page_size: 1,
            newest_first: true,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    for bad in [
        pb::ListEventsRequest {
            model_registration_id: "not-a-uuid".into(),
            ..Default::default()
        },
        pb::ListEventsRequest {
            types: vec![42],
            ..Default::default()
        },
        pb::ListEventsRequest {
            page_size: -1,
            ..Default::default()
        },
    ] {
        let status = events.list_events(bad.clone()).await.unwrap_err();
        assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    }
    server.stop().await;
}
