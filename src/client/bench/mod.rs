//! `modelreg bench`: a load generator that drives a running server over real gRPC with the
//! generated clients, and reports throughput, latency percentiles, errors, and each scenario's
//! throughput as a ratio of `health` (the ceiling of our own stack) measured in the same run.

mod report;
mod scenario;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

pub use report::{Measurement, Report};
pub use scenario::Scenario;
use scenario::{Clients, Worker};

#[derive(Debug, Clone, Args)]
pub struct BenchConfig {
    #[command(flatten)]
    pub connection: super::ConnectionArgs,

    /// Scenarios to run, in order: health, get, list-N (pages of N, e.g. list-100), update,
    /// register, mixed (80% get, 10% list-10, 10% register). `health` always runs first: it is
    /// the ceiling the others are compared with.
    #[arg(
        long = "scenario",
        value_delimiter = ',',
        default_value = "health,get,list-10,list-100,list-1000,update,register,mixed"
    )]
    pub scenarios: Vec<Scenario>,

    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,

    /// HTTP/2 connections the requests share.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,

    /// How long each scenario is measured, e.g. "10s".
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,

    /// Measure this many requests per scenario instead of a duration.
    #[arg(long)]
    pub requests: Option<u64>,

    /// How long each scenario runs unmeasured first, e.g. "2s".
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,

    /// Models registered before the scenarios that read them (get, list, update, mixed); get,
    /// update and mixed need some, list walks whatever the server holds.
    #[arg(long, default_value_t = 1000)]
    pub seed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0} (set --server or MODELREG_SERVER)")]
    Connect(#[from] super::ConnectError),
    #[error("seeding failed: {0}")]
    Seed(tonic::Status),
    #[error("{0} must be at least 1")]
    Zero(&'static str),
}

/// Runs the configured scenarios against the server and returns what was measured. Failed
/// requests are counted in the report, not returned as an error.
pub async fn run(config: &BenchConfig) -> Result<Report, LoadError> {
    if config.concurrency == 0 {
        return Err(LoadError::Zero("--concurrency"));
    }
    if config.connections == 0 {
        return Err(LoadError::Zero("--connections"));
    }
    let mut scenarios = vec![Scenario::Health];
    scenarios.extend(config.scenarios.iter().filter(|s| **s != Scenario::Health));

    let mut channels = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        channels.push(super::open_channel(&config.connection).await?);
    }
    // Names are unique to this run, so runs can share a database.
    let run_id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let mut workers: Vec<Worker> = (0..config.concurrency)
        .map(|i| {
            let clients = Clients::new(channels[i % channels.len()].clone());
            Worker::new(clients, Arc::default(), format!("bench-{run_id}-w{i}"))
        })
        .collect();

    if scenarios.iter().any(|s| s.reads()) && config.seed > 0 {
        let seeded = Arc::new(seed(&mut workers, config.seed).await?);
        for worker in &mut workers {
            worker.seeded = Arc::clone(&seeded);
        }
    }

    let mut report = Report::default();
    for scenario in scenarios {
        if scenario.needs_seed() && config.seed == 0 {
            eprintln!("{scenario}: skipped, it needs --seed above 0");
            continue;
        }
        let (measurement, returned) = measure(scenario, workers, config).await;
        workers = returned;
        report.measurements.push(measurement);
    }
    Ok(report)
}

/// Registers `count` models with all workers at once; returns their ids.
async fn seed(workers: &mut Vec<Worker>, count: usize) -> Result<Vec<String>, LoadError> {
    let progress = progress_bar(count as u64, "seeding models");
    let remaining = Arc::new(AtomicU64::new(count as u64));
    let tasks: Vec<_> = std::mem::take(workers)
        .into_iter()
        .map(|mut worker| {
            let remaining = Arc::clone(&remaining);
            let progress = progress.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                while take_one(&remaining) {
                    match worker.register().await {
                        Ok(id) => ids.push(id),
                        Err(status) => return (worker, Err(status)),
                    }
                    progress.inc(1);
                }
                (worker, Ok(ids))
            })
        })
        .collect();
    let mut seeded = Vec::with_capacity(count);
    let mut failure = None;
    for task in tasks {
        let (worker, ids) = task.await.expect("a seeding task panicked");
        workers.push(worker);
        match ids {
            Ok(ids) => seeded.extend(ids),
            Err(status) => failure = Some(status),
        }
    }
    progress.finish_and_clear();
    match failure {
        Some(status) => Err(LoadError::Seed(status)),
        None => Ok(seeded),
    }
}

