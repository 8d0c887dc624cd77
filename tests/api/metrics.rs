//! The Prometheus endpoint, scraped over HTTP as Prometheus does. Tests in this binary share one
//! process and so one recorder: they check that counters moved by at least what this test did,
//! never exact totals.

use modelreg::pb;
use tonic::Code;

use crate::artifacts::{by_id, download, random_bytes, upload};
use crate::common::certificates::Authority;
use crate::common::credentials::{consumers_toml, write_file};
use crate::common::process::Serve;
use crate::common::{Backend, TestServer, model, on_every_backend, plain_async};
use crate::rest::transport::tls_client;
use crate::rest::{Rest, download_path, registration_body, zip_form};
use crate::tls::ServerFiles;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let on_every_backend = on_every_backend!(
        scrapes_count_rpcs_by_method_and_code_and_time_them,
        scrapes_show_calls_in_flight_and_count_abandoned_ones_as_cancelled,
        scrapes_report_the_database_pools,
        scrapes_count_rest_requests_by_route_method_and_status,
    );
    let plain = plain_async!(
        every_metric_the_dashboard_and_the_alerts_name_is_exported,
        the_state_gauges_follow_readiness_the_event_log_and_watchers,
    );
    on_every_backend.into_iter().chain(plain).collect()
}

const REGISTER: &str = "/modelregistry.v1.ModelRegistrationService/RegisterModel";
const GET: &str = "/modelregistry.v1.ModelRegistrationService/GetModelRegistration";
const DOWNLOAD: &str = "/modelregistry.v1.ModelArtifactService/DownloadArtifact";

async fn start(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await
}

/// Fetches `/metrics` and checks that it is Prometheus' text format.
async fn scrape(server: &TestServer) -> Scrape {
    let addr = server.metrics_addr.expect("metrics are served");
    let response = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("the metrics endpoint answers");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Scrape(response.text().await.unwrap())
}

struct Scrape(String);

impl Scrape {
    /// The value of the sample of `name` whose labels include `labels`; 0 when there is none.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.rsplit_once(' '))
            .filter(|(series, _)| {
                let (sample_name, sample_labels) = series.split_once('{').unwrap_or((series, ""));
                sample_name == name
                    && labels
                        .iter()
                        .all(|(k, v)| sample_labels.contains(&format!("{k}=\"{v}\"")))
            })
            .map(|(_, value)| value.parse::<f64>().expect("a sample value"))
            .sum()
    }
}

fn requests(scrape: &Scrape, method: &str, code: &str) -> f64 {
    scrape.value(
        "modelreg_rpc_requests_total",
        &[("method", method), ("code", code)],
    )
}

