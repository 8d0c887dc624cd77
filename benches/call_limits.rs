//! What the per-call limits cost: the release `modelreg` binary as it serves (a server-wide
//! limit of requests in progress, a deadline for every call) beside one started with
//! `--bench-without-call-limits`, both measured with `health` and `get` in the same run. Rounds
//! alternate the two servers, so that the machine's drift falls on both; the medians are
//! printed, and `health` with the limits is checked against its floor: within 10% of `health`
//! without them.
//!
//! `cargo bench --bench call_limits`. Settings: `MODELREG_BENCH_DURATION` (each scenario,
//! default "10s"), `MODELREG_BENCH_ROUNDS` (default 3).

use std::time::Duration;

use modelreg::client::ConnectionArgs;
use modelreg::client::bench::{self as loadgen, BenchConfig, Report, Scenario};

#[path = "../tests/api/common/process.rs"]
mod process;

#[path = "support/settings.rs"]
mod settings;

use process::{Serve, ServeProcess};
use settings::median;

struct Variant {
    name: &'static str,
    server: ServeProcess,
    health_per_second: Vec<f64>,
    get_per_second: Vec<f64>,
}

async fn serve(folder: &std::path::Path, name: &str, args: &[&str]) -> ServeProcess {
    let folder = folder.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let database = format!("sqlite://{}?mode=rwc", folder.join("m.db").display());
    let artifacts = url::Url::from_directory_path(folder.join("artifacts")).unwrap();
    let log = std::fs::File::create(folder.join("server.log")).unwrap();
    Serve::new()
        .args(["--database-url", &database])
        .args(["--artifact-store", artifacts.as_str()])
        .args(args)
        .log_to(log)
        .start()
        .await
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("MODELREG_BENCH_ROUNDS")
        .ok()
        .map_or(3, |text| text.parse().expect("MODELREG_BENCH_ROUNDS"));
    let duration = settings::measured_duration();
    println!(
        "call limits benchmark on {} cores, {rounds} rounds of {duration:?} per scenario; \
         client and servers share them",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let folder = tempfile::tempdir().unwrap();
    let mut variants = Vec::new();
    for (name, args) in [
        ("with limits", &[][..]),
        ("without limits", &["--bench-without-call-limits"][..]),
    ] {
        variants.push(Variant {
            name,
            server: serve(folder.path(), &name.replace(' ', "-"), args).await,
            health_per_second: Vec::new(),
            get_per_second: Vec::new(),
        });
    }
    let mut failed = false;
    for round in 1..=rounds {
        for variant in &mut variants {
            let config = BenchConfig {
                connection: ConnectionArgs::new(variant.server.url()),
                scenarios: vec![Scenario::Health, Scenario::Get],
                concurrency: 32,
                connections: 4,
                duration,
                requests: None,
                warmup: Duration::from_secs(1),
                seed: 200,
            };
            let report: Report = loadgen::run(&config).await.expect("the load run");
            failed |= report.errors() > 0;
            let rate = |scenario| report.get(scenario).map_or(0.0, |m| m.throughput());
            variant.health_per_second.push(rate(Scenario::Health));
            variant.get_per_second.push(rate(Scenario::Get));
            println!(
                "round {round}, {:<15} health {:.0}/s, get {:.0}/s",
                variant.name,
                rate(Scenario::Health),
                rate(Scenario::Get)
            );
        }
    }
    println!("\nmedians of {rounds} rounds:");
    for variant in &variants {
        println!(
            "  {:<15} health {:.0}/s, get {:.0}/s",
            variant.name,
            median(&variant.health_per_second),
            median(&variant.get_per_second)
        );
    }
    let share =
        |pick: fn(&Variant) -> &Vec<f64>| median(pick(&variants[0])) / median(pick(&variants[1]));
    let health = share(|v| &v.health_per_second);
    let get = share(|v| &v.get_per_second);
    println!(
        "with the limits: health {:.1}%, get {:.1}% of the same without them",
        health * 100.0,
        get * 100.0
    );
    let met = health >= 0.90;
    println!(
        "floor: health with the limits >= 90% of health without them: {:.1}% {}",
        health * 100.0,
        if met { "met" } else { "MISSED" }
    );
    for variant in variants {
        let mut server = variant.server;
        server.terminate();
        server.wait(Duration::from_secs(30)).await;
    }
    if failed {
        eprintln!("requests failed during the benchmark");
        std::process::exit(1);
    }
}
