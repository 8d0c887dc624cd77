//! What exporting traces costs a call: `get` (and `register`) of the release `modelreg` binary
//! with no exporter, with `--otlp-endpoint` on a port where nothing listens (a collector that is
//! down), and with a live OTLP receiver in this process (a collector that takes everything),
//! each as a share of the same server's `health` measured in the same run. Rounds alternate the
//! three servers, so that the machine's drift falls on all of them; the median of each is
//! printed, and the dead collector's cost of `get` is checked against its 5% floor.
//!
//! `cargo bench --bench traces`. Settings: `MODELREG_BENCH_DURATION` (each scenario, default
//! "10s"), `MODELREG_BENCH_ROUNDS` (default 3).

use std::time::Duration;

use modelreg::client::ConnectionArgs;
use modelreg::client::bench::{self as loadgen, BenchConfig, Report, Scenario};

#[path = "../tests/api/common/otlp.rs"]
mod otlp;

#[path = "../tests/api/common/process.rs"]
mod process;

#[path = "support/settings.rs"]
mod settings;

use process::{Serve, ServeProcess};
use settings::median;

struct Variant {
    name: &'static str,
    server: ServeProcess,
    get: Vec<f64>,
    register: Vec<f64>,
    get_per_second: Vec<f64>,
}

async fn serve(folder: &std::path::Path, name: &str, endpoint: Option<&str>) -> ServeProcess {
    let folder = folder.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let database = format!("sqlite://{}?mode=rwc", folder.join("m.db").display());
    let artifacts = url::Url::from_directory_path(folder.join("artifacts")).unwrap();
    let log = std::fs::File::create(folder.join("server.log")).unwrap();
    let mut serve = Serve::new()
        .args([
            "--database-url",
            &database,
            "--artifact-store",
            artifacts.as_str(),
        ])
        .log_to(log);
    if let Some(endpoint) = endpoint {
        serve = serve.args(["--otlp-endpoint", endpoint]);
    }
    serve.start().await
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("MODELREG_BENCH_ROUNDS")
        .ok()
        .map_or(3, |text| text.parse().expect("MODELREG_BENCH_ROUNDS"));
    let duration = settings::measured_duration();
    println!(
        "traces benchmark on {} cores, {rounds} rounds of {duration:?} per scenario; client, \
         servers and receiver share them",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let folder = tempfile::tempdir().unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (received, live) = otlp::Receiver::start(false).await;
    let mut variants = Vec::new();
    for (name, endpoint) in [
        ("no exporter", None),
        ("collector down", Some(format!("http://{dead}"))),
        ("collector up", Some(format!("http://{live}"))),
    ] {
        let server = serve(folder.path(), &name.replace(' ', "-"), endpoint.as_deref()).await;
        variants.push(Variant {
            name,
            server,
            get: Vec::new(),
            register: Vec::new(),
            get_per_second: Vec::new(),
        });
    }
    let mut failed = false;
    for round in 1..=rounds {
        for variant in &mut variants {
            let config = BenchConfig {
                connection: ConnectionArgs::new(variant.server.url()),
                scenarios: vec![Scenario::Health, Scenario::Get, Scenario::Register],
                concurrency: 32,
                connections: 4,
                duration,
                requests: None,
                warmup: Duration::from_secs(1),
                seed: 200,
            };
            let report: Report = loadgen::run(&config).await.expect("the load run");
            failed |= report.errors() > 0;
            let ratio = |scenario| report.ratio_to_health(scenario).unwrap_or(0.0);
            variant.get.push(ratio(Scenario::Get));
            variant.register.push(ratio(Scenario::Register));
            variant
                .get_per_second
                .push(report.get(Scenario::Get).map_or(0.0, |m| m.throughput()));
            println!(
                "round {round}, {:<15} get {:5.1}% of health ({:.0}/s), register {:5.1}%",
                variant.name,
                ratio(Scenario::Get) * 100.0,
                variant.get_per_second.last().unwrap(),
                ratio(Scenario::Register) * 100.0
            );
        }
    }
    println!("\nmedians of {rounds} rounds (share of the same server's health, get per second):");
    for variant in &variants {
        println!(
            "  {:<15} get {:5.1}% ({:.0}/s), register {:5.1}%",
            variant.name,
            median(&variant.get) * 100.0,
            median(&variant.get_per_second),
            median(&variant.register) * 100.0
        );
    }
    let base = median(&variants[0].get);
    for variant in &variants[1..] {
        let cost = 1.0 - median(&variant.get) / base;
        println!(
            "  {}: get costs {:.1}% of get without an exporter",
            variant.name,
            cost * 100.0
        );
    }
    let dead_cost = 1.0 - median(&variants[1].get) / base;
    let met = dead_cost < 0.05;
    println!(
        "floor: a collector that is down costs < 5% of get: {:.1}% {}",
        dead_cost * 100.0,
        if met { "met" } else { "MISSED" }
    );
    println!("spans the live receiver took: {}", received.received());
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
