//! The harness: a real server on 127.0.0.1:0 with a fresh database per test, reached through
//! the generated tonic clients, as users reach it.

use std::net::SocketAddr;
use std::time::Duration;

use modelreg::artifact_store::ArtifactStore;
use modelreg::pb::{
    self, model_artifact_service_client::ModelArtifactServiceClient,
    model_discovery_service_client::ModelDiscoveryServiceClient,
    model_registration_service_client::ModelRegistrationServiceClient,
};
use modelreg::{Application, ServeConfig};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;

pub const POSTGRES_URL_VAR: &str = "MODELREG_TEST_POSTGRES_URL";
/// `s3://BUCKET` of an S3-protocol server, reached through the AWS_* variables; the bucket
/// is created when missing and every test works under a prefix of its own.
pub const S3_URL_VAR: &str = "MODELREG_TEST_S3_URL";
/// Set by `.ci/run`: a test that would be skipped fails instead.
pub const FORBID_SKIP_VAR: &str = "MODELREG_TEST_FORBID_SKIP";

/// Runs each named `async fn(Backend)` as one test on SQLite and one on PostgreSQL.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(backend) = $crate::common::Backend::postgres(stringify!($test)) {
                        super::$test(backend).await;
                    }
                }
            )*
        }
    };
}
pub(crate) use on_every_backend;

/// Runs each named `async fn(Backend, Objects)` on both databases and both object stores.
macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {
        mod sqlite_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::common::Backend::Sqlite, $crate::common::Objects::File).await;
                }
            )*
        }
        mod postgres_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(backend) = $crate::common::Backend::postgres(stringify!($test)) {
                        super::$test(backend, $crate::common::Objects::File).await;
                    }
                }
            )*
        }
        mod sqlite_s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(objects) = $crate::common::Objects::s3(stringify!($test)).await {
                        super::$test($crate::common::Backend::Sqlite, objects).await;
                    }
                }
            )*
        }
        mod postgres_s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(backend) = $crate::common::Backend::postgres(stringify!($test))
                        && let Some(objects) = $crate::common::Objects::s3(stringify!($test)).await
                    {
                        super::$test(backend, objects).await;
                    }
                }
            )*
        }
    };
}
pub(crate) use on_every_store;

/// Where a test server keeps artifact bytes.
#[derive(Clone, Debug)]
pub enum Objects {
    /// A fresh temporary folder.
    File,
    /// A fresh prefix in the bucket of `MODELREG_TEST_S3_URL`.
    S3(String),
}

impl Objects {
    /// The S3 store, or `None` (with a message) when its variable is not set.
    pub async fn s3(test: &str) -> Option<Self> {
        match std::env::var(S3_URL_VAR) {
            Ok(url) if !url.is_empty() => {
                create_bucket(&url).await;
                Some(Self::S3(url))
            }
            _ => {
                skip(test, &format!("{S3_URL_VAR} is not set"));
                None
            }
        }
    }
}

/// Creates the test bucket once per process (object_store has no call for that). An existing
/// bucket is fine.
async fn create_bucket(url: &str) {
    static CREATED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if CREATED.get().is_some() {
        return;
    }
    let bucket = url::Url::parse(url)
        .expect("an s3:// URL")
        .host_str()
        .expect("a bucket")
        .to_owned();
    let (status, response) = s3_request("PUT", &format!("/{bucket}")).await;
    assert!(
        status == "200" || status == "409",
        "creating bucket {bucket} failed: {response}"
    );
    let _ = CREATED.set(());
}

/// Keys of the multipart uploads begun and neither completed nor aborted under `prefix`:
/// a listing of objects does not show them.
pub async fn pending_multipart_uploads(bucket: &str, prefix: &str) -> Vec<String> {
    let (status, response) = s3_request("GET", &format!("/{bucket}?uploads&prefix={prefix}")).await;
    assert_eq!(status, "200", "ListMultipartUploads failed: {response}");
    response
        .split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split("</Key>").next())
        .map(|key| format!("pending multipart upload {key}"))
        .collect()
}

