//! TLS on the gRPC listener with real certificates, made by rcgen for each test: which clients
//! get through, mutual TLS, a certificate and a client CA rotated while serving, start-up
//! errors, and the CLI over https.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use modelreg::{Application, ServeConfig};
use tonic::transport::{Channel, ClientTlsConfig};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::common::certificates::{Authority, write_atomically};
use crate::common::{Backend, TestServer, plain_async, plain_sync};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let plain = plain_async!(
        a_client_that_trusts_the_servers_ca_calls_over_tls,
        a_client_that_trusts_another_ca_is_refused,
        mutual_tls_refuses_a_client_without_a_certificate,
        mutual_tls_refuses_a_client_certificate_from_another_ca,
        mutual_tls_accepts_a_client_certificate_from_its_ca,
        a_rotated_certificate_serves_new_connections_and_spares_open_ones,
        a_rotated_client_ca_verifies_new_connections_and_spares_open_ones,
        a_bad_certificate_file_stops_the_start_naming_it,
        the_cli_reaches_an_https_server_with_its_ca_and_client_certificate,
    );
    let sync = plain_sync!(serve_wants_a_key_with_its_certificate);
    plain.into_iter().chain(sync).collect()
}

/// The server's files: its certificate and key from `authority`, and the client CA if any.
pub(crate) struct ServerFiles {
    dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
}

impl ServerFiles {
    pub(crate) fn new(authority: &Authority, client_ca: Option<&Authority>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = authority.server_certificate().write(dir.path(), "server");
        let client_ca = client_ca.map(|ca| {
            let path = dir.path().join("client-ca.pem");
            write_atomically(&path, &ca.pem());
            path
        });
        Self {
            dir,
            cert,
            key,
            client_ca,
        }
    }

    pub(crate) fn configure(&self, config: &mut ServeConfig) {
        config.tls.tls_cert = Some(self.cert.clone());
        config.tls.tls_key = Some(self.key.clone());
        config.tls.tls_client_ca = self.client_ca.clone();
    }
}

/// A channel to `server` that connects at its first call.
fn channel(server: &TestServer, tls: ClientTlsConfig) -> Channel {
    Channel::from_shared(server.url.clone())
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .tls_config(tls)
        .expect("a TLS client")
        .connect_lazy()
}

async fn health_check(channel: Channel) -> Result<(), tonic::Status> {
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map(|_| ())
}

/// The call failed in the transport, as a handshake that the client refuses fails it.
fn assert_refused(result: Result<(), tonic::Status>) {
    let status = result.expect_err("the handshake is refused");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
}

/// The server refused the handshake, with `alert` when the client got to read it. In TLS 1.3
/// the client has finished its side of the handshake by then, so the refusal reaches it as the
/// connection fails under its first call, before any request is read: as the alert, or, when
/// the server's close overtakes it, as a connection closed. Without the refusal, the call would
/// succeed: nothing else in the server turns a caller away.
fn assert_refused_by_server(result: Result<(), tonic::Status>, alert: &str) {
    let status = result.expect_err("the handshake is refused");
    assert!(
        matches!(
            status.code(),
            tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
        ),
        "{status:?}"
    );
    let cause = format!("{:?}", std::error::Error::source(&status));
    assert!(
        !cause.contains("alert:") || cause.contains(&format!("alert: {alert}")),
        "{status:?}"
    );
}

async fn a_client_that_trusts_the_servers_ca_calls_over_tls() {
    let authority = Authority::new("registry CA");
    let files = ServerFiles::new(&authority, None);
    let server = TestServer::start_tls(
        Backend::Sqlite,
        |config| files.configure(config),
        authority.trusted_by_client(),
    )
    .await;
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let id = server.registered_id("qoe-predictor").await;
    let model = server.get(&id).await.expect("get over TLS");
    assert_eq!(model.model_id.unwrap().model_name, "qoe-predictor");
    server.stop().await;
}

async fn a_client_that_trusts_another_ca_is_refused() {
    let authority = Authority::new("registry CA");
    let files = ServerFiles::new(&authority, None);
    let server = TestServer::start_tls(
        Backend::Sqlite,
        |config| files.configure(config),
        authority.trusted_by_client(),
    )
    .await;
    let stranger = Authority::new("another CA");
    assert_refused(health_check(channel(&server, stranger.trusted_by_client())).await);
    // The server goes on serving the clients that trust it.
    health_check(channel(&server, authority.trusted_by_client()))
        .await
        .expect("a trusting client");
    server.stop().await;
}

