//! The event log, measured with the release `modelreg` binary:
//! - register, update and mixed (80% get, 10% list, 10% register) throughput at concurrency 32
//!   (`modelreg::loadgen`, the code behind `modelreg bench`), each printed as a share of
//!   `health` in the same run, and, when a baseline binary built before the event log is given,
//!   as a share of its figures measured in the same run on a fresh database of the same kind;
//! - commit-to-watcher latency: from the moment RegisterModel answered to the moment a watcher
//!   received its event, with one writer and with eight, a watcher on the writer's server and
//!   (PostgreSQL) one on another replica of the same database.
//!
//! `cargo bench --bench events`. Settings, all optional:
//! - `MODELREG_BENCH_POSTGRES_URL`: an administrative PostgreSQL URL; a database is created for
//!   each server set and dropped after it. Unset: PostgreSQL is skipped, and says so.
//! - `MODELREG_BENCH_BASELINE`: a `modelreg` binary built before the event log, for example
//!   from a worktree of the commit before it: `cargo build --release` there.
//! - `MODELREG_BENCH_DURATION`: how long each throughput scenario is measured (default "10s").

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use modelreg::client::ConnectionArgs;
use modelreg::client::bench::{self as loadgen, BenchConfig, Report, Scenario};
use modelreg::pb::{self, model_event_service_client::ModelEventServiceClient};
use modelreg::pb::{
    model_registration_service_client::ModelRegistrationServiceClient,
    watch_models_response::Message,
};

#[path = "../tests/api/common/process.rs"]
mod process;

#[path = "support/settings.rs"]
mod settings;

#[path = "support/postgres.rs"]
mod postgres;

use postgres::BenchDatabase;

#[allow(dead_code)]
#[path = "../tests/api/common/fixtures.rs"]
mod fixtures;

use process::{Serve, ServeProcess};

/// Registrations timed per latency run.
const EVENTS_PER_RUN: usize = 400;

/// Concurrent writers of the latency runs.
const WRITERS: [usize; 2] = [1, 8];

/// Registrations before the timed ones, from as many writers as the timed runs have at most:
/// the first events of a server pay for its first statements and for opening the pool's
/// connections.
const WARM_UP_EVENTS: usize = 40;

/// One database for one set of servers: a SQLite file, or a PostgreSQL database created for it.
struct Db {
    url: String,
    postgres: Option<BenchDatabase>,
    _folder: tempfile::TempDir,
}

impl Db {
    async fn create(postgres_admin: Option<&str>) -> Self {
        let folder = tempfile::tempdir().expect("temporary folder");
        let postgres = match postgres_admin {
            Some(admin_url) => Some(BenchDatabase::create(admin_url).await),
            None => None,
        };
        let url = match &postgres {
            None => format!(
                "sqlite://{}?mode=rwc",
                folder.path().join("modelreg.db").display()
            ),
            Some(database) => database.url.clone(),
        };
        Self {
            url,
            postgres,
            _folder: folder,
        }
    }

    async fn drop_database(self) {
        if let Some(database) = self.postgres {
            database.drop_database().await;
        }
    }

    /// A server of `binary` (the one built with this benchmark when `None`) on this database.
    async fn serve(&self, binary: Option<&Path>) -> ServeProcess {
        let artifacts = tempfile::tempdir().expect("temporary folder").keep();
        let artifacts = url::Url::from_directory_path(artifacts).unwrap();
        let serve = match binary {
            Some(binary) => Serve::of_binary(binary),
            None => Serve::new(),
        };
        serve
            .args(["--database-url", &self.url])
            .args(["--artifact-store", artifacts.as_str()])
            .start()
            .await
    }
}

async fn stop(mut server: ServeProcess) {
    server.terminate();
    assert!(
        server.wait(Duration::from_secs(30)).await.is_some(),
        "modelreg stops within 30 s of SIGTERM"
    );
}

/// Health, register and update on a fresh database served by `binary`.
async fn throughput(postgres: Option<&str>, binary: Option<&Path>, duration: Duration) -> Report {
    let db = Db::create(postgres).await;
    let server = db.serve(binary).await;
    let config = BenchConfig {
        connection: ConnectionArgs::new(server.url()),
        scenarios: vec![
            Scenario::Health,
            Scenario::Register,
            Scenario::Update,
            Scenario::Mixed,
        ],
        concurrency: 32,
        connections: 4,
        duration,
        requests: None,
        warmup: Duration::from_secs(2),
        seed: 1000,
    };
    if postgres.is_some() {
        // As in the load benchmark.
        settings::gather_statistics(&config, &db.url).await;
    }
    let report = loadgen::run(&config).await.expect("the load run");
    stop(server).await;
    db.drop_database().await;
    report
}

async fn compare_throughput(
    backend: &str,
    postgres: Option<&str>,
    baseline: Option<&Path>,
    duration: Duration,
) -> u64 {
    let current = throughput(postgres, None, duration).await;
    println!("{backend}, with the event log:");
    print!("{current}");
    let mut errors = current.errors();
    let Some(baseline) = baseline else {
        println!("  (set MODELREG_BENCH_BASELINE to compare with a build before the event log)");
        return errors;
    };
    let before = throughput(postgres, Some(baseline), duration).await;
    println!("{backend}, baseline {}:", baseline.display());
    print!("{before}");
    errors += before.errors();
    for scenario in [Scenario::Register, Scenario::Update, Scenario::Mixed] {
        let rate = |report: &Report| report.get(scenario).map_or(0.0, |m| m.throughput());
        println!(
            "  {scenario:?}: {:.0} req/s with the log, {:.0} before: {:.0}% of before \
             (of health: {:.1}% with the log, {:.1}% before)",
            rate(&current),
            rate(&before),
            100.0 * rate(&current) / rate(&before).max(f64::MIN_POSITIVE),
            100.0 * current.ratio_to_health(scenario).unwrap_or(0.0),
            100.0 * before.ratio_to_health(scenario).unwrap_or(0.0),
        );
    }
    errors
}

