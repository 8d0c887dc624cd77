//! Replicas: `modelreg serve` processes on one PostgreSQL database, each with a feed of its
//! own. A watcher on any replica gets every event of every replica once, in commit order, and
//! moves to another replica (after a dropped connection, after SIGTERM) without a gap or a
//! repeat.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use modelreg::pb::model_event_service_client::ModelEventServiceClient;
use modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient;
use modelreg::pb::{self, EventType, watch_models_response::Message};
use tonic::Code;
use tonic::transport::Channel;

use crate::common::replicas::{Cluster, keep_registering, register, stop_writers};
use crate::common::trials::on_postgres;
use crate::common::watching::{Watching, event_type};
use crate::common::{Backend, assert_error};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    vec![
        on_postgres(
            module_path!(),
            "three_replicas_deliver_every_event_once_in_commit_order",
            three_replicas_deliver_every_event_once_in_commit_order,
        ),
        on_postgres(
            module_path!(),
            "a_dropped_watch_resumes_on_another_replica",
            a_dropped_watch_resumes_on_another_replica,
        ),
        on_postgres(
            module_path!(),
            "a_watch_ended_by_sigterm_resumes_on_another_replica",
            a_watch_ended_by_sigterm_resumes_on_another_replica,
        ),
    ]
}

/// What a test compares of an event.
type Seen = (i64, EventType, String);

fn seen(event: &pb::ModelEvent) -> Seen {
    let id = event.model_registration_id.clone();
    (event.sequence, event_type(event), id)
}

/// Reads the events after `after` through `last`, each the one after the one before; with
/// the time each arrived.
async fn follow(watching: &mut Watching, after: i64, last: i64) -> Vec<(Seen, Instant)> {
    let mut events = Vec::new();
    for expected in after + 1..=last {
        let event = watching.next_event().await;
        assert_eq!(event.sequence, expected, "no gap, no repeat, no reordering");
        events.push((seen(&event), Instant::now()));
    }
    events
}

/// Reads until the stream fails: the events before, and the status.
async fn read_to_end(watching: &mut Watching) -> (Vec<Seen>, tonic::Status) {
    let mut events = Vec::new();
    loop {
        match watching.try_next(Duration::from_secs(15)).await {
            Ok(Some(Message::Event(event))) => events.push(seen(&event)),
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the watch neither went on nor ended within 15 s"),
            Err(status) => return (events, status),
        }
    }
}

/// `rounds` models registered and updated, every other one deleted: 2.5 events a round.
/// Returns each registration with the moment RegisterModel answered.
async fn write_mixed(
    mut client: ModelRegistrationServiceClient<Channel>,
    writer: usize,
    rounds: usize,
) -> Vec<(String, Instant)> {
    let mut registered = Vec::new();
    for round in 0..rounds {
        let id = register(&mut client, &format!("w{writer}-{round}")).await;
        registered.push((id.clone(), Instant::now()));
        let patch = pb::ModelRelatedInformation {
            model_registration_id: id.clone(),
            description: "retrained".into(),
            ..Default::default()
        };
        let update = pb::UpdateModelRegistrationRequest {
            model_related_information: Some(patch),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
        };
        client
            .update_model_registration(update)
            .await
            .expect("update");
        if round % 2 == 0 {
            let delete = pb::DeleteModelRegistrationRequest {
                model_registration_id: id,
                etag: String::new(),
            };
            client
                .delete_model_registration(delete)
                .await
                .expect("delete");
        }
    }
    registered
}

fn percentiles(mut latencies: Vec<Duration>) -> String {
    latencies.sort();
    let at = |share: f64| latencies[((latencies.len() - 1) as f64 * share) as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {}",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0)),
        latencies.len()
    )
}

