//! Discovery at scale: 100,000 models with 3 target environments and 5 labels each, registered
//! through the API, then the first page of 100 of filters that combine a platform and a label,
//! timed one request at a time on SQLite and (with `MODELREG_BENCH_POSTGRES_URL`) PostgreSQL,
//! with each database's plan of the page's statement.
//!
//! `cargo bench --bench discovery`. Settings, all optional:
//! - `MODELREG_BENCH_POSTGRES_URL`: an administrative PostgreSQL URL; a database is created for
//!   the run and dropped after it. Unset: PostgreSQL is skipped, and says so.
//! - `MODELREG_BENCH_MODELS`: how many models to register (default 100000).
//!
//! The server runs in this process, so that its statements can be captured and explained; the
//! figures are the client's, over a real socket. A missed floor is reported, not hidden.
//!
//! Then, on the SQLite file, what the read cache holds of those models: the release binary
//! started with the cache and without it, each process's resident memory once it serves
//! (and, with the cache, once the cache is filled), and the cache's own estimate.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use modelreg::pb::{
    self, model_discovery_service_client::ModelDiscoveryServiceClient,
    model_registration_service_client::ModelRegistrationServiceClient,
};
use modelreg::{Application, CacheMode, ServeConfig, StatementObserver};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

#[path = "support/postgres.rs"]
mod postgres;

#[path = "../tests/api/common/process.rs"]
mod process;

#[path = "../tests/api/common/prometheus.rs"]
mod prometheus;

use postgres::BenchDatabase;

// The server's allocator (see src/main.rs): the server runs in this process, and what a page
// costs besides its query is mostly allocation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PLATFORMS: [&str; 10] = [
    "kserve",
    "triton",
    "docker",
    "seldon",
    "bentoml",
    "torchserve",
    "tfserving",
    "onnxrt",
    "ray",
    "vllm",
];
const TYPES: [&str; 4] = ["onnx", "tensorrt", "python", "torchscript"];
const STAGES: [&str; 4] = ["dev", "staging", "canary", "production"];
const TIERS: [&str; 3] = ["bronze", "silver", "gold"];

/// The filters timed, each with the share of models it matches. The floor is the first's.
const FILTERS: [(&str, &str); 4] = [
    (
        "platform + label (1.5%)",
        "model_information.target_environment.platform_name = \"kserve\" AND labels.team = \"team-7\"",
    ),
    (
        "environment group + label (0.4%)",
        "model_information.target_environment(platform_name = \"kserve\" AND environment_type = \"onnx\") AND labels.team = \"team-7\"",
    ),
    ("label only (5%)", "labels.team = \"team-7\""),
    // What a page costs besides finding its registrations.
    ("no filter (100%)", ""),
];

const PAGE: i32 = 100;
const SAMPLES: usize = 200;
const CONCURRENT_REGISTRATIONS: usize = 16;
const FLOOR: Duration = Duration::from_millis(10);

/// The `index`-th model: attributes drawn from a generator seeded by the index, so that no
/// two attributes are correlated and every run registers the same models.
fn model(index: u64) -> pb::ModelRelatedInformation {
    let mut rng = fastrand::Rng::with_seed(index);
    let mut platforms = PLATFORMS.to_vec();
    rng.shuffle(&mut platforms);
    let labels = [
        ("team", format!("team-{}", rng.u32(..20))),
        ("stage", STAGES[rng.usize(..STAGES.len())].to_owned()),
        ("tier", TIERS[rng.usize(..TIERS.len())].to_owned()),
        ("region", format!("region-{}", rng.u32(..8))),
        ("component", format!("component-{}", rng.u32(..50))),
    ];
    pb::ModelRelatedInformation {
        model_id: Some(pb::ModelId {
            model_name: format!("model-{:05}", index / 10),
            model_version: format!("{}.0", index % 10),
            artifact_version: String::new(),
        }),
        description: format!("benchmark model {index}"),
        model_information: Some(pb::ModelInformation {
            metadata: Some(pb::Metadata {
                author: "bench".into(),
                owner: String::new(),
            }),
            input_data_type: vec!["pdcpBytesDl".into()],
            output_data_type: vec!["qoe".into()],
            target_environment: platforms[..3]
                .iter()
                .map(|platform| pb::TargetEnvironment {
                    platform_name: platform.to_string(),
                    environment_type: TYPES[rng.usize(..TYPES.len())].to_owned(),
                    dependency_list: "numpy".into(),
                })
                .collect(),
        }),
        labels: labels
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
        ..Default::default()
    }
}

