//! The read cache never answers stale: three `modelreg serve` replicas on one database, a
//! writer per replica updating its own model, and after every acknowledged update the writer
//! reads the model from every replica (by id, and in a page of discovery): each answers that
//! update or a newer one. The same while a replica restarts, and with a replica whose feed is
//! held back (a fault the tests set), whose answers then come from the database, counted.

use std::time::{Duration, Instant};

use modelreg::pb;
use modelreg::pb::model_discovery_service_client::ModelDiscoveryServiceClient;
use modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient;
use tonic::transport::Channel;

use crate::common::prometheus::{free_address, scrape};
use crate::common::replicas::{Cluster, register};
use crate::common::{Backend, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    // On SQLite the replicas are processes sharing one file.
    on_every_backend!(every_replica_answers_every_acknowledged_write_or_a_newer_one)
}

const REPLICAS: usize = 3;
/// Updates per writer in each phase.
const ROUNDS: usize = 40;

struct Clients {
    registration: ModelRegistrationServiceClient<Channel>,
    discovery: ModelDiscoveryServiceClient<Channel>,
}

async fn clients(url: String) -> Clients {
    // Lazily: a replica that is down answers UNAVAILABLE, which the calls retry.
    let channel = Channel::from_shared(url).unwrap().connect_lazy();
    Clients {
        registration: ModelRegistrationServiceClient::new(channel.clone()),
        discovery: ModelDiscoveryServiceClient::new(channel),
    }
}

/// The round an answer shows: the description a writer set is `round N`.
fn round_of(model: &pb::ModelRelatedInformation) -> usize {
    model
        .description
        .strip_prefix("round ")
        .and_then(|round| round.parse().ok())
        .unwrap_or(0)
}

async fn every_replica_answers_every_acknowledged_write_or_a_newer_one(backend: Backend) {
    let mut cluster = Cluster::start(backend, REPLICAS, &[]).await;
    // The third replica's feed is held back well past a read's wait: its reads must fall
    // back to the database and still be exact.
    let metrics = free_address();
    let held_back = [
        "--read-cache-feed-delay",
        "400ms",
        "--metrics-listen",
        &metrics.to_string(),
    ];
    cluster.restart_with(2, &held_back).await;
    let mut ids = Vec::new();
    for (replica, writer) in cluster.replicas.iter_mut().enumerate() {
        ids.push(register(&mut writer.registration, &format!("cached-{replica}")).await);
    }
    for phase in ["steady", "restart"] {
        let urls: Vec<String> = cluster.replicas.iter().map(|r| r.process.url()).collect();
        let writers = ids.iter().enumerate().map(|(writer, id)| {
            let (urls, id) = (urls.clone(), id.clone());
            tokio::spawn(async move { write_and_check(writer, id, urls).await })
        });
        let writers = futures::future::join_all(writers);
        if phase == "restart" {
            // Replica 1 goes down and comes back while the writers run: while it is down its
            // reads fail and are retried; once up it must answer exactly again.
            let restart = async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                cluster.restart_with(1, &[]).await;
            };
            let (checked, ()) = tokio::join!(writers, restart);
            for checked in checked {
                checked.expect("a writer");
            }
        } else {
            for checked in writers.await {
                checked.expect("a writer");
            }
        }
    }
    // The held-back replica answered from the database, and said so.
    let metrics = scrape(metrics).await;
    let behind = metrics
        .lines()
        .filter(|line| {
            line.starts_with("modelreg_read_cache_reads_total")
                && line.contains("outcome=\"fallback\"")
                && line.contains("reason=\"behind\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    assert!(
        behind > 0.0,
        "no read fell back on the held-back replica:\n{metrics}"
    );
}

/// Updates model `id` round after round through replica `writer % REPLICAS`; after each
/// acknowledged update reads it from every replica, by id and in a page of its name.
async fn write_and_check(writer: usize, id: String, urls: Vec<String>) {
    let name = format!("cached-{writer}");
    for round in 1..=ROUNDS {
        let through = clients(urls[(writer + round) % urls.len()].clone()).await;
        let update = pb::UpdateModelRegistrationRequest {
            model_related_information: Some(pb::ModelRelatedInformation {
                model_registration_id: id.clone(),
                description: format!("round {round}"),
                ..Default::default()
            }),
            ..Default::default()
        };
        let Some(updated) = retry(|| {
            let mut registration = through.registration.clone();
            let update = update.clone();
            async move { registration.update_model_registration(update).await }
        })
        .await
        else {
            continue;
        };
        assert_eq!(round_of(&updated), round);
        for (replica, url) in urls.iter().enumerate() {
            let reader = clients(url.clone()).await;
            let get = pb::GetModelRegistrationRequest {
                model_registration_id: id.clone(),
                ..Default::default()
            };
            if let Some(got) = retry(|| {
                let (mut registration, get) = (reader.registration.clone(), get.clone());
                async move { registration.get_model_registration(get).await }
            })
            .await
            {
                assert!(
                    round_of(&got) >= round,
                    "replica {replica} answered round {} by id after round {round} was acknowledged",
                    round_of(&got)
                );
            }
            let list = pb::ListModelsRequest {
                model_name: name.clone(),
                ..Default::default()
            };
            if let Some(page) = retry(|| {
                let (mut discovery, list) = (reader.discovery.clone(), list.clone());
                async move { discovery.list_models(list).await }
            })
            .await
            {
                let listed = page.models.first().map_or(0, round_of);
                assert!(
                    listed >= round,
                    "replica {replica} listed round {listed} after round {round} was acknowledged"
                );
            }
        }
    }
}

/// A call, tried again while its replica is down (for up to 20 s); `None` if it never
/// answered (the replica restarted for the whole time).
async fn retry<T, F, Fut>(mut call: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match call().await {
            Ok(answer) => return Some(answer.into_inner()),
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
                ) && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("a call failed: {status:?}"),
        }
    }
}