/// When each watcher received each model's event.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// Watches every change on `url` from now on, recording arrivals until `expected` came.
async fn watcher(url: String, expected: usize) -> (tokio::task::JoinHandle<()>, Arrivals) {
    let client = ModelEventServiceClient::connect(url)
        .await
        .expect("connect the watcher");
    let mut stream = client
        .clone()
        .watch_models(pb::WatchModelsRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let arrivals: Arrivals = Arc::default();
    let recorded = arrivals.clone();
    let task = tokio::spawn(async move {
        let mut seen = 0;
        while seen < expected {
            let message = stream
                .message()
                .await
                .expect("the watch goes on")
                .expect("the watch goes on");
            if let Some(Message::Event(event)) = message.message {
                let name = event.model_id.expect("a model id").model_name;
                recorded.lock().unwrap().insert(name, Instant::now());
                seen += 1;
            }
        }
    });
    (task, arrivals)
}

/// Registers `events` models from `writers` concurrent writers on `url`; when each call
/// answered.
async fn write(url: &str, writers: usize, events: usize, run: &str) -> HashMap<String, Instant> {
    let client = ModelRegistrationServiceClient::connect(url.to_owned())
        .await
        .expect("connect the writer");
    let per_writer = events / writers;
    let tasks = (0..writers).map(|writer| {
        let client = client.clone();
        let run = run.to_owned();
        tokio::spawn(async move {
            let mut answered = Vec::with_capacity(per_writer);
            for i in 0..per_writer {
                let name = format!("{run}-w{writer}-{i}");
                client
                    .clone()
                    .register_model(pb::RegisterModelRequest {
                        model_related_information: Some(fixtures::model(&name, "1", 3)),
                        request_id: String::new(),
                    })
                    .await
                    .expect("register");
                answered.push((name, Instant::now()));
            }
            answered
        })
    });
    let mut answered = HashMap::new();
    for task in futures::future::join_all(tasks).await {
        answered.extend(task.expect("a writer"));
    }
    answered
}

/// p50, p99 and max of arrival − answer, in ms; an event that came before its answer counts 0.
fn latencies(answered: &HashMap<String, Instant>, arrivals: &Arrivals) -> String {
    let arrivals = arrivals.lock().unwrap();
    let mut samples: Vec<Duration> = answered
        .iter()
        .map(|(name, answer)| {
            let arrival = arrivals.get(name).expect("every event arrived");
            arrival.saturating_duration_since(*answer)
        })
        .collect();
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} events)",
        ms(at(0.50)),
        ms(at(0.99)),
        ms(at(1.0)),
        samples.len()
    )
}

async fn delivery_latency(backend: &str, postgres: Option<&str>) {
    let db = Db::create(postgres).await;
    let writer = db.serve(None).await;
    // On SQLite replicas share no process: one server, watched where it is written.
    let other = match postgres {
        Some(_) => Some(db.serve(None).await),
        None => None,
    };
    // Not timed: every server's feed and statements are warm, as in a running deployment.
    let mut warming = vec![watcher(writer.url(), WARM_UP_EVENTS).await];
    if let Some(other) = &other {
        warming.push(watcher(other.url(), WARM_UP_EVENTS).await);
    }
    let most_writers = WRITERS.into_iter().max().unwrap_or(1);
    write(&writer.url(), most_writers, WARM_UP_EVENTS, "warm-up").await;
    for (task, _) in warming {
        task.await.expect("a warm-up watcher");
    }
    for writers in WRITERS {
        let run = format!("latency{writers}");
        let (same_task, same) = watcher(writer.url(), EVENTS_PER_RUN).await;
        let other_watch = match &other {
            Some(other) => Some(watcher(other.url(), EVENTS_PER_RUN).await),
            None => None,
        };
        let answered = write(&writer.url(), writers, EVENTS_PER_RUN, &run).await;
        same_task.await.expect("the watcher on the writer's server");
        println!(
            "{backend}, {writers} writer(s), watcher on the writer's server: {}",
            latencies(&answered, &same)
        );
        if let Some((task, arrivals)) = other_watch {
            task.await.expect("the watcher on another replica");
            println!(
                "{backend}, {writers} writer(s), watcher on another replica: {}",
                latencies(&answered, &arrivals)
            );
        }
    }
    stop(writer).await;
    if let Some(other) = other {
        stop(other).await;
    }
    db.drop_database().await;
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    println!(
        "events benchmark on {} cores; clients and servers share them",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let duration = settings::measured_duration();
    let baseline = std::env::var_os("MODELREG_BENCH_BASELINE").map(PathBuf::from);
    let postgres = std::env::var("MODELREG_BENCH_POSTGRES_URL").ok();

    let mut errors = 0;
    println!("\n== throughput ==");
    errors += compare_throughput("SQLite", None, baseline.as_deref(), duration).await;
    match &postgres {
        Some(url) => {
            errors +=
                compare_throughput("PostgreSQL", Some(url), baseline.as_deref(), duration).await;
        }
        None => println!("PostgreSQL: skipped, set MODELREG_BENCH_POSTGRES_URL to measure it"),
    }

    println!("\n== commit-to-watcher latency, from the moment RegisterModel answered ==");
    delivery_latency("SQLite", None).await;
    if let Some(url) = &postgres {
        delivery_latency("PostgreSQL", Some(url)).await;
    }
    if errors > 0 {
        eprintln!("{errors} requests failed during the benchmark");
        std::process::exit(1);
    }
}