async fn seed(channel: &Channel, models: u64) {
    let started = Instant::now();
    let registration = ModelRegistrationServiceClient::new(channel.clone());
    let mut done = 0;
    let mut calls = futures::stream::iter(0..models)
        .map(|index| {
            let mut client = registration.clone();
            async move {
                client
                    .register_model(pb::RegisterModelRequest {
                        model_related_information: Some(model(index)),
                        request_id: String::new(),
                    })
                    .await
                    .expect("register a model")
            }
        })
        .buffer_unordered(CONCURRENT_REGISTRATIONS);
    while calls.next().await.is_some() {
        done += 1;
        if done % 20_000 == 0 {
            println!(
                "  registered {done} models in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "registered {models} models in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

struct Timing {
    p50: Duration,
    p99: Duration,
}

fn timing(mut samples: Vec<Duration>) -> Timing {
    samples.sort();
    Timing {
        p50: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
    }
}

async fn time_health(channel: &Channel) -> Timing {
    let mut health = HealthClient::new(channel.clone());
    let mut samples = Vec::with_capacity(SAMPLES);
    for round in 0..SAMPLES + 20 {
        let started = Instant::now();
        health
            .check(HealthCheckRequest::default())
            .await
            .expect("health");
        if round >= 20 {
            samples.push(started.elapsed());
        }
    }
    timing(samples)
}

async fn time_filter(channel: &Channel, filter: &str) -> (Timing, usize) {
    let mut discovery = ModelDiscoveryServiceClient::new(channel.clone());
    let request = pb::ListModelsRequest {
        filter: filter.into(),
        page_size: PAGE,
        ..Default::default()
    };
    let mut samples = Vec::with_capacity(SAMPLES);
    let mut found = 0;
    for round in 0..SAMPLES + 20 {
        let started = Instant::now();
        let page = discovery
            .list_models(request.clone())
            .await
            .expect("list")
            .into_inner();
        if round >= 20 {
            samples.push(started.elapsed());
        }
        found = page.models.len();
    }
    (timing(samples), found)
}

/// The database's plan of the statement that reads a page's registrations.
async fn explain(database_url: &str, statement: &str) -> String {
    let db = Database::connect(database_url).await.expect("connect");
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {statement}"),
        _ => format!("EXPLAIN QUERY PLAN {statement}"),
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("EXPLAIN");
    let lines: Vec<String> = rows
        .iter()
        .map(|row| match backend {
            DbBackend::Postgres => row.try_get_by_index::<String>(0).unwrap(),
            _ => {
                let detail: String = row.try_get("", "detail").unwrap();
                let id: i64 = row.try_get("", "id").unwrap();
                let parent: i64 = row.try_get("", "parent").unwrap();
                format!("{id:>3} {parent:>3}  {detail}")
            }
        })
        .collect();
    db.close().await.ok();
    lines.join("\n")
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A server in this process on `database_url`, its statements captured into `captured`.
struct InProcess {
    channel: Channel,
    metrics: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl InProcess {
    async fn start(
        database_url: &str,
        folder: &std::path::Path,
        captured: &Arc<Mutex<Option<Vec<String>>>>,
        read_cache: CacheMode,
    ) -> Self {
        let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), database_url);
        config.artifacts.artifact_store = Some(
            url::Url::from_directory_path(folder.join("artifacts"))
                .unwrap()
                .to_string(),
        );
        config.cache.read_cache = read_cache;
        let metrics = prometheus::free_address();
        config.metrics_listen = Some(metrics);
        let capture = Arc::clone(captured);
        config.statement_observer = Some(StatementObserver::with_values(move |sql| {
            if let Some(statements) = capture.lock().unwrap().as_mut() {
                statements.push(sql.to_owned());
            }
        }));
        let app = Application::build(config).await.expect("the server starts");
        let addr = app.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .expect("the server runs");
        });
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .expect("connect");
        Self {
            channel,
            metrics,
            stop,
            server,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.expect("the server stops");
    }
}

async fn run_backend(name: &str, database_url: &str, models: u64) -> bool {
    println!("\n== {name} ==");
    let folder = tempfile::tempdir().expect("temporary folder");
    let captured: Arc<Mutex<Option<Vec<String>>>> = Arc::default();
    // Seeded without the cache: the cache's gauges (one recorder per process) then first move
    // when the cached server below fills.
    let server = InProcess::start(database_url, folder.path(), &captured, CacheMode::Off).await;
    seed(&server.channel, models).await;
    server.stop().await;
    if database_url.starts_with("postgres") {
        // This machine's PostgreSQL runs without autovacuum; production's would have vacuumed
        // (so that index-only scans need no heap) and analyzed tables this size by now.
        let db = Database::connect(database_url).await.expect("connect");
        db.execute_unprepared("VACUUM ANALYZE")
            .await
            .expect("VACUUM ANALYZE");
        db.close().await.ok();
    }

    let mut met = true;
    // The database's filters first (the floor is theirs), then the read cache's.
    for read_cache in [CacheMode::Off, CacheMode::On] {
        let server = InProcess::start(database_url, folder.path(), &captured, read_cache).await;
        let channel = &server.channel;
        if read_cache == CacheMode::On {
            wait_for_the_cache(server.metrics, models).await;
        }
        let health = time_health(channel).await;
        println!(
            "read cache {read_cache:?}: health check p50 {:.2} ms, p99 {:.2} ms",
            ms(health.p50),
            ms(health.p99)
        );
        for (label, filter) in FILTERS {
            let (timed, found) = time_filter(channel, filter).await;
            let verdict = if filter != FILTERS[0].1 {
                String::new()
            } else if timed.p50 < FLOOR {
                format!("; floor p50 < {} ms met", FLOOR.as_millis())
            } else {
                met = false;
                format!("; floor p50 < {} ms MISSED", FLOOR.as_millis())
            };
            println!(
                "{label:<34} first page of {PAGE}: {found} models, p50 {:.2} ms ({:.1}x health), \
                 p99 {:.2} ms{verdict}",
                ms(timed.p50),
                ms(timed.p50) / ms(health.p50),
                ms(timed.p99),
            );
        }
        if read_cache == CacheMode::Off {
            // The plans of the filters' page statements, as the server sent them.
            for (label, filter) in &FILTERS[..2] {
                *captured.lock().unwrap() = Some(Vec::new());
                time_one(channel, filter).await;
                let statements = captured.lock().unwrap().take().unwrap();
                let page = statements
                    .iter()
                    .find(|sql| sql.contains("LIMIT"))
                    .expect("the page's statement");
                println!("statement of \"{label}\":\n{page}");
                println!("plan:\n{}", explain(database_url, page).await);
            }
        }
        server.stop().await;
    }
    met
}

/// Waits until the cache holds every model.
async fn wait_for_the_cache(metrics: std::net::SocketAddr, models: u64) {
    let started = Instant::now();
    loop {
        let text = prometheus::scrape(metrics).await;
        if prometheus::sample(&text, "modelreg_read_cache_registrations", None) >= models as f64 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the cache never filled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn time_one(channel: &Channel, filter: &str) {
    ModelDiscoveryServiceClient::new(channel.clone())
        .list_models(pb::ListModelsRequest {
            filter: filter.into(),
            page_size: PAGE,
            ..Default::default()
        })
        .await
        .expect("list");
}

#[tokio::main]
async fn main() {
    let models: u64 = std::env::var("MODELREG_BENCH_MODELS")
        .ok()
        .map(|text| text.parse().expect("MODELREG_BENCH_MODELS"))
        .unwrap_or(100_000);
    println!(
        "discovery benchmark on {} cores, {models} models × 3 environments × 5 labels",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let folder = tempfile::tempdir().expect("temporary folder");
    let sqlite_url = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("modelreg.db").display()
    );
    let mut met = run_backend("SQLite", &sqlite_url, models).await;
    memory_of_the_read_cache(&sqlite_url, folder.path(), models).await;
    match std::env::var("MODELREG_BENCH_POSTGRES_URL") {
        Ok(admin_url) => {
            let database = BenchDatabase::create(&admin_url).await;
            met &= run_backend("PostgreSQL", &database.url, models).await;
            database.drop_database().await;
        }
        Err(_) => println!("\nPostgreSQL: skipped, set MODELREG_BENCH_POSTGRES_URL to measure it"),
    }
    if !met {
        println!("\na floor was missed");
    }
}

/// Starts the release binary on the database of `url` with the read cache and without it, and
/// prints what the cache takes per registration: resident memory with it minus without it, and
/// the cache's own estimate.
async fn memory_of_the_read_cache(url: &str, folder: &std::path::Path, models: u64) {
    println!("\n== the read cache's memory (SQLite file of {models} models) ==");
    let artifacts = url::Url::from_directory_path(folder.join("artifacts")).unwrap();
    let mut resident = Vec::new();
    for cache in ["on", "off"] {
        let metrics = prometheus::free_address();
        let started = Instant::now();
        let mut server = process::Serve::new()
            .args([
                "--database-url",
                url,
                "--artifact-store",
                artifacts.as_str(),
            ])
            .args([
                "--read-cache",
                cache,
                // Room for every model, whatever the estimate per model.
                "--read-cache-bytes",
                "4GiB",
                "--metrics-listen",
                &metrics.to_string(),
            ])
            .args(["--gc-interval", "0s"])
            .start()
            .await;
        if cache == "on" {
            let estimate = loop {
                let text = prometheus::scrape(metrics).await;
                let held = prometheus::sample(&text, "modelreg_read_cache_registrations", None);
                if held >= models as f64 {
                    break prometheus::sample(&text, "modelreg_read_cache_bytes", None);
                }
                assert!(
                    started.elapsed() < Duration::from_secs(300),
                    "the cache never filled"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            println!(
                "cache filled {:.1} s after the start; estimated {:.0} MiB, {:.0} bytes per registration",
                started.elapsed().as_secs_f64(),
                estimate / 1048576.0,
                estimate / models as f64
            );
        }
        // Both serve reads before they are measured: pools and buffers as in use.
        let channel = Channel::from_shared(server.url())
            .unwrap()
            .connect()
            .await
            .unwrap();
        time_health(&channel).await;
        let rss = rss_anon(server.pid());
        println!(
            "read cache {cache}: resident (anonymous) {:.0} MiB",
            rss / 1048576.0
        );
        resident.push(rss);
        if cache == "on" {
            // Every page once: each registration's protobuf is then kept with it.
            let started = Instant::now();
            let mut discovery = ModelDiscoveryServiceClient::new(channel.clone());
            let mut page_token = String::new();
            loop {
                let page = discovery
                    .list_models(pb::ListModelsRequest {
                        page_size: 1000,
                        page_token,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                page_token = page.next_page_token;
                if page_token.is_empty() {
                    break;
                }
            }
            let encoded = rss_anon(server.pid());
            println!(
                "every page served once ({:.1} s): resident (anonymous) {:.0} MiB, {:.0} bytes per registration more with the protobuf kept",
                started.elapsed().as_secs_f64(),
                encoded / 1048576.0,
                (encoded - rss) / models as f64
            );
            resident[0] = encoded;
        }
        server.terminate();
        server.wait(Duration::from_secs(30)).await;
    }
    println!(
        "the cache's resident cost, encodings included: {:.0} bytes per registration (3 environments, 5 labels)",
        (resident[0] - resident[1]) / models as f64
    );
}

/// A process's anonymous resident memory, in bytes: the SQLite file's pages that its readers
/// map are not the cache's.
fn rss_anon(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib * 1024.0
}
