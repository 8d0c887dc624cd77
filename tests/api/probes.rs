//! Health for probes: the plaintext health port beside a TLS service port, liveness that
//! ignores the database, and readiness that turns NOT_SERVING at the shutdown signal while the
//! service port still answers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::common::certificates::Authority;
use crate::common::trials::on_postgres;
use crate::common::{Backend, TestServer, model, plain_async};
use crate::tls::ServerFiles;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let plain = plain_async!(
        the_health_port_answers_in_plaintext_beside_a_tls_service_port,
        readiness_turns_not_serving_at_the_signal_while_calls_are_still_answered,
    );
    let test = "liveness_ignores_an_unreachable_database_that_readiness_reports";
    let postgres_only = on_postgres(
        module_path!(),
        test,
        liveness_ignores_an_unreachable_database_that_readiness_reports,
    );
    plain.into_iter().chain([postgres_only]).collect()
}

const READINESS: [&str; 2] = ["", "modelregistry.v1.ModelRegistrationService"];

fn health_port(server: &TestServer) -> HealthClient<Channel> {
    let addr: SocketAddr = server.health_addr.expect("a health port");
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy();
    HealthClient::new(channel)
}

async fn status(client: &HealthClient<Channel>, service: &str) -> ServingStatus {
    let answer = client
        .clone()
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap_or_else(|status| panic!("health of {service:?}: {status:?}"));
    answer.into_inner().status()
}

async fn wait_for(client: &HealthClient<Channel>, service: &str, wanted: ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(client, service).await != wanted {
        assert!(
            Instant::now() < deadline,
            "{service:?} never turned {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn with_health_port(config: &mut modelreg::ServeConfig) {
    config.health_listen = Some("127.0.0.1:0".parse().unwrap());
}

async fn the_health_port_answers_in_plaintext_beside_a_tls_service_port() {
    let authority = Authority::new("registry CA");
    let files = ServerFiles::new(&authority, None);
    let server = TestServer::start_tls(
        Backend::Sqlite,
        |config| {
            files.configure(config);
            with_health_port(config);
        },
        authority.trusted_by_client(),
    )
    .await;
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let probes = health_port(&server);
    for service in READINESS.into_iter().chain(["liveness"]) {
        assert_eq!(status(&probes, service).await, ServingStatus::Serving);
    }
    // An unknown name is NOT_FOUND, as grpc.health.v1 says.
    let unknown = probes
        .clone()
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");

    // Health and nothing else: the registry is not reachable around TLS.
    let channel = Channel::from_shared(format!("http://{}", server.health_addr.unwrap()))
        .unwrap()
        .connect_lazy();
    let registry =
        modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient::new(
            channel,
        )
        .register_model(modelreg::pb::RegisterModelRequest {
            model_related_information: Some(model("qoe", "1", 1)),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(registry.code(), Code::Unimplemented, "{registry:?}");
    server.stop().await;
}

async fn readiness_turns_not_serving_at_the_signal_while_calls_are_still_answered() {
    let mut server = TestServer::start_with(Backend::Sqlite, |config| {
        with_health_port(config);
        config.limits.shutdown_delay = Duration::from_secs(3);
    })
    .await;
    let id = server.registered_id("qoe").await;
    let probes = health_port(&server);
    let started = Instant::now();

    server.signal_shutdown();

    for service in READINESS {
        wait_for(&probes, service, ServingStatus::NotServing).await;
    }
    // The service port's own health says the same.
    let own = server
        .health
        .clone()
        .check(HealthCheckRequest::default())
        .await
        .expect("the service port still answers")
        .into_inner();
    assert_eq!(own.status(), ServingStatus::NotServing);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "readiness turned only after {:?}",
        started.elapsed()
    );
    // Within the shutdown delay the listener still takes calls, on new connections too.
    let channel = Channel::from_shared(server.url.clone())
        .unwrap()
        .connect()
        .await
        .expect("a new connection is accepted during the shutdown delay");
    let got = modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient::new(
        channel,
    )
    .get_model_registration(modelreg::pb::GetModelRegistrationRequest {
        model_registration_id: id,
        model: None,
    })
    .await
    .expect("calls are answered during the shutdown delay");
    assert_eq!(got.into_inner().model_id.unwrap().model_name, "qoe");
    assert_eq!(status(&probes, "liveness").await, ServingStatus::Serving);
    server.stop().await;
}

/// PostgreSQL only: a database that disappears under a running server, and comes back.
async fn liveness_ignores_an_unreachable_database_that_readiness_reports(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        with_health_port(config);
        config.health_check_interval = Duration::from_millis(100);
    })
    .await;
    let probes = health_port(&server);

    server.database.drop_now().await;

    for service in READINESS {
        wait_for(&probes, service, ServingStatus::NotServing).await;
    }
    assert_eq!(status(&probes, "liveness").await, ServingStatus::Serving);

    server.database.create_again().await;
    for service in READINESS {
        wait_for(&probes, service, ServingStatus::Serving).await;
    }
    server.stop().await;
}
