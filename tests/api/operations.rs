//! Running the service: health, an unreachable database, migrations, and the real binary
//! (durability of registrations and artifacts through kill -9, graceful SIGTERM,
//! `modelreg migrate`).

use std::process::Command;
use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait, SchemaManager};
use modelreg::pb;
use modelreg::pb::download_artifact_response::Payload as Download;
use modelreg::pb::model_artifact_service_client::ModelArtifactServiceClient;
use modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient;
use modelreg::pb::upload_artifact_request::Payload as Upload;
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::common::process::{Serve, ServeProcess};
use crate::common::trials::on_postgres;
use crate::common::{Backend, TestDatabase, TestServer, assert_error, model, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let on_every_backend = on_every_backend!(
        health_reports_serving_for_every_service,
        reflection_v1_lists_the_public_services,
        migrations_go_up_and_down,
        replicas_starting_together_on_one_database_all_start,
        acknowledged_writes_survive_kill_9_and_sigterm_exits_cleanly,
    );
    let test = "an_unreachable_database_is_unavailable_and_not_serving";
    let postgres_only = on_postgres(
        module_path!(),
        test,
        an_unreachable_database_is_unavailable_and_not_serving,
    );
    on_every_backend
        .into_iter()
        .chain([postgres_only])
        .collect()
}

const SERVICES: [&str; 5] = [
    "",
    "modelregistry.v1.ModelRegistrationService",
    "modelregistry.v1.ModelDiscoveryService",
    "modelregistry.v1.ModelArtifactService",
    "modelregistry.v1.ModelEventService",
];

async fn health_reports_serving_for_every_service(backend: Backend) {
    let server = TestServer::start(backend).await;
    for service in SERVICES {
        let status = server
            .health
            .clone()
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    let unknown = server
        .health
        .clone()
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    server.stop().await;
}

/// grpcurl 1.8 exercises v1alpha (see grpcurl.rs); newer clients speak v1.
async fn reflection_v1_lists_the_public_services(backend: Backend) {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let server = TestServer::start(backend).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().expect("one response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer: {response:?}");
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "modelregistry.v1.AgentService",
            "modelregistry.v1.ModelArtifactService",
            "modelregistry.v1.ModelDiscoveryService",
            "modelregistry.v1.ModelEventService",
            "modelregistry.v1.ModelRegistrationService",
            "modelregistry.v1.ModelSubscriptionService",
        ]
    );
    server.stop().await;
}

/// Polls the registration service's health until it reports `wanted`.
pub(crate) async fn wait_for_health(server: &TestServer, wanted: ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let request = HealthCheckRequest {
            service: SERVICES[1].into(),
        };
        let status = server
            .health
            .clone()
            .check(request)
            .await
            .unwrap()
            .into_inner()
            .status;
        if status == wanted as i32 {
            return;
        }
        assert!(Instant::now() < deadline, "health never turned {wanted:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// PostgreSQL only: a database that disappears under a running server, and comes back.
async fn an_unreachable_database_is_unavailable_and_not_serving(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.health_check_interval = Duration::from_millis(100);
    })
    .await;
    let registered = server.register(model("qoe", "1", 1)).await.unwrap();

    server.database.drop_now().await;

    wait_for_health(&server, ServingStatus::NotServing).await;
    let status = server
        .get(&registered.model_registration_id)
        .await
        .unwrap_err();
    assert_error(&status, Code::Unavailable, "DATABASE_UNAVAILABLE");
    assert!(
        !status.message().to_lowercase().contains("select"),
        "{status:?}"
    );

    server.database.create_again().await;
    wait_for_health(&server, ServingStatus::Serving).await;
    server.stop().await;
}

async fn migrations_go_up_and_down(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let db = database.connect().await;

    let tables = [
        "model_related_information",
        "target_environments",
        "model_artifacts",
        "model_events",
        "event_log",
        "pending_events",
        "model_labels",
        "model_aliases",
    ];
    Migrator::up(&db, None).await.unwrap();
    for table in tables {
        assert!(has_table(&db, table).await, "{table} after up");
    }
    assert!(
        Migrator::get_pending_migrations(&db)
            .await
            .unwrap()
            .is_empty()
    );

    Migrator::down(&db, None).await.unwrap();
    for table in tables {
        assert!(!has_table(&db, table).await, "{table} after down");
    }

    Migrator::up(&db, None).await.expect("up again after down");
    assert!(has_table(&db, "target_environments").await);
    db.close().await.ok();
}

