//! The cost of trust, measured: `get` (and `health`) through the release `modelreg` binary on
//! SQLite in plaintext without authentication, then over TLS with a bearer token of the
//! consumers file, over TLS with a JWT (verified once, then cached), and over TLS with a JWT
//! verified on every call (`--auth-jwt-cache-entries 0`). Each figure is printed with its share
//! of the plaintext one from the same run.
//!
//! `cargo bench --bench trust`. `MODELREG_BENCH_DURATION` sets how long each scenario is
//! measured (default "10s"). Certificates, the token and the JWT signing key are made fresh for
//! the run.

use std::path::Path;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use modelreg::client::ConnectionArgs;
use modelreg::client::bench::{self as loadgen, BenchConfig, Report, Scenario};

#[path = "../tests/api/common/process.rs"]
mod process;

#[path = "support/settings.rs"]
mod settings;

#[allow(dead_code)]
#[path = "../tests/api/common/certificates.rs"]
mod certificates;

#[allow(dead_code)]
#[path = "../tests/api/common/signing.rs"]
mod signing;

use certificates::Authority;
use process::{Serve, ServeProcess};
use signing::{AUDIENCE, ISSUER, SigningKey, claims, jwks};

const TOKEN: &str = "a-writer-token-for-the-trust-benchmark";

/// One way of serving and calling: the server's extra flags, the client's TLS and token.
struct Setup {
    name: &'static str,
    server_args: Vec<String>,
    tls: bool,
    token: Option<String>,
}

struct Files {
    ca: String,
    ca_file: String,
    cert: String,
    key: String,
    consumers: String,
    jwks: String,
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write a benchmark file");
    path.display().to_string()
}

fn files(dir: &Path, key: &SigningKey) -> Files {
    let authority = Authority::new("benchmark CA");
    let (cert, key_file) = authority.server_certificate().write(dir, "server");
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(TOKEN.as_bytes()));
    Files {
        ca: authority.pem(),
        ca_file: write(dir, "ca.pem", &authority.pem()),
        cert: cert.display().to_string(),
        key: key_file.display().to_string(),
        consumers: write(
            dir,
            "consumers.toml",
            &format!(
                "[[consumer]]\nname = \"bench\"\ntoken_sha256 = \"{digest}\"\nrole = \"writer\"\n"
            ),
        ),
        jwks: write(dir, "jwks.json", &jwks(&[key])),
    }
}

async fn measure(setup: &Setup, files: &Files, folder: &Path, duration: Duration) -> Report {
    let database = format!("sqlite://{}?mode=rwc", folder.join("trust.db").display());
    let mut serve = Serve::new()
        .args(["--database-url", &database])
        .args([
            "--artifact-store",
            url::Url::from_directory_path(folder.join("artifacts"))
                .unwrap()
                .as_str(),
        ])
        // As deployed: one log line per call, here into a file.
        .log_to(std::fs::File::create(folder.join("server.log")).expect("the server log"))
        .args(&setup.server_args);
    if setup.tls {
        serve = serve
            .args(["--tls-cert", &files.cert, "--tls-key", &files.key])
            .tls_trusting(files.ca.clone());
    }
    let server: ServeProcess = serve.start().await;
    let mut connection = ConnectionArgs::new(server.url());
    if setup.tls {
        connection.ca_cert = Some(files.ca_file.clone().into());
    }
    connection.token = setup.token.clone();
    let config = BenchConfig {
        connection,
        scenarios: vec![Scenario::Health, Scenario::Get],
        concurrency: 32,
        connections: 4,
        duration,
        requests: None,
        warmup: Duration::from_secs(2),
        seed: 1000,
    };
    let report = loadgen::run(&config).await.expect("the benchmark runs");
    let mut server = server;
    server.terminate();
    server.wait(Duration::from_secs(30)).await;
    report
}

#[tokio::main]
async fn main() {
    let duration = settings::measured_duration();
    println!(
        "trust benchmark on {} cores (client and server share them), SQLite, concurrency 32, \
         4 connections, {duration:?} per scenario",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let dir = tempfile::tempdir().expect("temporary folder");
    let key = SigningKey::new(Algorithm::ES256, "bench");
    let files = files(dir.path(), &key);
    let mut jwt_claims = claims("bench-jwt");
    jwt_claims["exp"] = (jsonwebtoken::get_current_timestamp() + 3600).into();
    let jwt = key.sign(&jwt_claims);
    let jwt_args = |cache: &str| {
        [
            "--auth-jwks",
            &files.jwks,
            "--auth-issuer",
            ISSUER,
            "--auth-audience",
            AUDIENCE,
            "--auth-jwt-cache-entries",
            cache,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let setups = [
        Setup {
            name: "plaintext, no authentication",
            server_args: Vec::new(),
            tls: false,
            token: None,
        },
        Setup {
            name: "TLS + consumers-file token",
            server_args: vec!["--auth-tokens".into(), files.consumers.clone()],
            tls: true,
            token: Some(TOKEN.into()),
        },
        Setup {
            name: "TLS + JWT (ES256, cached)",
            server_args: jwt_args("10000"),
            tls: true,
            token: Some(jwt.clone()),
        },
        Setup {
            name: "TLS + JWT (ES256, verified every call)",
            server_args: jwt_args("0"),
            tls: true,
            token: Some(jwt),
        },
    ];

    let mut baseline = None;
    let mut failed = 0;
    println!(
        "\n{:<40} {:>12} {:>10} {:>10} {:>12} {:>10}",
        "setup", "get req/s", "get p50", "get p99", "health req/s", "get/plain"
    );
    for (i, setup) in setups.iter().enumerate() {
        let folder = dir.path().join(format!("run-{i}"));
        std::fs::create_dir_all(&folder).unwrap();
        let report = measure(setup, &files, &folder, duration).await;
        failed += report.errors();
        let get = report.get(Scenario::Get).expect("get was measured");
        let health = report.get(Scenario::Health).expect("health was measured");
        let plain = *baseline.get_or_insert(get.throughput());
        println!(
            "{:<40} {:>12.0} {:>8.2}ms {:>8.2}ms {:>12.0} {:>9.1}%",
            setup.name,
            get.throughput(),
            get.p50().as_secs_f64() * 1000.0,
            get.p99().as_secs_f64() * 1000.0,
            health.throughput(),
            get.throughput() / plain * 100.0,
        );
    }
    if failed > 0 {
        eprintln!("{failed} requests failed during the benchmark");
        std::process::exit(1);
    }
}