/// When measuring starts and stops.
struct Plan {
    measure_from: Instant,
    /// The end of the measured window, when measuring by time.
    until: Option<Instant>,
    /// Requests left to measure, when measuring by count.
    remaining: Option<AtomicU64>,
}

#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    last_answer: Option<Instant>,
    latency: Option<Histogram<u64>>,
}

/// Warms up, then measures one scenario with every worker; gives the workers back.
async fn measure(
    scenario: Scenario,
    workers: Vec<Worker>,
    config: &BenchConfig,
) -> (Measurement, Vec<Worker>) {
    let measure_from = Instant::now() + config.warmup;
    let plan = Arc::new(Plan {
        measure_from,
        until: config
            .requests
            .is_none()
            .then(|| measure_from + config.duration),
        remaining: config.requests.map(AtomicU64::new),
    });
    let spinner = ProgressBar::new_spinner().with_message(format!(
        "{scenario}: {} warm-up, then measuring",
        humantime::format_duration(config.warmup)
    ));
    spinner.enable_steady_tick(Duration::from_millis(200));

    let tasks: Vec<_> = workers
        .into_iter()
        .map(|worker| tokio::spawn(drive(worker, scenario, Arc::clone(&plan))))
        .collect();
    let mut workers = Vec::with_capacity(tasks.len());
    let mut total = Tally::default();
    let mut latency = report::latency_histogram();
    for task in tasks {
        let (worker, tally) = task.await.expect("a load worker panicked");
        workers.push(worker);
        total.requests += tally.requests;
        total.errors += tally.errors;
        total.first_error = total.first_error.or(tally.first_error);
        total.last_answer = total.last_answer.max(tally.last_answer);
        if let Some(histogram) = tally.latency {
            latency.add(histogram).expect("histograms of equal bounds");
        }
    }
    spinner.finish_and_clear();
    let elapsed = total
        .last_answer
        .map(|last| last.saturating_duration_since(measure_from))
        .unwrap_or_default();
    let measurement = Measurement {
        scenario,
        requests: total.requests,
        errors: total.errors,
        first_error: total.first_error,
        elapsed,
        latency,
    };
    (measurement, workers)
}

async fn drive(mut worker: Worker, scenario: Scenario, plan: Arc<Plan>) -> (Worker, Tally) {
    let mut tally = Tally {
        latency: Some(report::latency_histogram()),
        ..Default::default()
    };
    loop {
        let started = Instant::now();
        let measured = started >= plan.measure_from;
        if measured {
            let more = match (&plan.until, &plan.remaining) {
                (Some(until), _) => started < *until,
                (None, Some(remaining)) => take_one(remaining),
                (None, None) => false,
            };
            if !more {
                break;
            }
        }
        let result = worker.request(scenario).await;
        if !measured {
            continue;
        }
        let answered = Instant::now();
        tally.last_answer = Some(answered);
        match result {
            Ok(()) => {
                tally.requests += 1;
                let micros = (answered - started).as_micros() as u64;
                if let Some(latency) = &mut tally.latency {
                    latency.saturating_record(micros.max(1));
                }
            }
            Err(status) => {
                tally.errors += 1;
                tally
                    .first_error
                    .get_or_insert_with(|| format!("{:?}: {}", status.code(), status.message()));
            }
        }
    }
    (worker, tally)
}

/// Takes one from a shared countdown; false when none are left.
fn take_one(remaining: &AtomicU64) -> bool {
    remaining
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

/// A bar on stderr; indicatif hides it when stderr is not a terminal.
fn progress_bar(length: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(length).with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ({per_sec}, {eta})")
    {
        bar.set_style(style);
    }
    bar
}