/// A server that asks clients for a certificate of `clients`; its own clients present one.
async fn mutual_tls_server(
    authority: &Authority,
    clients: &Authority,
) -> (TestServer, ServerFiles) {
    let files = ServerFiles::new(authority, Some(clients));
    let identity = clients
        .client_certificate("spiffe://test.local/ns/ran/sa/trainer")
        .identity();
    let server = TestServer::start_tls(
        Backend::Sqlite,
        |config| files.configure(config),
        authority.trusted_by_client().identity(identity),
    )
    .await;
    (server, files)
}

async fn mutual_tls_refuses_a_client_without_a_certificate() {
    let authority = Authority::new("registry CA");
    let clients = Authority::new("client CA");
    let (server, _files) = mutual_tls_server(&authority, &clients).await;
    let anonymous = channel(&server, authority.trusted_by_client());
    assert_refused_by_server(health_check(anonymous).await, "CertificateRequired");
    server.stop().await;
}

async fn mutual_tls_refuses_a_client_certificate_from_another_ca() {
    let authority = Authority::new("registry CA");
    let clients = Authority::new("client CA");
    let (server, _files) = mutual_tls_server(&authority, &clients).await;
    let forged = Authority::new("another CA").client_certificate("spiffe://test.local/intruder");
    let tls = authority.trusted_by_client().identity(forged.identity());
    assert_refused_by_server(health_check(channel(&server, tls)).await, "UnknownCA");
    server.stop().await;
}

async fn mutual_tls_accepts_a_client_certificate_from_its_ca() {
    let authority = Authority::new("registry CA");
    let clients = Authority::new("client CA");
    let (server, _files) = mutual_tls_server(&authority, &clients).await;
    let id = server.registered_id("qoe-predictor").await;
    server.get(&id).await.expect("get over mutual TLS");
    let other = clients.client_certificate("spiffe://test.local/ns/ran/sa/other");
    let tls = authority.trusted_by_client().identity(other.identity());
    health_check(channel(&server, tls))
        .await
        .expect("another client of the client CA");
    server.stop().await;
}

async fn a_rotated_certificate_serves_new_connections_and_spares_open_ones() {
    let old = Authority::new("old CA");
    let files = ServerFiles::new(&old, None);
    let server = TestServer::start_tls(
        Backend::Sqlite,
        |config| {
            files.configure(config);
            config.tls.tls_reload_interval = Duration::from_millis(50);
        },
        old.trusted_by_client(),
    )
    .await;
    // A connection opened before the rotation, by a client that trusts only the old CA.
    let mut before = server.health.clone();
    before
        .check(HealthCheckRequest::default())
        .await
        .expect("a call before the rotation");

    let new = Authority::new("new CA");
    new.server_certificate().write(files.dir.path(), "server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while health_check(channel(&server, new.trusted_by_client()))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "new connections still get the old certificate"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_refused(health_check(channel(&server, old.trusted_by_client())).await);

    // Were it closed, this client would reconnect, meet the new certificate and fail.
    before
        .check(HealthCheckRequest::default())
        .await
        .expect("the connection opened before the rotation keeps working");

    // A rotation that breaks the files keeps the certificate that works.
    write_atomically(&files.cert, "not a certificate");
    tokio::time::sleep(Duration::from_millis(200)).await;
    health_check(channel(&server, new.trusted_by_client()))
        .await
        .expect("the last good certificate");
    server.stop().await;
}

async fn a_rotated_client_ca_verifies_new_connections_and_spares_open_ones() {
    let authority = Authority::new("registry CA");
    let old = Authority::new("old client CA");
    let files = ServerFiles::new(&authority, Some(&old));
    let client_ca = files.client_ca.clone().unwrap();
    let client_of = |clients: &Authority| {
        let certificate = clients.client_certificate("spiffe://test.local/ns/ran/sa/trainer");
        authority
            .trusted_by_client()
            .identity(certificate.identity())
    };
    let server = TestServer::start_tls(
        Backend::Sqlite,
        |config| {
            files.configure(config);
            config.tls.tls_reload_interval = Duration::from_millis(100);
        },
        client_of(&old),
    )
    .await;
    // A connection opened before the rotation, with a certificate of the old client CA only.
    let mut before = server.health.clone();
    before
        .check(HealthCheckRequest::default())
        .await
        .expect("a call before the rotation");

    let new = Authority::new("new client CA");
    write_atomically(&client_ca, &new.pem());
    let deadline = Instant::now() + Duration::from_secs(10);
    while health_check(channel(&server, client_of(&new)))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "new connections are still verified against the old client CA"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_refused_by_server(
        health_check(channel(&server, client_of(&old))).await,
        "UnknownCA",
    );

    // Were it closed, this client would reconnect, meet the new client CA and be refused.
    before
        .check(HealthCheckRequest::default())
        .await
        .expect("the connection opened before the rotation keeps working");

    // A client CA file that breaks keeps the verifier that works.
    write_atomically(&client_ca, "not a certificate");
    tokio::time::sleep(Duration::from_millis(300)).await;
    health_check(channel(&server, client_of(&new)))
        .await
        .expect("the last client CA that loaded");
    assert_refused_by_server(
        health_check(channel(&server, client_of(&old))).await,
        "UnknownCA",
    );
    server.stop().await;
}

async fn a_bad_certificate_file_stops_the_start_naming_it() {
    let authority = Authority::new("registry CA");
    let files = ServerFiles::new(&authority, None);
    let start = |configure: &dyn Fn(&mut ServeConfig)| {
        let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), "sqlite::memory:");
        files.configure(&mut config);
        configure(&mut config);
        async move {
            match Application::build(config).await {
                Ok(_) => panic!("the server started"),
                Err(err) => err.to_string(),
            }
        }
    };
    let shown = |path: &Path| path.display().to_string();

    let garbage = files.dir.path().join("garbage.pem");
    write_atomically(&garbage, "not a certificate");
    let error = start(&|config| config.tls.tls_cert = Some(garbage.clone())).await;
    assert!(error.contains(&shown(&garbage)), "{error}");

    let missing = files.dir.path().join("missing-key.pem");
    let error = start(&|config| config.tls.tls_key = Some(missing.clone())).await;
    assert!(error.contains(&shown(&missing)), "{error}");

    // A key that belongs to another certificate.
    let (cert, _) = authority
        .server_certificate()
        .write(files.dir.path(), "other");
    let error = start(&|config| config.tls.tls_cert = Some(cert.clone())).await;
    assert!(
        error.contains(&shown(&files.key)) && error.contains(&shown(&cert)),
        "{error}"
    );

    let error = start(&|config| config.tls.tls_client_ca = Some(files.key.clone())).await;
    assert!(error.contains(&shown(&files.key)), "{error}");
}

