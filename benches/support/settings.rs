//! What the benchmarks share: how long a scenario is measured, and the statistics a new
//! PostgreSQL database needs before it is measured.

use std::time::Duration;

use modelreg::client::bench::{self as loadgen, BenchConfig, Scenario};
use sea_orm::{ConnectionTrait, Database};

/// How long each scenario is measured: `MODELREG_BENCH_DURATION`, "10s" by default.
pub fn measured_duration() -> Duration {
    std::env::var("MODELREG_BENCH_DURATION")
        .ok()
        .map(|text| humantime::parse_duration(&text).expect("MODELREG_BENCH_DURATION"))
        .unwrap_or(Duration::from_secs(10))
}

/// Registers a first thousand models with `config`'s server, then runs ANALYZE on
/// `database_url`. This machine's PostgreSQL runs with autovacuum off, so a new database never
/// gets statistics; with none, PostgreSQL caches generic plans (a sequential scan of the
/// environments) that turn slow as the tables grow. Production keeps autovacuum on: one
/// ANALYZE after a first thousand models stands in for it.
#[allow(dead_code)]
pub async fn gather_statistics(config: &BenchConfig, database_url: &str) {
    let warm = BenchConfig {
        scenarios: vec![Scenario::Register],
        requests: Some(1000),
        warmup: Duration::ZERO,
        seed: 0,
        ..config.clone()
    };
    loadgen::run(&warm).await.expect("the pre-seeding run");
    let database = Database::connect(database_url).await.expect("connect");
    database
        .execute_unprepared("ANALYZE")
        .await
        .expect("ANALYZE");
    database.close().await.ok();
}

/// The median of a run's rounds.
#[allow(dead_code)]
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