/// Three writers, one per replica, and a watcher on each replica started before them.
async fn three_replicas_deliver_every_event_once_in_commit_order(backend: Backend) {
    const ROUNDS: usize = 40;
    // Polled only hourly, replicas learn of each other's commits from notifications alone: a
    // lost one would stall a watcher past its timeout instead of passing as a 1 s delay.
    let cluster = Cluster::start(backend, 3, &["--event-poll-interval", "1h"]).await;
    let total = (3 * (2 * ROUNDS + ROUNDS.div_ceil(2))) as i64;
    let mut watchers = Vec::new();
    for replica in &cluster.replicas {
        let mut watching = Watching::everything(&replica.events).await;
        watchers.push(tokio::spawn(async move {
            let events = follow(&mut watching, 0, total).await;
            (watching, events)
        }));
    }
    let writers: Vec<_> = (cluster.replicas.iter().enumerate())
        .map(|(i, replica)| tokio::spawn(write_mixed(replica.registration.clone(), i, ROUNDS)))
        .collect();
    // Registration id → (the replica that wrote it, when RegisterModel answered).
    let mut written = HashMap::new();
    for (i, writer) in writers.into_iter().enumerate() {
        for (id, answered) in writer.await.expect("a writer") {
            written.insert(id, (i, answered));
        }
    }
    let mut received = Vec::new();
    for watcher in watchers {
        let (mut watching, events) = watcher.await.expect("every watcher gets every event");
        watching.assert_quiet(Duration::from_millis(300)).await;
        received.push(events);
    }
    assert_eq!(
        cluster.last_sequence().await,
        total,
        "the log holds every write"
    );

    let sequences: Vec<Vec<Seen>> = received
        .iter()
        .map(|events| events.iter().map(|(seen, _)| seen.clone()).collect())
        .collect();
    assert_eq!(sequences[0], sequences[1], "replicas 0 and 1 agree");
    assert_eq!(sequences[0], sequences[2], "replicas 0 and 2 agree");
    // Each writer's own changes of a model come in the order it made them.
    let mut kinds: HashMap<&str, Vec<EventType>> = HashMap::new();
    for (_, kind, id) in &sequences[0] {
        kinds.entry(id).or_default().push(*kind);
    }
    assert_eq!(kinds.len(), 3 * ROUNDS);
    for kinds in kinds.values() {
        assert_eq!(
            kinds[..2],
            [EventType::ModelRegistered, EventType::ModelUpdated]
        );
        assert!(kinds.len() == 2 || kinds[2] == EventType::ModelDeregistered);
    }

    // Commit-to-delivery: from RegisterModel's answer to the watcher's receipt.
    let (mut here, mut elsewhere) = (Vec::new(), Vec::new());
    for (watcher, events) in received.iter().enumerate() {
        for ((_, kind, id), arrived) in events {
            if *kind != EventType::ModelRegistered {
                continue;
            }
            let (writer, answered) = written[id.as_str()];
            let latency = arrived.saturating_duration_since(answered);
            if writer == watcher {
                &mut here
            } else {
                &mut elsewhere
            }
            .push(latency);
        }
    }
    println!(
        "events::replicas: {total} events from 3 writers on 3 debug replicas; delivery after \
         RegisterModel answered (negative counted as 0): on another replica {}; on the writer's \
         own {}",
        percentiles(elsewhere),
        percentiles(here)
    );
}

/// A watcher on A reads some events and goes away with its connection; writes go on, and
/// it resumes on B from the last sequence it saw.
async fn a_dropped_watch_resumes_on_another_replica(backend: Backend) {
    let cluster = Cluster::start(backend, 2, &[]).await;
    let [a, b] = &cluster.replicas[..] else {
        unreachable!()
    };
    let own = Channel::from_shared(a.process.url()).unwrap();
    let own = ModelEventServiceClient::new(own.connect().await.unwrap());
    let mut watching = Watching::everything(&own).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writers = vec![
        keep_registering(a.registration.clone(), "a".into(), stop.clone()),
        keep_registering(b.registration.clone(), "b".into(), stop.clone()),
    ];
    follow(&mut watching, 0, 20).await;
    drop((watching, own));

    cluster.wait_for_writes(20).await;
    let request = pb::WatchModelsRequest {
        start_sequence: Some(20),
        ..Default::default()
    };
    let mut resumed = Watching::start(&b.events, request).await.unwrap();
    // Writers still write while the resumed watch catches up from the log and then follows
    // B's feed.
    cluster.wait_for_writes(20).await;
    let total = stop_writers(&stop, writers).await;
    assert_eq!(cluster.last_sequence().await, total);
    follow(&mut resumed, 20, total).await;
    resumed.assert_quiet(Duration::from_millis(500)).await;
}

/// Replica A stops while its watcher reads and B and C take writes: the watch ends with
/// UNAVAILABLE, naming the last sequence it sent, and resumes on B from there.
async fn a_watch_ended_by_sigterm_resumes_on_another_replica(backend: Backend) {
    let mut cluster = Cluster::start(backend, 3, &[]).await;
    let mut watching = Watching::everything(&cluster.replicas[0].events).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writers = [1, 2].map(|i| {
        let client = cluster.replicas[i].registration.clone();
        keep_registering(client, format!("r{i}"), stop.clone())
    });
    let mut on_a = follow(&mut watching, 0, 20).await;
    let a = &mut cluster.replicas[0].process;
    a.terminate();
    let (rest, status) = read_to_end(&mut watching).await;
    let exit = a.wait(Duration::from_secs(10)).await;
    assert!(exit.is_some_and(|exit| exit.success()), "{exit:?}");

    let details = assert_error(&status, Code::Unavailable, "SHUTTING_DOWN");
    let last: i64 = details.error_info().unwrap().metadata["last_sequence"]
        .parse()
        .unwrap();
    let mut sequences: Vec<i64> = on_a.drain(..).map(|((s, _, _), _)| s).collect();
    sequences.extend(rest.iter().map(|(sequence, _, _)| *sequence));
    assert_eq!(
        sequences,
        (1..=last).collect::<Vec<_>>(),
        "A sent 1..={last}"
    );

    let request = pb::WatchModelsRequest {
        start_sequence: Some(last),
        ..Default::default()
    };
    let mut resumed = Watching::start(&cluster.replicas[1].events, request)
        .await
        .unwrap();
    cluster.wait_for_writes(20).await;
    let total = stop_writers(&stop, writers.into()).await;
    assert_eq!(cluster.last_sequence().await, total);
    follow(&mut resumed, last, total).await;
    resumed.assert_quiet(Duration::from_millis(500)).await;
    println!("events::replicas: A stopped after sending {last} events; B sent the rest to {total}");
}