/// An unsigned path-style request to the S3 server of AWS_ENDPOINT, which local S3 servers
/// accept. HTTP/1.0 keeps the answer unchunked. Returns the status and the whole answer.
async fn s3_request(method: &str, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let endpoint = std::env::var("AWS_ENDPOINT").expect("AWS_ENDPOINT names the S3 server");
    let endpoint = url::Url::parse(&endpoint).expect("AWS_ENDPOINT is a URL");
    let host = format!(
        "{}:{}",
        endpoint.host_str().expect("a host"),
        endpoint.port_or_known_default().expect("a port")
    );
    let mut connection = tokio::net::TcpStream::connect(&host)
        .await
        .unwrap_or_else(|err| panic!("cannot reach the S3 server at {host}: {err}"));
    let request = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n");
    connection.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    connection.read_to_string(&mut response).await.unwrap();
    let status = response.split(' ').nth(1).unwrap_or_default().to_owned();
    (status, response)
}

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// The administrative URL from `MODELREG_TEST_POSTGRES_URL`.
    Postgres(String),
}

impl Backend {
    /// The PostgreSQL backend, or `None` (with a message) when its variable is not set.
    pub fn postgres(test: &str) -> Option<Self> {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ => {
                skip(test, &format!("{POSTGRES_URL_VAR} is not set"));
                None
            }
        }
    }
}

/// Says that a test is skipped, or fails it when skips are forbidden.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os(FORBID_SKIP_VAR).is_some() {
        panic!("{test} would be skipped ({why}), and {FORBID_SKIP_VAR} forbids skipping");
    }
    eprintln!("SKIPPED {test}: {why}");
}

/// A fresh, empty database that is removed when dropped.
pub struct TestDatabase {
    pub url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create(backend: &Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("modelreg.db").display()
                );
                Self {
                    url,
                    cleanup: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres(admin_url) => {
                let name = format!("modelreg_test_{}", uuid::Uuid::new_v4().simple());
                create_postgres_database(admin_url, &name).await;
                let mut url = url::Url::parse(admin_url).expect("PostgreSQL URL");
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    cleanup: Some((admin_url.clone(), name)),
                    _dir: None,
                }
            }
        }
    }

    /// A direct connection, to look at rows the API never shows.
    pub async fn connect(&self) -> DatabaseConnection {
        Database::connect(self.url.as_str())
            .await
            .expect("connect to the test database")
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let db = self.connect().await;
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .expect("count query")
            .expect("a row");
        let count = row.try_get_by_index::<i64>(0).expect("a count");
        db.close().await.ok();
        count
    }

    /// Drops the PostgreSQL database now, cutting off every connection to it.
    pub async fn drop_now(&self) {
        if let Some((admin_url, name)) = &self.cleanup {
            drop_postgres_database(admin_url, name).await;
        }
    }

    /// Creates the (dropped) PostgreSQL database again, empty.
    pub async fn create_again(&self) {
        let (admin_url, name) = self.cleanup.as_ref().expect("a PostgreSQL database");
        create_postgres_database(admin_url, name).await;
    }
}

async fn create_postgres_database(admin_url: &str, name: &str) {
    let admin = Database::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    admin.close().await.ok();
}

