//! A real server on 127.0.0.1:0 in this process, with a fresh database and artifact store,
//! reached through the generated tonic clients as users reach it.

use std::net::SocketAddr;
use std::time::Duration;

use modelreg::pb::{
    self, model_artifact_service_client::ModelArtifactServiceClient,
    model_discovery_service_client::ModelDiscoveryServiceClient,
    model_event_service_client::ModelEventServiceClient,
    model_registration_service_client::ModelRegistrationServiceClient,
};
use modelreg::{Application, ServeConfig};
use sea_orm::{ConnectionTrait, Statement};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, ClientTlsConfig};
use tonic_health::pb::health_client::HealthClient;

use super::backends::{Backend, TestDatabase};
use super::objects::{Objects, StoredObjects};
use super::statements::StatementLog;

pub struct TestServer {
    pub addr: SocketAddr,
    /// `http://ADDRESS`, or `https://ADDRESS` when the server serves TLS.
    pub url: String,
    /// Where `/metrics` is served, when the test asked for it.
    pub metrics_addr: Option<SocketAddr>,
    /// Where the plaintext health port is, when the test asked for one.
    pub health_addr: Option<SocketAddr>,
    pub registration: ModelRegistrationServiceClient<Channel>,
    pub discovery: ModelDiscoveryServiceClient<Channel>,
    pub artifacts: ModelArtifactServiceClient<Channel>,
    pub events: ModelEventServiceClient<Channel>,
    pub health: HealthClient<Channel>,
    pub database: TestDatabase,
    /// Every SQL statement the server issued, as its statement observer saw it.
    pub statements: StatementLog,
    /// The server's artifact store, opened a second time to look inside.
    pub objects: StoredObjects,
    _artifact_dir: Option<tempfile::TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut ServeConfig)) -> Self {
        Self::start_with_objects(backend, Objects::File, configure).await
    }

    pub async fn start_with_objects(
        backend: Backend,
        objects: Objects,
        configure: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        Self::launch(backend, objects, configure, None).await
    }

    /// A server that `configure` sets up for TLS, reached by clients with `client_tls`.
    pub async fn start_tls(
        backend: Backend,
        configure: impl FnOnce(&mut ServeConfig),
        client_tls: ClientTlsConfig,
    ) -> Self {
        Self::launch(backend, Objects::File, configure, Some(client_tls)).await
    }

    async fn launch(
        backend: Backend,
        objects: Objects,
        configure: impl FnOnce(&mut ServeConfig),
        client_tls: Option<ClientTlsConfig>,
    ) -> Self {
        if std::env::var_os("MODELREG_TEST_LOG").is_some() {
            modelreg::init_logging();
        }
        let database = TestDatabase::create(&backend).await;
        let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
        let statements = StatementLog::default();
        config.statement_observer = Some(statements.observer());
        let artifact_dir = match objects {
            Objects::File => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let folder = dir.path().join("artifacts");
                config.artifacts.artifact_store =
                    Some(url::Url::from_directory_path(&folder).unwrap().to_string());
                Some(dir)
            }
            Objects::S3(bucket) => {
                let prefix = uuid::Uuid::new_v4().simple().to_string();
                config.artifacts.artifact_store =
                    Some(format!("{}/{prefix}", bucket.trim_end_matches('/')));
                None
            }
        };
        configure(&mut config);
        let location = config.artifacts.artifact_store.clone();
        let app = Application::build(config).await.expect("the server starts");
        // After the build, which creates the artifact folder.
        let objects = StoredObjects::open(&location.expect("an artifact store"));
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let health_addr = app.health_addr();
        let (shutdown, stop) = oneshot::channel();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = stop.await;
            })
            .await
            .expect("the server runs");
        });
        let scheme = if client_tls.is_some() {
            "https"
        } else {
            "http"
        };
        let url = format!("{scheme}://{addr}");
        let mut endpoint = Channel::from_shared(url.clone())
            .unwrap()
            .connect_timeout(Duration::from_secs(5));
        if let Some(client_tls) = client_tls {
            endpoint = endpoint.tls_config(client_tls).expect("a TLS client");
        }
        let channel = endpoint.connect().await.expect("connect to the server");
        Self {
            addr,
            url,
            metrics_addr,
            health_addr,
            registration: ModelRegistrationServiceClient::new(channel.clone()),
            discovery: ModelDiscoveryServiceClient::new(channel.clone()),
            artifacts: ModelArtifactServiceClient::new(channel.clone()),
            events: ModelEventServiceClient::new(channel.clone()),
            health: HealthClient::new(channel),
            database,
            statements,
            objects,
            _artifact_dir: artifact_dir,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// Stops the server gracefully and waits until it has closed its pools.
    pub async fn stop(mut self) -> TestDatabase {
        self.shutdown_server().await;
        // `self` implements Drop, so the database is moved out through a replacement.
        std::mem::replace(&mut self.database, TestDatabase::none())
    }

    /// Sends the shutdown signal (SIGTERM's part in `modelreg serve`) and returns at once;
    /// `stop` then waits for the server to finish.
    pub fn signal_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    async fn shutdown_server(&mut self) {
        self.signal_shutdown();
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("the server stops within 10 s")
                .expect("the server task ends cleanly");
        }
    }

    pub async fn register(
        &self,
        info: pb::ModelRelatedInformation,
    ) -> Result<pb::ModelRelatedInformation, tonic::Status> {
        self.registration
            .clone()
            .register_model(pb::RegisterModelRequest {
                model_related_information: Some(info),
                request_id: String::new(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Registers a valid model with one target environment; returns its registration id.
    pub async fn registered_id(&self, name: &str) -> String {
        self.register(super::fixtures::model(name, "1", 1))
            .await
            .expect("register")
            .model_registration_id
    }

    pub async fn get(&self, id: &str) -> Result<pb::ModelRelatedInformation, tonic::Status> {
        self.registration
            .clone()
            .get_model_registration(pb::GetModelRegistrationRequest {
                model_registration_id: id.into(),
                model: None,
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn update(
        &self,
        info: pb::ModelRelatedInformation,
        mask: &[&str],
    ) -> Result<pb::ModelRelatedInformation, tonic::Status> {
        let update_mask = (!mask.is_empty()).then(|| prost_types::FieldMask {
            paths: mask.iter().map(|p| p.to_string()).collect(),
        });
        self.registration
            .clone()
            .update_model_registration(pb::UpdateModelRegistrationRequest {
                model_related_information: Some(info),
                update_mask,
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn delete(&self, id: &str, etag: &str) -> Result<(), tonic::Status> {
        self.registration
            .clone()
            .delete_model_registration(pb::DeleteModelRegistrationRequest {
                model_registration_id: id.into(),
                etag: etag.into(),
            })
            .await
            .map(|_| ())
    }

    pub async fn list(
        &self,
        request: pb::ListModelsRequest,
    ) -> Result<pb::ListModelsResponse, tonic::Status> {
        self.discovery
            .clone()
            .list_models(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// The number of target environment rows stored for one registration.
    pub async fn environment_rows(&self, id: &str) -> i64 {
        let db = self.database.connect().await;
        let id = uuid::Uuid::parse_str(id).unwrap();
        let backend = db.get_database_backend();
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm::DbBackend::Postgres => {
                        "SELECT COUNT(*) FROM target_environments WHERE model_related_information_id = $1"
                    }
                    _ => "SELECT COUNT(*) FROM target_environments WHERE model_related_information_id = ?",
                },
                [id.into()],
            ))
            .await
            .expect("count query")
            .expect("a row");
        db.close().await.ok();
        row.try_get_by_index::<i64>(0).unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
