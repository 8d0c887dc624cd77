//! The performance floors, measured: starts the release `modelreg` binary on SQLite and (with
//! `MODELREG_BENCH_POSTGRES_URL`) on PostgreSQL, times its cold start on an existing database,
//! runs every load scenario at concurrency 32 with `modelreg::loadgen` (the code behind
//! `modelreg bench`), runs the list scenarios again with one client, and prints the figures
//! with each floor checked.
//!
//! `cargo bench --bench load`. Settings, all optional:
//! - `MODELREG_BENCH_POSTGRES_URL`: an administrative PostgreSQL URL; a database is created for
//!   the run and dropped after it. Unset: PostgreSQL is skipped, and says so.
//! - `MODELREG_BENCH_DURATION`: how long each scenario is measured (default "10s").
//!
//! The server logs as it does by default (one line per RPC) into a file in the run's temporary
//! folder. Any failed request fails the benchmark; a missed floor is reported, not hidden.

use std::path::Path;
use std::time::{Duration, Instant};

use modelreg::client::ConnectionArgs;
use modelreg::client::bench::{self as loadgen, BenchConfig, Report, Scenario};

#[path = "../tests/api/common/process.rs"]
mod process;

#[path = "support/settings.rs"]
mod settings;

#[path = "support/postgres.rs"]
mod postgres;

use postgres::BenchDatabase;

use process::{Serve, ServeProcess};

const COLD_STARTS: usize = 5;

struct Server(ServeProcess);

impl Server {
    /// Starts the server and returns it once it reports SERVING, with the time that took.
    async fn start(database_url: &str, folder: &Path, args: &[&str]) -> (Self, Duration) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(folder.join("server.log"))
            .expect("open the server log");
        let artifacts = url::Url::from_directory_path(folder.join("artifacts")).unwrap();
        let started = Instant::now();
        let process = Serve::new()
            .args(["--database-url", database_url])
            .args(["--artifact-store", artifacts.as_str()])
            .args(args)
            .log_to(log)
            .start()
            .await;
        (Self(process), started.elapsed())
    }

    /// SIGTERM, then waits for the graceful exit.
    async fn stop(mut self) {
        self.0.terminate();
        if self.0.wait(Duration::from_secs(30)).await.is_none() {
            panic!("modelreg did not stop within 30 s of SIGTERM");
        }
    }
}

/// Floors per backend.
struct Floors {
    register_ratio: f64,
}

struct Check {
    what: String,
    measured: String,
    met: bool,
}

fn check(what: impl Into<String>, measured: String, met: bool) -> Check {
    Check {
        what: what.into(),
        measured,
        met,
    }
}