async fn the_cli_reaches_an_https_server_with_its_ca_and_client_certificate() {
    let authority = Authority::new("registry CA");
    let clients = Authority::new("client CA");
    let (server, files) = mutual_tls_server(&authority, &clients).await;
    server.registered_id("qoe-predictor").await;
    let ca = files.dir.path().join("ca.pem");
    write_atomically(&ca, &authority.pem());
    let (client_cert, client_key) = clients
        .client_certificate("spiffe://test.local/cli")
        .write(files.dir.path(), "client");

    let trusted = || {
        let mut command = modelreg(&server);
        command
            .arg("--ca-cert")
            .arg(&ca)
            .arg("--client-cert")
            .arg(&client_cert)
            .arg("--client-key")
            .arg(&client_key);
        command
    };
    let output = run(trusted()).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("qoe-predictor"), "{stdout}");

    // A token decides over the certificate; one the server does not know is refused, and the
    // CLI's report of the refusal does not repeat it.
    let mut with_token = trusted();
    with_token.env("MODELREG_TOKEN", "s3cr3t-token");
    let output = run(with_token).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("UNAUTHENTICATED"), "{stderr}");
    assert!(!stderr.contains("s3cr3t"), "{stderr}");

    // Without --ca-cert, only public CAs are trusted: the handshake fails and says why.
    let mut untrusted = modelreg(&server);
    untrusted
        .arg("--client-cert")
        .arg(&client_cert)
        .arg("--client-key")
        .arg(&client_key);
    let output = run(untrusted).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the CLI trusted an unknown CA");
    assert!(
        stderr.contains(&server.url) && stderr.contains("UnknownIssuer"),
        "{stderr}"
    );
    server.stop().await;
}

/// `modelreg models list -o json` against `server`, with its output captured.
fn modelreg(server: &TestServer) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_modelreg"));
    command
        .args(["models", "list", "-o", "json", "--server", &server.url])
        .env_remove("RUST_LOG")
        .env_remove("MODELREG_TOKEN");
    command
}

/// Runs the command off the runtime's threads (the server runs on them).
async fn run(mut command: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || command.output().expect("run modelreg"))
        .await
        .unwrap()
}

fn serve_wants_a_key_with_its_certificate() {
    let output = Command::new(env!("CARGO_BIN_EXE_modelreg"))
        .args(["serve", "--tls-cert", "server.pem"])
        .env_remove("MODELREG_TLS_KEY")
        .output()
        .expect("run modelreg");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "serve started without a key");
    assert!(stderr.contains("--tls-key"), "{stderr}");
}
