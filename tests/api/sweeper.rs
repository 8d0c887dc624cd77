//! The sweeper inside `modelreg serve`: artifact bytes that no record names are removed once
//! older than the grace period; committed artifacts are never touched.

use std::time::{Duration, Instant};

use crate::artifacts::{by_id, download, random_bytes, upload};
use crate::common::{Backend, Objects, TestServer, on_every_store};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_store!(
        bytes_without_a_record_are_swept_and_committed_ones_kept,
        bytes_younger_than_the_grace_period_are_kept,
    )
}

/// What a crash between an object's write and its commit leaves: an object with no record.
async fn plant_orphan(server: &TestServer, registration_id: &str) -> String {
    let key = format!(
        "models/{registration_id}/artifacts/{}",
        uuid::Uuid::now_v7()
    );
    server.objects.put(&key, random_bytes(512, 9)).await;
    key
}

async fn bytes_without_a_record_are_swept_and_committed_ones_kept(
    backend: Backend,
    objects: Objects,
) {
    let server = TestServer::start_with_objects(backend, objects, |config| {
        config.sweep.gc_grace = Duration::ZERO;
        config.sweep.gc_interval = Duration::from_millis(200);
    })
    .await;
    let id = server.registered_id("qoe").await;
    let content = random_bytes(4096, 1);
    upload(&server, &id, &content).await;
    let orphan = plant_orphan(&server, &id).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    while server.objects.keys().await.contains(&orphan) {
        assert!(
            Instant::now() < deadline,
            "the orphan {orphan} is still there"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert_eq!(
        server.objects.keys().await.len(),
        1,
        "the committed object stays"
    );
    let (_, bytes, _) = download(&server, by_id(&id)).await.expect("download");
    assert_eq!(bytes, content);
    server.stop().await;
}

async fn bytes_younger_than_the_grace_period_are_kept(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |config| {
        config.sweep.gc_grace = Duration::from_secs(3600);
        config.sweep.gc_interval = Duration::from_millis(100);
    })
    .await;
    let id = server.registered_id("qoe").await;
    let orphan = plant_orphan(&server, &id).await;

    tokio::time::sleep(Duration::from_millis(600)).await;

    assert!(server.objects.keys().await.contains(&orphan));
    server.stop().await;
}
