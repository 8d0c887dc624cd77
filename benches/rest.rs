//! The REST front-end's cost, measured against gRPC's: starts the release `modelreg` binary on
//! SQLite, registers 1000 models, then times at concurrency 32, in the same run: gRPC health
//! (the ceiling of our own stack), `GetModelRegistration` over gRPC, and `GET
//! …/model-registrations/{id}` over REST, on HTTP/1.1 (a pool of connections, as curl and
//! most REST clients use) and on HTTP/2 (cleartext, 4 connections, as the gRPC clients).
//! Prints each one's throughput and latency, and REST's share of gRPC's.
//!
//! `cargo bench --bench rest`; `MODELREG_BENCH_DURATION` sets how long each is measured
//! (default "10s"). Any failed request fails the benchmark.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use modelreg::pb::{self, model_registration_service_client::ModelRegistrationServiceClient};
use tokio::sync::Mutex;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[path = "../tests/api/common/process.rs"]
mod process;

#[path = "support/settings.rs"]
mod settings;

const MODELS: usize = 1000;
const CONCURRENCY: usize = 32;
const CONNECTIONS: usize = 4;
const WARMUP: Duration = Duration::from_secs(2);

/// One measured scenario.
struct Measured {
    name: &'static str,
    requests: u64,
    elapsed: Duration,
    latencies: Histogram<u64>,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.latencies.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// Runs `request` from `CONCURRENCY` tasks for `duration` (after a warm-up), each task `i`
/// calling `request(i, n)` for its n-th request.
async fn measure<F, Fut>(name: &'static str, duration: Duration, request: F) -> Measured
where
    F: Fn(usize, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new(3).unwrap()));
    let counted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let measuring_from = started + WARMUP;
    let until = measuring_from + duration;
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|task| {
            let (request, latencies, counted) =
                (request.clone(), latencies.clone(), counted.clone());
            tokio::spawn(async move {
                let mut own = Histogram::<u64>::new(3).unwrap();
                let mut n = 0;
                loop {
                    let sent = Instant::now();
                    if sent >= until {
                        break;
                    }
                    request(task, n).await;
                    n += 1;
                    if sent >= measuring_from {
                        own.record(sent.elapsed().as_micros() as u64).unwrap();
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.lock().await.add(own).unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a load task");
    }
    let latencies = Arc::try_unwrap(latencies).unwrap().into_inner();
    Measured {
        name,
        requests: counted.load(Ordering::Relaxed),
        elapsed: duration,
        latencies,
    }
}

fn model(i: usize) -> pb::ModelRelatedInformation {
    pb::ModelRelatedInformation {
        model_id: Some(pb::ModelId {
            model_name: format!("bench-{i:05}"),
            model_version: "1".into(),
            artifact_version: String::new(),
        }),
        description: "a model of the REST benchmark".into(),
        model_information: Some(pb::ModelInformation {
            metadata: Some(pb::Metadata {
                author: "bench".into(),
                owner: "ran-team".into(),
            }),
            input_data_type: vec!["pdcpBytesDl".into(), "pdcpBytesUl".into()],
            output_data_type: vec!["qoe".into()],
            target_environment: (0..3)
                .map(|e| pb::TargetEnvironment {
                    platform_name: format!("platform-{e}"),
                    environment_type: "onnx".into(),
                    dependency_list: "numpy,onnxruntime".into(),
                })
                .collect(),
        }),
        model_location: "s3://models/bench.zip".into(),
        ..Default::default()
    }
}

#[tokio::main]
async fn main() {
    println!(
        "REST benchmark on {} cores; client and server share them",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let folder = tempfile::tempdir().expect("temporary folder");
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("modelreg.db").display()
    );
    let artifacts = url::Url::from_directory_path(folder.path().join("artifacts")).unwrap();
    let log = std::fs::File::create(folder.path().join("server.log")).expect("the server log");
    let mut server = process::Serve::new()
        .args(["--database-url", &database_url])
        .args(["--artifact-store", artifacts.as_str()])
        .log_to(log)
        .start()
        .await;
    let url = server.url();
    let channels: Vec<Channel> = futures::future::join_all((0..CONNECTIONS).map(|_| {
        let url = url.clone();
        async move { Channel::from_shared(url).unwrap().connect().await.unwrap() }
    }))
    .await;

    let registration = ModelRegistrationServiceClient::new(channels[0].clone());
    let ids: Vec<String> = futures::future::join_all((0..MODELS).map(|i| {
        let mut client = registration.clone();
        async move {
            client
                .register_model(pb::RegisterModelRequest {
                    model_related_information: Some(model(i)),
                    request_id: String::new(),
                })
                .await
                .expect("seeding")
                .into_inner()
                .model_registration_id
        }
    }))
    .await;
    let ids = Arc::new(ids);
    println!("{MODELS} models registered; concurrency {CONCURRENCY}");

    let duration = settings::measured_duration();
    let channels = Arc::new(channels);
    let health = {
        let channels = channels.clone();
        measure("gRPC health", duration, move |task, _| {
            let mut client = HealthClient::new(channels[task % CONNECTIONS].clone());
            async move {
                client
                    .check(HealthCheckRequest::default())
                    .await
                    .expect("health");
            }
        })
        .await
    };
    let grpc_get = {
        let (channels, ids) = (channels.clone(), ids.clone());
        measure("gRPC get", duration, move |task, n| {
            let mut client =
                ModelRegistrationServiceClient::new(channels[task % CONNECTIONS].clone());
            let id = ids[(task * 7919 + n as usize * 31) % MODELS].clone();
            async move {
                client
                    .get_model_registration(pb::GetModelRegistrationRequest {
                        model_registration_id: id,
                        model: None,
                    })
                    .await
                    .expect("get");
            }
        })
        .await
    };
    let http1 = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let rest_http1 = rest_get("REST get, HTTP/1.1", duration, &url, vec![http1], &ids).await;
    let http2: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            reqwest::Client::builder()
                .http2_prior_knowledge()
                .build()
                .unwrap()
        })
        .collect();
    let rest_http2 = rest_get("REST get, HTTP/2", duration, &url, http2, &ids).await;
    server.terminate();
    server.wait(Duration::from_secs(30)).await;

    println!(
        "\n{:<22} {:>10} {:>9} {:>9} {:>10} {:>12}",
        "", "req/s", "p50 ms", "p99 ms", "of health", "of gRPC get"
    );
    for measured in [&health, &grpc_get, &rest_http1, &rest_http2] {
        println!(
            "{:<22} {:>10.0} {:>9.2} {:>9.2} {:>9.1}% {:>11.1}%",
            measured.name,
            measured.per_second(),
            measured.ms(0.5),
            measured.ms(0.99),
            100.0 * measured.per_second() / health.per_second(),
            100.0 * measured.per_second() / grpc_get.per_second(),
        );
    }
}

async fn rest_get(
    name: &'static str,
    duration: Duration,
    url: &str,
    clients: Vec<reqwest::Client>,
    ids: &Arc<Vec<String>>,
) -> Measured {
    let (clients, ids) = (Arc::new(clients), ids.clone());
    let base = format!("{url}/ai-ml-model-registration/v1/model-registrations");
    measure(name, duration, move |task, n| {
        let client = clients[task % clients.len()].clone();
        let target = format!("{base}/{}", ids[(task * 7919 + n as usize * 31) % MODELS]);
        async move {
            let response = client.get(target).send().await.expect("a REST get");
            assert_eq!(response.status(), 200);
            response.bytes().await.expect("the body");
        }
    })
    .await
}