async fn run_backend(
    name: &str,
    database_url: &str,
    folder: &Path,
    floors: Floors,
    analyze: bool,
) -> bool {
    println!("\n== {name} ==");
    // The first start creates the schema; the timed ones open an existing database.
    let (server, _) = Server::start(database_url, folder, &[]).await;
    server.stop().await;
    let mut cold = Vec::new();
    for _ in 0..COLD_STARTS {
        let (server, took) = Server::start(database_url, folder, &[]).await;
        cold.push(took);
        server.stop().await;
    }
    cold.sort();
    let cold_median = cold[COLD_STARTS / 2];
    println!(
        "cold start to SERVING on an existing database ({COLD_STARTS} starts): median {:.1} ms, \
         min {:.1} ms, max {:.1} ms",
        ms(cold_median),
        ms(cold[0]),
        ms(cold[COLD_STARTS - 1])
    );

    // The read cache off first: the same data, read from the database on every call.
    let (uncached, uncached_alone) = measure(
        database_url,
        folder,
        &["--read-cache", "off"],
        analyze,
        "read cache off",
    )
    .await;
    let (loaded, alone) = measure(database_url, folder, &[], false, "read cache on").await;
    println!("read cache on vs off (shares of health in the same run):");
    for scenario in Scenario::ALL {
        let on = loaded.ratio_to_health(scenario).unwrap_or(0.0);
        let off = uncached.ratio_to_health(scenario).unwrap_or(0.0);
        println!(
            "  {:<12} {:>7} {:>7}",
            scenario.to_string(),
            percent(on),
            percent(off)
        );
    }

    let ratio = |scenario| loaded.ratio_to_health(scenario).unwrap_or(0.0);
    let p50 = |report: &Report, scenario| report.get(scenario).map(|m| m.p50()).unwrap_or_default();
    let mut checks = vec![
        check(
            "get >= 50% of health",
            percent(ratio(Scenario::Get)),
            ratio(Scenario::Get) >= 0.50,
        ),
        check(
            "list-100 >= 10% of health (pages/s)",
            percent(ratio(Scenario::List(100))),
            ratio(Scenario::List(100)) >= 0.10,
        ),
        check(
            format!(
                "register >= {:.0}% of health",
                floors.register_ratio * 100.0
            ),
            percent(ratio(Scenario::Register)),
            ratio(Scenario::Register) >= floors.register_ratio,
        ),
        check(
            "cold start <= 200 ms (median)",
            format!("{:.1} ms", ms(cold_median)),
            cold_median <= Duration::from_millis(200),
        ),
    ];
    // The list floors, at concurrency 32 and with one client.
    let list_floors = [(100, 2), (1000, 5)];
    for (report, clients) in [(&loaded, "concurrency 32"), (&alone, "one client")] {
        for (page, limit_ms) in list_floors {
            let measured = p50(report, Scenario::List(page));
            checks.push(check(
                format!("list-{page} p50 <= {limit_ms} ms ({clients})"),
                format!("{:.2} ms", ms(measured)),
                measured <= Duration::from_millis(limit_ms),
            ));
        }
    }
    println!("floors:");
    for c in &checks {
        let verdict = if c.met { "met" } else { "MISSED" };
        println!("  {:<42} {:>10}  {verdict}", c.what, c.measured);
    }
    let errors = loaded.errors() + alone.errors() + uncached.errors() + uncached_alone.errors();
    if errors > 0 {
        println!("  {errors} requests failed");
    }
    errors == 0
}

/// Every scenario at concurrency 32, then the list scenarios with one client, on a server
/// started with `args`.
async fn measure(
    database_url: &str,
    folder: &Path,
    args: &[&str],
    analyze: bool,
    what: &str,
) -> (Report, Report) {
    let (server, _) = Server::start(database_url, folder, args).await;
    let duration = settings::measured_duration();
    let config = BenchConfig {
        connection: ConnectionArgs::new(server.0.url()),
        scenarios: Scenario::ALL.to_vec(),
        concurrency: 32,
        connections: 4,
        duration,
        requests: None,
        warmup: Duration::from_secs(2),
        seed: 1000,
    };
    if analyze {
        settings::gather_statistics(&config, database_url).await;
    }
    let loaded = loadgen::run(&config).await.expect("the load run");
    println!(
        "{what}, concurrency 32, {} connections:",
        config.connections
    );
    print!("{loaded}");
    let single = BenchConfig {
        scenarios: vec![Scenario::List(100), Scenario::List(1000)],
        concurrency: 1,
        connections: 1,
        seed: 0,
        ..config
    };
    let alone = loadgen::run(&single).await.expect("the single-client run");
    println!("{what}, one client:");
    print!("{alone}");
    server.stop().await;
    (loaded, alone)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

#[tokio::main]
async fn main() {
    println!(
        "load benchmark on {} cores; client and server share them",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let folder = tempfile::tempdir().expect("temporary folder");
    let sqlite_url = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("modelreg.db").display()
    );
    let mut ok = run_backend(
        "SQLite",
        &sqlite_url,
        folder.path(),
        Floors {
            register_ratio: 0.03,
        },
        false,
    )
    .await;

    match std::env::var("MODELREG_BENCH_POSTGRES_URL") {
        Ok(admin_url) => {
            let database = BenchDatabase::create(&admin_url).await;
            let folder = tempfile::tempdir().expect("temporary folder");
            ok &= run_backend(
                "PostgreSQL",
                &database.url,
                folder.path(),
                Floors {
                    register_ratio: 0.02,
                },
                true,
            )
            .await;
            database.drop_database().await;
        }
        Err(_) => println!("\nPostgreSQL: skipped, set MODELREG_BENCH_POSTGRES_URL to measure it"),
    }
    if !ok {
        eprintln!("requests failed during the benchmark");
        std::process::exit(1);
    }
}