async fn drop_postgres_database(admin_url: &str, name: &str) {
    if let Ok(admin) = Database::connect(admin_url).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        admin.close().await.ok();
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Runs on failure too; a thread of its own, because Drop cannot await.
        if let Some((admin_url, name)) = self.cleanup.take() {
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(drop_postgres_database(&admin_url, &name));
            })
            .join();
        }
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, when the test asked for it.
    pub metrics_addr: Option<SocketAddr>,
    pub registration: ModelRegistrationServiceClient<Channel>,
    pub discovery: ModelDiscoveryServiceClient<Channel>,
    pub artifacts: ModelArtifactServiceClient<Channel>,
    pub health: HealthClient<Channel>,
    pub database: TestDatabase,
    /// The server's database store, to read its statement log.
    pub store: modelreg::store::Store,
    /// The server's artifact store, opened a second time to look inside.
    pub objects: ArtifactStore,
    /// The folder of a `file://` artifact store.
    pub artifact_folder: Option<std::path::PathBuf>,
    /// The bucket and prefix of an `s3://` artifact store.
    pub s3_location: Option<(String, String)>,
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
        if std::env::var_os("MODELREG_TEST_LOG").is_some() {
            modelreg::init_logging();
        }
        let database = TestDatabase::create(&backend).await;
        let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), database.url.clone());
        let mut s3_location = None;
        let (artifact_dir, artifact_folder) = match objects {
            Objects::File => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let folder = dir.path().join("artifacts");
                config.artifacts.artifact_store =
                    Some(url::Url::from_directory_path(&folder).unwrap().to_string());
                (Some(dir), Some(folder))
            }
            Objects::S3(bucket) => {
                let prefix = uuid::Uuid::new_v4().simple().to_string();
                config.artifacts.artifact_store =
                    Some(format!("{}/{prefix}", bucket.trim_end_matches('/')));
                let bucket_name = url::Url::parse(&bucket)
                    .unwrap()
                    .host_str()
                    .unwrap()
                    .to_owned();
                s3_location = Some((bucket_name, prefix));
                (None, None)
            }
        };
        configure(&mut config);
        let objects = ArtifactStore::open(&config.artifacts, &config.database.database_url)
            .expect("open the artifact store");
        let app = Application::build(config).await.expect("the server starts");
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let store = app.store().clone();
        let (shutdown, stop) = oneshot::channel();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = stop.await;
            })
            .await
            .expect("the server runs");
        });
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to the server");
        Self {
            addr,
            metrics_addr,
            registration: ModelRegistrationServiceClient::new(channel.clone()),
            discovery: ModelDiscoveryServiceClient::new(channel.clone()),
            artifacts: ModelArtifactServiceClient::new(channel.clone()),
            health: HealthClient::new(channel),
            database,
            store,
            objects,
            artifact_folder,
            s3_location,
            _artifact_dir: artifact_dir,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// Stops the server gracefully and waits until it has closed its pools.
    pub async fn stop(mut self) -> TestDatabase {
        self.shutdown_server().await;
        // `self` implements Drop, so the database is moved out through a replacement.
        std::mem::replace(
            &mut self.database,
            TestDatabase {
                url: String::new(),
                cleanup: None,
                _dir: None,
            },
        )
    }

    async fn shutdown_server(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
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

    pub async fn get(&self, id: &str) -> Result<pb::ModelRelatedInformation, tonic::Status> {
        self.registration
            .clone()
            .get_model_registration(pb::GetModelRegistrationRequest {
                model_registration_id: id.into(),
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

/// A valid R1AP model with `environments` target environments named `platform-0`, ….
pub fn model(name: &str, version: &str, environments: usize) -> pb::ModelRelatedInformation {
    pb::ModelRelatedInformation {
        model_id: Some(pb::ModelId {
            model_name: name.into(),
            model_version: version.into(),
            artifact_version: String::new(),
        }),
        description: format!("{name} {version}"),
        model_information: Some(pb::ModelInformation {
            metadata: Some(pb::Metadata {
                author: "alice".into(),
                owner: "ran-team".into(),
            }),
            input_data_type: vec!["pdcpBytesDl,pdcpBytesUl".into(), "rsrp".into()],
            output_data_type: vec!["qoe".into()],
            target_environment: (0..environments)
                .map(|i| environment(&format!("platform-{i}")))
                .collect(),
        }),
        model_location: format!("s3://models/{name}/{version}.zip"),
        ..Default::default()
    }
}

pub fn environment(platform: &str) -> pb::TargetEnvironment {
    pb::TargetEnvironment {
        platform_name: platform.into(),
        environment_type: "onnx".into(),
        dependency_list: "numpy,onnxruntime".into(),
    }
}

pub fn environments_of(info: &pb::ModelRelatedInformation) -> Vec<String> {
    info.model_information
        .as_ref()
        .map(|i| {
            i.target_environment
                .iter()
                .map(|e| e.platform_name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts the code and the AIP-193 ErrorInfo of a failed call; returns the details.
pub fn assert_error(
    status: &tonic::Status,
    code: tonic::Code,
    reason: &str,
) -> tonic_types::ErrorDetails {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason);
    assert_eq!(info.domain, "modelregistry");
    details
}

/// The fields named by the BadRequest of an INVALID_ARGUMENT answer.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    let details = assert_error(status, tonic::Code::InvalidArgument, "INVALID_ARGUMENT");
    details
        .bad_request()
        .expect("BadRequest details")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}