/// Production runs several stateless replicas on one database; they may start at once.
async fn replicas_starting_together_on_one_database_all_start(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let artifacts = tempfile::tempdir().unwrap();
    let starts = (0..4).map(|_| {
        let mut config =
            modelreg::ServeConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
        config.artifacts.artifact_store = Some(folder_url(artifacts.path()));
        modelreg::Application::build(config)
    });

    let replicas: Vec<_> = futures::future::join_all(starts)
        .await
        .into_iter()
        .map(|started| started.expect("every replica starts"))
        .collect();

    assert_eq!(database.pending_migrations().await, 0);
    drop(replicas);
}

async fn has_table(db: &sea_orm::DatabaseConnection, table: &str) -> bool {
    SchemaManager::new(db).has_table(table).await.unwrap()
}

fn folder_url(folder: &std::path::Path) -> String {
    url::Url::from_directory_path(folder).unwrap().to_string()
}

/// The `modelreg` binary on `database_url`, its artifacts in `artifact_folder`.
async fn serve(database_url: &str, artifact_folder: &std::path::Path) -> ServeProcess {
    Serve::new()
        .args(["--database-url", database_url])
        .args(["--artifact-store", &folder_url(artifact_folder)])
        .start()
        .await
}

async fn client(
    server: &ServeProcess,
) -> ModelRegistrationServiceClient<tonic::transport::Channel> {
    ModelRegistrationServiceClient::connect(server.url())
        .await
        .unwrap()
}

async fn artifact_client(
    server: &ServeProcess,
) -> ModelArtifactServiceClient<tonic::transport::Channel> {
    ModelArtifactServiceClient::connect(server.url())
        .await
        .unwrap()
}

async fn acknowledged_writes_survive_kill_9_and_sigterm_exits_cleanly(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let migrate = Command::new(env!("CARGO_BIN_EXE_modelreg"))
        .args(["migrate", "--database-url", &database.url])
        .status()
        .unwrap();
    assert!(migrate.success(), "modelreg migrate exits 0");

    let artifacts = tempfile::tempdir().unwrap();
    let mut first = serve(&database.url, artifacts.path()).await;
    let mut registrations = client(&first).await;
    let mut registered = Vec::new();
    for i in 0..20 {
        let request = pb::RegisterModelRequest {
            model_related_information: Some(model("durable", &i.to_string(), 2)),
            request_id: String::new(),
        };
        registered.push(
            registrations
                .register_model(request)
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let artifact: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let header = pb::ArtifactHeader {
        model_registration_id: registered[0].model_registration_id.clone(),
        size_bytes: artifact.len() as u64,
        ..Default::default()
    };
    let mut messages = vec![pb::UploadArtifactRequest {
        payload: Some(Upload::Header(header)),
    }];
    messages.extend(
        artifact
            .chunks(65536)
            .map(|chunk| pb::UploadArtifactRequest {
                payload: Some(Upload::Chunk(chunk.to_vec().into())),
            }),
    );
    let uploaded = artifact_client(&first)
        .await
        .upload_artifact(futures::stream::iter(messages))
        .await
        .expect("upload")
        .into_inner();
    registered[0] = registrations
        .get_model_registration(pb::GetModelRegistrationRequest {
            model_registration_id: uploaded.model_registration_id.clone(),
            model: None,
        })
        .await
        .unwrap()
        .into_inner();
    first.kill(); // SIGKILL: no chance to flush anything.

    let mut second = serve(&database.url, artifacts.path()).await;
    let mut downloads = artifact_client(&second)
        .await
        .download_artifact(pb::DownloadArtifactRequest {
            model_registration_id: uploaded.model_registration_id.clone(),
            ..Default::default()
        })
        .await
        .expect("an acknowledged artifact survived kill -9")
        .into_inner();
    let mut downloaded = Vec::new();
    while let Some(response) = downloads.message().await.unwrap() {
        if let Some(Download::Chunk(chunk)) = response.payload {
            downloaded.extend_from_slice(&chunk);
        }
    }
    assert!(
        downloaded == artifact,
        "the artifact's bytes survived kill -9"
    );
    let mut registrations = client(&second).await;
    for expected in &registered {
        let read = registrations
            .get_model_registration(pb::GetModelRegistrationRequest {
                model_registration_id: expected.model_registration_id.clone(),
                model: None,
            })
            .await
            .expect("an acknowledged registration survived kill -9")
            .into_inner();
        assert_eq!(&read, expected);
    }

    second.terminate();
    let exit = second
        .wait(Duration::from_secs(10))
        .await
        .expect("modelreg did not stop within 10 s of SIGTERM");
    assert!(
        exit.success(),
        "SIGTERM ends modelreg with exit 0, got {exit:?}"
    );
}