async fn scrapes_count_rpcs_by_method_and_code_and_time_them(backend: Backend) {
    let server = start(backend).await;
    let before = scrape(&server).await;

    let id = server
        .register(model("scraped", "1", 3))
        .await
        .unwrap()
        .model_registration_id;
    for _ in 0..2 {
        server.get(&id).await.unwrap();
    }
    let missing = server.get(&uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(missing.unwrap_err().code(), Code::NotFound);
    let content = random_bytes(100_000, 7);
    upload(&server, &id, &content).await;
    let (_, downloaded, _) = download(&server, by_id(&id)).await.unwrap();
    assert_eq!(downloaded, content);

    let after = scrape(&server).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert!(requests(&after, REGISTER, "OK") - requests(&before, REGISTER, "OK") >= 1.0);
    assert!(requests(&after, GET, "OK") - requests(&before, GET, "OK") >= 2.0);
    assert!(requests(&after, GET, "NOT_FOUND") - requests(&before, GET, "NOT_FOUND") >= 1.0);
    assert!(requests(&after, DOWNLOAD, "OK") - requests(&before, DOWNLOAD, "OK") >= 1.0);
    // Every finished call is timed: three gets, in the histogram's count and its buckets.
    let get = [("method", GET)];
    assert!(moved("modelreg_rpc_duration_seconds_count", &get) >= 3.0);
    let within_a_minute = [("method", GET), ("le", "60")];
    assert!(moved("modelreg_rpc_duration_seconds_bucket", &within_a_minute) >= 3.0);
    assert!(moved("modelreg_rpc_duration_seconds_sum", &get) > 0.0);
    assert!(moved("modelreg_artifact_received_bytes_total", &[]) >= content.len() as f64);
    assert!(moved("modelreg_artifact_sent_bytes_total", &[]) >= content.len() as f64);
}

async fn scrapes_show_calls_in_flight_and_count_abandoned_ones_as_cancelled(backend: Backend) {
    let server = start(backend).await;
    let id = server
        .register(model("streamed", "1", 1))
        .await
        .unwrap()
        .model_registration_id;
    // Far more than the HTTP/2 windows hold, so the server cannot finish the stream unread.
    let content = random_bytes(20 * 1024 * 1024, 8);
    upload(&server, &id, &content).await;
    let before = scrape(&server).await;

    let mut stream = server
        .artifacts
        .clone()
        .download_artifact(by_id(&id))
        .await
        .unwrap()
        .into_inner();
    stream.message().await.unwrap().expect("the info message");
    let during = scrape(&server).await;
    assert!(during.value("modelreg_rpc_in_flight", &[("method", DOWNLOAD)]) >= 1.0);

    drop(stream);
    // The server notices the reset when it next writes; give it a moment.
    let mut cancelled = 0.0;
    for _ in 0..50 {
        let after = scrape(&server).await;
        cancelled =
            requests(&after, DOWNLOAD, "CANCELLED") - requests(&before, DOWNLOAD, "CANCELLED");
        if cancelled >= 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        cancelled >= 1.0,
        "the abandoned download was not counted as CANCELLED"
    );
}

async fn scrapes_report_the_database_pools(backend: Backend) {
    let postgres = !matches!(backend, Backend::Sqlite);
    let server = start(backend).await;
    server.list(pb::ListModelsRequest::default()).await.unwrap();
    let scrape = scrape(&server).await;
    let pools: &[&str] = if postgres {
        &["main"]
    } else {
        &["writer", "reader"]
    };
    for pool in pools {
        let max = scrape.value("modelreg_db_pool_max_connections", &[("pool", pool)]);
        assert!(max >= 1.0, "no size for pool {pool}:\n{}", scrape.0);
        let open = scrape.value("modelreg_db_pool_connections", &[("pool", pool)]);
        assert!(open >= 1.0, "no open connections in pool {pool}");
        assert!(
            scrape
                .0
                .contains(&format!("modelreg_db_pool_waiters{{pool=\"{pool}\"}}")),
            "no waiters gauge for pool {pool}"
        );
    }
}

const REGISTRATIONS: &str = "/ai-ml-model-registration/v1/model-registrations";
const EVENTS: &str = "/ai-ml-model-registration/v1/events";

async fn scrapes_count_rest_requests_by_route_method_and_status(backend: Backend) {
    let server = start(backend).await;
    let rest = Rest::of(&server);
    let one = format!("{REGISTRATIONS}/{{modelRegistrationId}}");
    let before = scrape(&server).await;

    let registered = rest.register(&registration_body("metered", "1")).await;
    let id = registered["modelRegistrationId"].as_str().unwrap();
    for _ in 0..2 {
        assert_eq!(rest.get(&format!("{REGISTRATIONS}/{id}")).await.status, 200);
    }
    let content = random_bytes(100_000, 9);
    let uploaded = rest
        .upload("metered", "1", zip_form("model.zip", content.clone()))
        .await;
    assert_eq!(uploaded.status, 200);
    let downloaded = rest.get(&download_path("metered", "1", "1.0.0")).await;
    assert_eq!(downloaded.body, content);
    let missing = format!("{REGISTRATIONS}/{}", uuid::Uuid::new_v4());
    assert_eq!(rest.get(&missing).await.status, 404);
    // Paths that name no route share one label, whatever they are.
    assert_eq!(rest.get("/made/up/path").await.status, 404);
    // An event stream is in flight until its client goes away.
    let stream = reqwest::get(rest.url(EVENTS)).await.unwrap();
    assert_eq!(stream.status(), 200);
    let during = scrape(&server).await;
    drop(stream);

    let after = scrape(&server).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    let answered = |route: &str, method: &str, status: &str| {
        moved(
            "modelreg_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert!(answered(REGISTRATIONS, "POST", "201") >= 1.0, "{}", after.0);
    assert!(answered(&one, "GET", "200") >= 2.0, "{}", after.0);
    assert!(answered(&one, "GET", "404") >= 1.0, "{}", after.0);
    assert!(answered("other", "GET", "404") >= 1.0, "{}", after.0);
    assert!(
        !after.0.contains("/made/up/path"),
        "an unknown path became a label"
    );
    // Every answered request is timed: three gets of one registration.
    let get_one = [("route", one.as_str()), ("method", "GET")];
    assert!(moved("modelreg_http_duration_seconds_count", &get_one) >= 3.0);
    let within_a_minute = [("route", one.as_str()), ("method", "GET"), ("le", "60")];
    assert!(moved("modelreg_http_duration_seconds_bucket", &within_a_minute) >= 3.0);
    assert!(during.value("modelreg_http_in_flight", &[("route", EVENTS)]) >= 1.0);
    assert!(moved("modelreg_artifact_received_bytes_total", &[]) >= content.len() as f64);
    assert!(moved("modelreg_artifact_sent_bytes_total", &[]) >= content.len() as f64);
}

/// The metric names in the shipped dashboard and alerting rules.
fn names_in_deploy_monitoring() -> std::collections::BTreeSet<String> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/monitoring");
    let mut names = std::collections::BTreeSet::new();
    for file in ["dashboard.json", "alerts.yaml"] {
        let text = std::fs::read_to_string(folder.join(file)).unwrap();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("modelreg_") {
            let name: String = rest[start..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            rest = &rest[start + name.len()..];
            names.insert(name);
        }
    }
    names
}

/// A server with everything that has metrics of its own: TLS (the certificate's expiry), a
/// consumers file (its validity), and one gRPC call and one REST request.
async fn every_metric_the_dashboard_and_the_alerts_name_is_exported() {
    let names = names_in_deploy_monitoring();
    assert!(names.len() >= 15, "{names:?}");
    let authority = Authority::new("registry CA");
    let files = ServerFiles::new(&authority, None);
    let dir = tempfile::tempdir().unwrap();
    let consumers = write_file(
        dir.path(),
        "consumers.toml",
        &consumers_toml(&[("ops", "0ps-t0ken", "admin")]),
    );
    let server = TestServer::start_tls(
        Backend::Sqlite,
        |config| {
            files.configure(config);
            config.auth.auth_tokens = Some(consumers);
            config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
            config.health_check_interval = std::time::Duration::from_millis(50);
        },
        authority.trusted_by_client(),
    )
    .await;
    server
        .health
        .clone()
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();
    let response = tls_client(&authority, false)
        .get(format!("{}/ai-ml-model-discovery/v1/models", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The health monitor's first check, and the event log's gauges.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let scrape = scrape(&server).await;
    let exported = |name: &str| {
        scrape.0.lines().any(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
    };
    let missing: Vec<&String> = names.iter().filter(|name| !exported(name)).collect();
    assert!(
        missing.is_empty(),
        "named in deploy/monitoring but not exported: {missing:?}"
    );
    server.stop().await;
}

/// Gauges are one per process: this runs the server as a process of its own.
async fn the_state_gauges_follow_readiness_the_event_log_and_watchers() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let artifacts = url::Url::from_directory_path(dir.path().join("artifacts"))
        .unwrap()
        .to_string();
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = Serve::new()
        .args(["--database-url", &database, "--artifact-store", &artifacts])
        .args(["--metrics-listen", &metrics.to_string()])
        .args(["--health-check-interval", "50ms", "--shutdown-delay", "3s"])
        .start()
        .await;
    let channel = tonic::transport::Channel::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut registration =
        pb::model_registration_service_client::ModelRegistrationServiceClient::new(channel.clone());
    for name in ["first", "second"] {
        registration
            .register_model(pb::RegisterModelRequest {
                model_related_information: Some(model(name, "1", 1)),
                request_id: String::new(),
            })
            .await
            .unwrap();
    }
    let mut watch = pb::model_event_service_client::ModelEventServiceClient::new(channel)
        .watch_models(pb::WatchModelsRequest::default())
        .await
        .unwrap()
        .into_inner();
    watch
        .message()
        .await
        .unwrap()
        .expect("the watch's first item");

    let gauge = |scrape: &Scrape, name: &str| scrape.value(name, &[]);
    let wanted = [
        ("modelreg_health_serving", 1.0),
        ("modelreg_database_up", 1.0),
        ("modelreg_event_log_last_sequence", 2.0),
        ("modelreg_events_pending", 0.0),
        ("modelreg_event_feed_lag_events", 0.0),
        ("modelreg_watchers", 1.0),
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let scrape = scrape_at(metrics).await;
        let seen: Vec<(&str, f64)> = wanted
            .iter()
            .map(|(name, _)| (*name, gauge(&scrape, name)))
            .collect();
        if seen == wanted {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{seen:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(watch);

    // SIGTERM: not serving at once, while /metrics still answers within the shutdown delay.
    server.terminate();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let scrape = scrape_at(metrics).await;
        if gauge(&scrape, "modelreg_health_serving") == 0.0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still serving");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn scrape_at(addr: std::net::SocketAddr) -> Scrape {
    Scrape(
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
}
