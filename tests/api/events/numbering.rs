//! Numbering after commit (PostgreSQL): a writer commits its event unnumbered, and a sequencer
//! numbers committed events right after. What a replica that stops in between leaves behind is
//! numbered by another, and a list that sees unnumbered changes carries the sequence they will
//! get.

use std::time::Duration;

use modelreg::CacheMode;
use modelreg::pb::{self, EventType};
use sea_orm::ConnectionTrait;

use crate::common::trials::on_postgres;
use crate::common::watching::{Watching, event_type};
use crate::common::{Backend, TestServer};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    vec![
        on_postgres(
            module_path!(),
            "an_event_a_stopped_replica_left_unnumbered_is_numbered_by_another",
            an_event_a_stopped_replica_left_unnumbered_is_numbered_by_another,
        ),
        on_postgres(
            module_path!(),
            "a_list_that_sees_unnumbered_changes_carries_the_sequence_they_will_get",
            a_list_that_sees_unnumbered_changes_carries_the_sequence_they_will_get,
        ),
    ]
}

/// What a replica that stopped right after its commit leaves behind: a committed, unnumbered
/// event (here a copy of event `sequence`), and no wake-up for any server.
async fn leave_an_unnumbered_copy_of(server: &TestServer, sequence: i64) {
    let db = server.database.connect().await;
    db.execute_unprepared(&format!(
        "INSERT INTO pending_events (event_time, event_type, model_related_information_id, \
            model_name, model_version, artifact_version, etag_before, etag_after, actor, \
            request_id, registration) \
         SELECT event_time, event_type, model_related_information_id, model_name, \
            model_version, artifact_version, etag_before, etag_after, actor, request_id, \
            registration FROM model_events WHERE sequence = {sequence}"
    ))
    .await
    .expect("leave an unnumbered event behind");
    db.close().await.ok();
}

async fn unnumbered_events(server: &TestServer) -> i64 {
    let db = server.database.connect().await;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM pending_events",
        ))
        .await
        .expect("count")
        .expect("a row");
    db.close().await.ok();
    row.try_get_by_index(0).unwrap()
}

/// A replica's sequencer also looks every `--event-poll-interval`, for events that no wake-up
/// announced.
async fn an_event_a_stopped_replica_left_unnumbered_is_numbered_by_another(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.events.event_poll_interval = Duration::from_millis(200);
    })
    .await;
    let id = server.registered_id("left-behind").await;
    let listed = server.list(pb::ListModelsRequest::default()).await.unwrap();
    assert_eq!(listed.sequence, 1);
    let mut watching = Watching::after(&server.events, listed.sequence)
        .await
        .unwrap();
    leave_an_unnumbered_copy_of(&server, 1).await;

    // Nothing is written here any more: only the poll can number it.
    let event = watching.next_event().await;
    assert_eq!(event.sequence, 2, "the next number");
    assert_eq!(event.model_registration_id, id);
    assert_eq!(event_type(&event), EventType::ModelRegistered);
    server.stop().await;
}

/// The list's sequence counts the changes it sees whose events have no number yet: a watch
/// from it neither repeats them nor skips what comes after.
async fn a_list_that_sees_unnumbered_changes_carries_the_sequence_they_will_get(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        // No poll during the test: the unnumbered event stays so until asked for.
        config.events.event_poll_interval = Duration::from_secs(3600);
        // The database's snapshot is what is tested: a read from the cache numbers the
        // events committed before it first.
        config.cache.read_cache = CacheMode::Off;
    })
    .await;
    server.registered_id("a").await;
    let listed = server.list(pb::ListModelsRequest::default()).await.unwrap();
    assert_eq!(listed.sequence, 1);

    leave_an_unnumbered_copy_of(&server, 1).await;
    let listed = server.list(pb::ListModelsRequest::default()).await.unwrap();
    assert_eq!(
        unnumbered_events(&server).await,
        1,
        "a list numbers nothing"
    );
    assert_eq!(
        listed.sequence, 2,
        "the numbered event and the one that will be numbered next"
    );

    let mut watching = Watching::after(&server.events, listed.sequence)
        .await
        .expect("the sequence exists once the pending event is numbered");
    let b = server.registered_id("b").await;
    let event = watching.next_event().await;
    assert_eq!(
        (event.sequence, event.model_registration_id),
        (3, b),
        "the first change after the list, and nothing the list had"
    );
    server.stop().await;
}
