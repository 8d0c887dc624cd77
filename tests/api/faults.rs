//! Faults, with the real binary where a process must die: kill -9 under 64 concurrent writers,
//! SIGTERM with 32 calls in flight (finishing within the grace period, or cut off by it), a
//! PostgreSQL cluster of the test's own stopped under load and started again, 32-way races on
//! one name and version, and crashes in the artifact path cleaned up by `modelreg gc`.
//!
//! Each test prints its figures on one line, `faults::VARIANT::TEST: …`, the source of the
//! figures in docs/reliability.md.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use modelreg::pb;
use modelreg::pb::download_artifact_response::Payload as Download;
use modelreg::pb::model_artifact_service_client::ModelArtifactServiceClient;
use modelreg::pb::model_discovery_service_client::ModelDiscoveryServiceClient;
use modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient;
use modelreg::pb::upload_artifact_request::Payload as Upload;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::artifacts::random_bytes;
use crate::common::objects::StoredObjects;
use crate::common::process::Serve;
use crate::common::prometheus::{free_address, sample, scrape};
use crate::common::trials::{Needs, name, on_postgres, trial};
use crate::common::{
    Backend, Objects, TestDatabase, TestServer, assert_error, environments_of, model,
    on_every_backend,
};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let mut trials = on_every_backend!(
        kill_9_under_64_writers_loses_no_acknowledged_registration,
        sigterm_lets_32_calls_in_flight_finish_and_exits_0,
        sigterm_cuts_off_calls_that_outlast_the_grace_period,
        racing_32_registrations_of_one_name_and_version,
        racing_32_retries_of_one_request_id,
        kill_9_during_a_large_upload_leaves_what_gc_removes,
        gc_removes_a_planted_orphan_only_past_the_grace_period,
    );
    trials.push(on_postgres(
        module_path!(),
        "postgres_stopped_under_load_and_started_again",
        postgres_stopped_under_load_and_started_again,
    ));
    // Only an S3 store can go away while the server runs.
    let test = "an_object_store_outage_fails_only_artifact_calls";
    for (variant, needs, backend) in [
        ("sqlite_s3", &[Needs::S3][..], None),
        ("postgres_s3", &[Needs::Postgres, Needs::S3][..], Some(())),
    ] {
        trials.push(trial(
            name(module_path!(), Some(variant), test),
            needs,
            move || async move {
                let backend = match backend {
                    Some(()) => Backend::postgres(),
                    None => Backend::Sqlite,
                };
                an_object_store_outage_fails_only_artifact_calls(backend).await
            },
        ));
    }
    trials
}

/// The three environments every registration of these tests has, in this order.
const PLATFORMS: [&str; 3] = ["platform-0", "platform-1", "platform-2"];
const UPLOAD_METHOD: &str = "/modelregistry.v1.ModelArtifactService/UploadArtifact";
const CHUNK: usize = 64 * 1024;
const MIB: usize = 1024 * 1024;

/// One line of figures, named like the trial that printed it.
fn figures(backend: &Backend, test: &str, line: impl Display) {
    figures_of(variant(backend, ""), test, line);
}

fn figures_of(variant: String, test: &str, line: impl Display) {
    println!("faults::{variant}::{test}: {line}");
}

/// `sqlite` or `postgres`, followed by `suffix`.
fn variant(backend: &Backend, suffix: &str) -> String {
    let database = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
        Backend::MySql(_) => "mysql",
    };
    format!("{database}{suffix}")
}

/// A database and an artifact folder that outlive the server processes started on them.
struct Deployment {
    database: TestDatabase,
    folder: tempfile::TempDir,
}

impl Deployment {
    async fn new(backend: &Backend) -> Self {
        Self {
            database: TestDatabase::create(backend).await,
            folder: tempfile::tempdir().expect("a temporary artifact folder"),
        }
    }

    fn store_url(&self) -> String {
        url::Url::from_directory_path(self.folder.path())
            .unwrap()
            .to_string()
    }

    /// `modelreg serve` on this deployment. It never sweeps by itself: only `gc` removes
    /// anything from the store.
    fn serve(&self) -> Serve {
        Serve::new()
            .args(["--database-url", &self.database.url])
            .args(["--artifact-store", &self.store_url()])
            .args(["--gc-interval", "0s"])
    }

    /// Runs `modelreg gc` with `args` on this deployment; returns what it printed.
    fn gc(&self, args: &[&str]) -> String {
        crate::common::process::gc(&self.database.url, &self.store_url(), args)
    }

    /// Every file in the artifact folder, staged uploads included.
    fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut pending = vec![self.folder.path().to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files.sort();
        files
    }

    /// The staging files of uploads in progress or interrupted: `NAME#DIGITS`.
    fn staged_files(&self) -> Vec<PathBuf> {
        self.files().into_iter().filter(|p| is_staged(p)).collect()
    }

    /// The files of published objects.
    fn published_files(&self) -> Vec<PathBuf> {
        self.files().into_iter().filter(|p| !is_staged(p)).collect()
    }
}

fn is_staged(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.split_once('#'))
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

async fn connect(url: &str) -> Channel {
    Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to modelreg")
}

/// `UNAVAILABLE 3, UNKNOWN 1`: how many of each code, by their canonical names.
fn code_counts(codes: impl IntoIterator<Item = Code>) -> String {
    let mut counts = BTreeMap::new();
    for code in codes {
        *counts.entry(code_name(code)).or_insert(0usize) += 1;
    }
    let listed: Vec<String> = counts
        .into_iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    listed.join(", ")
}

/// `0`, or `4 (UNAVAILABLE 3, UNKNOWN 1)`.
fn counted(codes: impl IntoIterator<Item = Code>) -> String {
    let codes: Vec<Code> = codes.into_iter().collect();
    match codes.len() {
        0 => "0".into(),
        n => format!("{n} ({})", code_counts(codes)),
    }
}

/// `AlreadyExists` → `ALREADY_EXISTS`.
fn code_name(code: Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

async fn register(
    client: &ModelRegistrationServiceClient<Channel>,
    info: pb::ModelRelatedInformation,
) -> pb::ModelRelatedInformation {
    client
        .clone()
        .register_model(pb::RegisterModelRequest {
            model_related_information: Some(info),
            request_id: String::new(),
        })
        .await
        .expect("register")
        .into_inner()
}

async fn get(
    client: &ModelRegistrationServiceClient<Channel>,
    id: &str,
) -> Result<pb::ModelRelatedInformation, tonic::Status> {
    client
        .clone()
        .get_model_registration(pb::GetModelRegistrationRequest {
            model_registration_id: id.into(),
            model: None,
        })
        .await
        .map(tonic::Response::into_inner)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn header(id: &str, content: &[u8]) -> pb::UploadArtifactRequest {
    pb::UploadArtifactRequest {
        payload: Some(Upload::Header(pb::ArtifactHeader {
            model_registration_id: id.into(),
            sha256: sha256_hex(content),
            size_bytes: content.len() as u64,
            ..Default::default()
        })),
    }
}

fn chunk(bytes: &[u8]) -> pb::UploadArtifactRequest {
    pb::UploadArtifactRequest {
        payload: Some(Upload::Chunk(Bytes::copy_from_slice(bytes))),
    }
}

async fn upload(
    client: &ModelArtifactServiceClient<Channel>,
    id: &str,
    content: &[u8],
) -> pb::ArtifactInfo {
    let mut messages = vec![header(id, content)];
    messages.extend(content.chunks(CHUNK).map(chunk));
    client
        .clone()
        .upload_artifact(futures::stream::iter(messages))
        .await
        .expect("upload")
        .into_inner()
}

/// The latest artifact of a model: its info and bytes.
async fn download(
    client: &ModelArtifactServiceClient<Channel>,
    id: &str,
) -> (pb::ArtifactInfo, Vec<u8>) {
    let mut stream = client
        .clone()
        .download_artifact(pb::DownloadArtifactRequest {
            model_registration_id: id.into(),
            ..Default::default()
        })
        .await
        .expect("download")
        .into_inner();
    let (mut info, mut bytes) = (None, Vec::new());
    while let Some(message) = stream.message().await.expect("the download stream") {
        match message.payload {
            Some(Download::Info(first)) => info = Some(first),
            Some(Download::Chunk(chunk)) => bytes.extend_from_slice(&chunk),
            None => panic!("an empty download message"),
        }
    }
    (info.expect("the artifact's info"), bytes)
}

async fn list_artifacts(
    client: &ModelArtifactServiceClient<Channel>,
    id: &str,
) -> Vec<pb::ArtifactInfo> {
    client
        .clone()
        .list_artifacts(pb::ListArtifactsRequest {
            model_registration_id: id.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("list artifacts")
        .into_inner()
        .artifacts
}

// 1. kill -9 under writes

const WRITERS: usize = 64;
const WRITER_CONNECTIONS: usize = 4;

/// What writer `writer` registers in its `call`th call: a unique name, 3 environments.
fn written(writer: usize, call: usize) -> pb::ModelRelatedInformation {
    let mut info = model(&format!("writer-{writer}-{call}"), "1", PLATFORMS.len());
    info.description = format!("call {call} of writer {writer}");
    info
}

/// What one writer saw: the registrations acknowledged, then the call that failed with the kill.
struct Writer {
    acknowledged: Vec<pb::ModelRelatedInformation>,
    failed: pb::ModelRelatedInformation,
    code: Code,
}

/// 64 writers register as fast as they can; kill -9 after 1.5 s. Every acknowledged
/// registration is there after a restart, exactly as answered; a failed call may or may not
/// have committed, and is whole if it did.
async fn kill_9_under_64_writers_loses_no_acknowledged_registration(backend: Backend) {
    let deployment = Deployment::new(&backend).await;
    let mut server = deployment.serve().start().await;
    let mut channels = Vec::new();
    for _ in 0..WRITER_CONNECTIONS {
        channels.push(connect(&server.url()).await);
    }
    let killed = Arc::new(AtomicBool::new(false));
    let writers: Vec<JoinHandle<Writer>> = (0..WRITERS)
        .map(|writer| {
            let mut client =
                ModelRegistrationServiceClient::new(channels[writer % WRITER_CONNECTIONS].clone());
            let killed = killed.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                let mut call = 0;
                loop {
                    let sent = written(writer, call);
                    let request = pb::RegisterModelRequest {
                        model_related_information: Some(sent.clone()),
                        request_id: String::new(),
                    };
                    match client.register_model(request).await {
                        Ok(answer) => acknowledged.push(answer.into_inner()),
                        Err(status) => {
                            assert!(
                                killed.load(Ordering::SeqCst),
                                "a registration failed before the kill: {status:?}"
                            );
                            return Writer {
                                acknowledged,
                                failed: sent,
                                code: status.code(),
                            };
                        }
                    }
                    call += 1;
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    killed.store(true, Ordering::SeqCst);
    server.kill();
    let writers: Vec<Writer> = tokio::time::timeout(
        Duration::from_secs(30),
        futures::future::try_join_all(writers),
    )
    .await
    .expect("every writer sees the kill within 30 s")
    .expect("no writer failed before the kill");

    let server = deployment.serve().start().await;
    let channel = connect(&server.url()).await;
    let registrations = ModelRegistrationServiceClient::new(channel.clone());
    let mut discovery = ModelDiscoveryServiceClient::new(channel);

    let acknowledged: Vec<&pb::ModelRelatedInformation> =
        writers.iter().flat_map(|w| &w.acknowledged).collect();
    let lost: Vec<String> = futures::stream::iter(acknowledged.iter().copied())
        .map(|answer| {
            let registrations = &registrations;
            async move {
                match get(registrations, &answer.model_registration_id).await {
                    Ok(read) if read == *answer && environments_of(&read) == PLATFORMS => None,
                    Ok(read) => Some(format!("changed: {answer:?} became {read:?}")),
                    Err(status) => Some(format!("{}: {status:?}", answer.description)),
                }
            }
        })
        .buffer_unordered(16)
        .filter_map(futures::future::ready)
        .collect()
        .await;

    let mut committed = 0;
    for writer in &writers {
        let model_id = writer.failed.model_id.as_ref().unwrap();
        let found = discovery
            .list_models(pb::ListModelsRequest {
                model_name: model_id.model_name.clone(),
                model_version: model_id.model_version.clone(),
                ..Default::default()
            })
            .await
            .expect("list by name and version")
            .into_inner()
            .models;
        match found.as_slice() {
            [] => {}
            [stored] => {
                assert_eq!(stored.description, writer.failed.description);
                assert_eq!(environments_of(stored), PLATFORMS);
                assert_eq!(stored.model_information, writer.failed.model_information);
                committed += 1;
            }
            more => panic!("one name and version, {} registrations", more.len()),
        }
    }
    let stored = deployment
        .database
        .count("SELECT COUNT(*) FROM model_related_information")
        .await;
    let environment_rows = deployment
        .database
        .count("SELECT COUNT(*) FROM target_environments")
        .await;

    figures(
        &backend,
        "kill_9_under_64_writers_loses_no_acknowledged_registration",
        format_args!(
            "acknowledged {}, lost {}, in doubt {} ({committed} committed, whole; codes: {})",
            acknowledged.len(),
            lost.len(),
            writers.len(),
            code_counts(writers.iter().map(|w| w.code)),
        ),
    );
    assert!(lost.is_empty(), "acknowledged and lost: {lost:#?}");
    assert!(
        !acknowledged.is_empty(),
        "nothing was acknowledged before the kill"
    );
    assert_eq!(
        stored as usize,
        acknowledged.len() + committed,
        "nothing but the acknowledged and the committed in-doubt registrations is stored"
    );
    assert_eq!(
        environment_rows,
        stored * PLATFORMS.len() as i64,
        "every stored registration has exactly its environments"
    );
}

// 2. SIGTERM with calls in flight

const IN_FLIGHT: usize = 32;
/// Each upload sends half its bytes, pauses at the signal, then sends the rest.
const PAUSED_UPLOAD_BYTES: usize = 256 * 1024;

/// An upload that has sent its header and the first half of its bytes, and waits.
struct PausedUpload {
    sender: mpsc::Sender<pb::UploadArtifactRequest>,
    call: JoinHandle<Result<pb::ArtifactInfo, tonic::Status>>,
}

/// `IN_FLIGHT` uploads of `content` to model `id` on one connection, each paused half-way.
async fn pause_uploads(channel: &Channel, id: &str, content: &[u8]) -> Vec<PausedUpload> {
    let half = content.len() / 2;
    let mut uploads = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (sender, receiver) = mpsc::channel(content.len() / CHUNK + 1);
        sender.send(header(id, content)).await.unwrap();
        for bytes in content[..half].chunks(CHUNK) {
            sender.send(chunk(bytes)).await.unwrap();
        }
        let mut client = ModelArtifactServiceClient::new(channel.clone());
        let call = tokio::spawn(async move {
            client
                .upload_artifact(ReceiverStream::new(receiver))
                .await
                .map(tonic::Response::into_inner)
        });
        uploads.push(PausedUpload { sender, call });
    }
    uploads
}

/// Waits until the server has all `IN_FLIGHT` uploads in progress and has received the first
/// halves of their bytes: the calls are in flight in the server, not in a client buffer.
async fn wait_until_in_flight(metrics: SocketAddr, bytes_each: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let scraped = scrape(metrics).await;
        let in_flight = sample(
            &scraped,
            "modelreg_rpc_in_flight",
            Some(("method", UPLOAD_METHOD)),
        );
        let received = sample(&scraped, "modelreg_artifact_received_bytes_total", None);
        if in_flight as usize == IN_FLIGHT && received as usize >= IN_FLIGHT * bytes_each {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server never had {IN_FLIGHT} uploads in flight: {in_flight} calls, {received} bytes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What one new call on a new connection came to while the server shut down.
enum Probe {
    Served,
    /// The connection was refused: the listener was closed.
    Refused(tonic::Status),
    /// Any other failure: the connection was opened before the listener closed, and closed
    /// (or told to go away) before the call was read.
    CutInTheWindow(tonic::Status),
}

/// Whether the status comes from the client's transport, not from an answer of the server.
fn from_the_transport(status: &tonic::Status) -> bool {
    std::error::Error::source(status)
        .is_some_and(|source| source.downcast_ref::<tonic::transport::Error>().is_some())
}

fn refused_connection(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(err) = source {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// New calls (Health/Check), each on a new connection, one after the other, until 3 in a
/// row find the listener closed.
async fn probe_until_refused(url: String) -> Vec<Probe> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut probes = Vec::new();
    let mut refusals = 0;
    while refusals < 3 {
        let channel = Endpoint::from_shared(url.clone())
            .unwrap()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .connect_lazy();
        let answer = HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await;
        let probe = match answer {
            Ok(_) => Probe::Served,
            Err(status) if refused_connection(&status) => Probe::Refused(status),
            Err(status) => Probe::CutInTheWindow(status),
        };
        refusals = match probe {
            Probe::Refused(_) => refusals + 1,
            _ => 0,
        };
        probes.push(probe);
        assert!(
            Instant::now() < deadline,
            "new connections were still accepted 10 s after SIGTERM"
        );
    }
    probes
}

/// 32 uploads are in flight at SIGTERM; they all finish OK, a call after the listener closed
/// gets UNAVAILABLE, and the process exits 0 within the grace period.
async fn sigterm_lets_32_calls_in_flight_finish_and_exits_0(backend: Backend) {
    let deployment = Deployment::new(&backend).await;
    let metrics = free_address();
    let grace = Duration::from_secs(10);
    let mut server = deployment
        .serve()
        .args(["--shutdown-grace", "10s"])
        .args(["--metrics-listen", &metrics.to_string()])
        .start()
        .await;
    let channel = connect(&server.url()).await;
    let registrations = ModelRegistrationServiceClient::new(channel.clone());
    let id = register(&registrations, model("in-flight", "1", 1))
        .await
        .model_registration_id;
    let content = random_bytes(PAUSED_UPLOAD_BYTES, 32);
    let uploads = pause_uploads(&channel, &id, &content).await;
    wait_until_in_flight(metrics, PAUSED_UPLOAD_BYTES / 2).await;

    // New calls on new connections, from before the signal until the listener is closed.
    let probes: Vec<_> = (0..8)
        .map(|_| tokio::spawn(probe_until_refused(server.url())))
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let signalled = Instant::now();
    server.terminate();
    let probes: Vec<Probe> = futures::future::try_join_all(probes)
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    // The listener is closed; the calls in flight are paused for a second more, then end.
    tokio::time::sleep_until((signalled + Duration::from_secs(1)).into()).await;
    let mut calls = Vec::new();
    for upload in uploads {
        for bytes in content[PAUSED_UPLOAD_BYTES / 2..].chunks(CHUNK) {
            upload
                .sender
                .send(chunk(bytes))
                .await
                .expect("the call is open");
        }
        calls.push(upload.call);
    }
    let answers = tokio::time::timeout(grace, futures::future::try_join_all(calls))
        .await
        .expect("the calls in flight end within the grace period")
        .unwrap();
    let exit = server
        .wait(grace + Duration::from_secs(5))
        .await
        .expect("modelreg exits after SIGTERM");
    let exited_after = signalled.elapsed();
    let ok = answers.iter().filter(|a| a.is_ok()).count();
    let served = probes.iter().filter(|p| matches!(p, Probe::Served)).count();
    let (mut refused, mut cut) = (Vec::new(), Vec::new());
    for probe in &probes {
        match probe {
            Probe::Served => {}
            Probe::Refused(status) => refused.push(status),
            Probe::CutInTheWindow(status) => cut.push(status),
        }
    }

    figures(
        &backend,
        "sigterm_lets_32_calls_in_flight_finish_and_exits_0",
        format_args!(
            "in flight {IN_FLIGHT}, ok {ok}, exit {} after {} ms; new calls on new \
             connections: {served} served, {} cut while the listener closed, {} after it closed",
            exit.code().map_or("none".into(), |c| c.to_string()),
            exited_after.as_millis(),
            counted(cut.iter().map(|s| s.code())),
            counted(refused.iter().map(|s| s.code())),
        ),
    );
    let failures: Vec<_> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    assert!(failures.is_empty(), "calls in flight failed: {failures:?}");
    for status in &refused {
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    // The server itself answers no new call with an error: a connection cut in the instant
    // the listener closes fails in the client's transport (a reset, or a GOAWAY before the
    // call was read), never with a status sent by the server.
    for status in &cut {
        assert!(
            from_the_transport(status),
            "an answer of the server: {status:?}"
        );
    }
    assert!(
        exit.success(),
        "SIGTERM ends modelreg with exit 0: {exit:?}"
    );
    assert!(
        exited_after >= Duration::from_secs(1),
        "the process waited for the calls in flight, yet exited after {exited_after:?}"
    );
    assert!(exited_after < grace, "exit after {exited_after:?}");

    // Every upload was committed.
    let server = deployment.serve().start().await;
    let artifacts = ModelArtifactServiceClient::new(connect(&server.url()).await);
    let stored = list_artifacts(&artifacts, &id).await;
    assert_eq!(stored.len(), IN_FLIGHT);
    let digest = sha256_hex(&content);
    assert!(stored.iter().all(|a| a.sha256 == digest));
}

/// 32 uploads outlast a grace period of 1 s: the process exits 0 shortly after it, and the
/// cut-off uploads keep nothing.
async fn sigterm_cuts_off_calls_that_outlast_the_grace_period(backend: Backend) {
    let deployment = Deployment::new(&backend).await;
    let metrics = free_address();
    let grace = Duration::from_secs(1);
    let mut server = deployment
        .serve()
        .args(["--shutdown-grace", "1s"])
        .args(["--metrics-listen", &metrics.to_string()])
        .start()
        .await;
    let channel = connect(&server.url()).await;
    let registrations = ModelRegistrationServiceClient::new(channel.clone());
    let id = register(&registrations, model("cut-off", "1", 1))
        .await
        .model_registration_id;
    let content = random_bytes(PAUSED_UPLOAD_BYTES, 33);
    let uploads = pause_uploads(&channel, &id, &content).await;
    wait_until_in_flight(metrics, PAUSED_UPLOAD_BYTES / 2).await;

    let signalled = Instant::now();
    server.terminate();
    let exit = server
        .wait(grace + Duration::from_secs(10))
        .await
        .expect("modelreg exits after SIGTERM and the grace period");
    let exited_after = signalled.elapsed();
    let (senders, calls): (Vec<_>, Vec<_>) =
        uploads.into_iter().map(|u| (u.sender, u.call)).unzip();
    let answers = tokio::time::timeout(
        Duration::from_secs(10),
        futures::future::try_join_all(calls),
    )
    .await
    .expect("the cut-off calls end once the process is gone")
    .unwrap();
    drop(senders);
    let cut: Vec<&tonic::Status> = answers.iter().filter_map(|a| a.as_ref().err()).collect();

    let server = deployment.serve().start().await;
    let channel = connect(&server.url()).await;
    let artifacts = ModelArtifactServiceClient::new(channel.clone());
    let registrations = ModelRegistrationServiceClient::new(channel);
    let recorded = list_artifacts(&artifacts, &id).await.len();
    let model = get(&registrations, &id).await.unwrap();
    let published = deployment.published_files();
    let staged = deployment.staged_files();

    figures(
        &backend,
        "sigterm_cuts_off_calls_that_outlast_the_grace_period",
        format_args!(
            "in flight {IN_FLIGHT}, cut off {} ({}), exit {} after {} ms with --shutdown-grace \
             1s; artifacts recorded {recorded}, objects published {}, staged files left {}",
            cut.len(),
            code_counts(cut.iter().map(|s| s.code())),
            exit.code().map_or("none".into(), |c| c.to_string()),
            exited_after.as_millis(),
            published.len(),
            staged.len(),
        ),
    );
    assert!(
        exit.success(),
        "modelreg exits 0 at the end of the grace: {exit:?}"
    );
    assert!(
        exited_after >= grace,
        "calls in flight keep the process up for the grace period, not {exited_after:?}"
    );
    assert!(
        exited_after < grace + Duration::from_secs(3),
        "modelreg exits shortly after the grace period, not after {exited_after:?}"
    );
    assert_eq!(
        cut.len(),
        IN_FLIGHT,
        "every upload was cut off: {answers:?}"
    );
    for status in &cut {
        assert!(
            from_the_transport(status),
            "an answer of the server: {status:?}"
        );
    }
    assert_eq!(recorded, 0, "a cut-off upload is not recorded");
    assert_eq!(model.model_id.unwrap().artifact_version, "0.0.0");
    assert!(
        published.is_empty(),
        "no object was published: {published:?}"
    );
}

// 3. PostgreSQL stopped under load

/// A PostgreSQL cluster of one test's own, in a temporary folder (data, log and socket), on a
/// free port of 127.0.0.1 with trust authentication. The shared server of
/// MODELREG_TEST_POSTGRES_URL is never touched. Dropping it stops the cluster (`-m immediate`)
/// and removes the folder, also when the test panics.
struct PrivateCluster {
    bin: PathBuf,
    /// Whether the binaries run as `postgres` (through runuser): initdb refuses root.
    as_postgres: bool,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrivateCluster {
    fn create() -> Self {
        let bin = postgres_bin_dir();
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("modelreg-faults-pg-")
            .tempdir()
            .expect("a temporary folder");
        if as_postgres {
            let chown = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(chown.success(), "chown postgres {}", dir.path().display());
        }
        let cluster = Self {
            bin,
            as_postgres,
            port: free_address().port(),
            dir,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "--auth=trust".as_ref(),
                "--username=postgres".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        cluster.start();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(program);
            runuser
        } else {
            Command::new(program)
        };
        command.stdin(Stdio::null());
        command
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let output = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {program}: {err}"));
        assert!(
            output.status.success(),
            "{program} failed with {}:\n{}\n{}\nserver log:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// Starts the cluster and waits until it accepts connections.
    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let (data, log) = (self.data(), self.dir.path().join("log"));
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "start".as_ref(),
            ],
        );
    }

    /// `pg_ctl stop -m fast`: sessions are terminated, transactions rolled back, and the
    /// cluster shuts down cleanly.
    fn stop_fast(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        // Whatever state it is in; the folder goes with `dir` afterwards.
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The binaries of the newest PostgreSQL installed under /usr/lib/postgresql.
fn postgres_bin_dir() -> PathBuf {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file());
    installed
        .max_by_key(|bin| {
            let version = bin.parent().and_then(Path::file_name);
            version.and_then(|v| v.to_str()?.parse::<u32>().ok())
        })
        .expect(
            "this test starts a PostgreSQL cluster of its own: it needs initdb and pg_ctl in \
             /usr/lib/postgresql/VERSION/bin (Debian's postgresql package)",
        )
}

fn running_as_root() -> bool {
    let id = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&id.stdout).trim() == "0"
}

/// What the load saw, call by call.
#[derive(Default)]
struct Tally {
    calls: usize,
    ok: usize,
    unavailable: usize,
    /// Calls that took longer than `HANG` (and were abandoned).
    hung: usize,
    /// Failures other than UNAVAILABLE: INTERNAL, UNKNOWN or anything else.
    unexpected: Vec<tonic::Status>,
    /// Failures of calls started after health turned SERVING again.
    failed_after_recovery: usize,
    slowest: Duration,
}

impl Tally {
    fn count(&self, code: Code) -> usize {
        self.unexpected.iter().filter(|s| s.code() == code).count()
    }
}

/// A call that takes longer than this hangs.
const HANG: Duration = Duration::from_secs(10);

/// 16 clients (half registering, half reading) until `stop`.
fn steady_load(
    channel: &Channel,
    known: &str,
    tally: &Arc<Mutex<Tally>>,
    recovered: &Arc<AtomicBool>,
    stop: &Arc<AtomicBool>,
) -> Vec<JoinHandle<()>> {
    (0..16)
        .map(|client| {
            let mut registrations = ModelRegistrationServiceClient::new(channel.clone());
            let mut discovery = ModelDiscoveryServiceClient::new(channel.clone());
            let (known, tally) = (known.to_owned(), tally.clone());
            let (recovered, stop) = (recovered.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let after_recovery = recovered.load(Ordering::SeqCst);
                    let started = Instant::now();
                    let call = async {
                        match (client % 2, n % 2) {
                            (0, _) => registrations
                                .register_model(pb::RegisterModelRequest {
                                    model_related_information: Some(model(
                                        &format!("load-{client}-{n}"),
                                        "1",
                                        PLATFORMS.len(),
                                    )),
                                    request_id: String::new(),
                                })
                                .await
                                .map(drop),
                            (_, 0) => registrations
                                .get_model_registration(pb::GetModelRegistrationRequest {
                                    model_registration_id: known.clone(),
                                    model: None,
                                })
                                .await
                                .map(drop),
                            _ => discovery
                                .list_models(pb::ListModelsRequest {
                                    page_size: 10,
                                    ..Default::default()
                                })
                                .await
                                .map(drop),
                        }
                    };
                    let answer = tokio::time::timeout(HANG, call).await;
                    let took = started.elapsed();
                    let failed = !matches!(answer, Ok(Ok(())));
                    {
                        let mut tally = tally.lock().unwrap();
                        tally.calls += 1;
                        tally.slowest = tally.slowest.max(took);
                        match answer {
                            Ok(Ok(())) => tally.ok += 1,
                            Ok(Err(status)) if status.code() == Code::Unavailable => {
                                tally.unavailable += 1
                            }
                            Ok(Err(status)) => tally.unexpected.push(status),
                            Err(_) => tally.hung += 1,
                        }
                        if failed && after_recovery {
                            tally.failed_after_recovery += 1;
                        }
                    }
                    if failed {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            })
        })
        .collect()
}

/// Polls the health of the server as a whole until it is `wanted`; returns when it was first
/// seen so.
async fn wait_for_health(channel: &Channel, wanted: ServingStatus, within: Duration) -> Instant {
    let deadline = Instant::now() + within;
    let mut health = HealthClient::new(channel.clone());
    loop {
        let status = tokio::time::timeout(
            Duration::from_secs(2),
            health.check(HealthCheckRequest::default()),
        )
        .await
        .expect("the health service answers at once")
        .expect("the health service answers")
        .into_inner()
        .status;
        if status == wanted as i32 {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "health did not turn {wanted:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A cluster of the test's own stops under load (`pg_ctl stop -m fast`) and starts again:
/// health turns NOT_SERVING, calls answer UNAVAILABLE and never hang, and the same process
/// serves again once the database is back.
async fn postgres_stopped_under_load_and_started_again(_shared: Backend) {
    let cluster = tokio::task::block_in_place(PrivateCluster::create);
    let folder = tempfile::tempdir().unwrap();
    let mut server = Serve::new()
        .args(["--database-url", &cluster.url()])
        .args([
            "--artifact-store",
            url::Url::from_directory_path(folder.path())
                .unwrap()
                .as_str(),
        ])
        .args(["--health-check-interval", "500ms", "--gc-interval", "0s"])
        .start()
        .await;
    let channel = connect(&server.url()).await;
    let registrations = ModelRegistrationServiceClient::new(channel.clone());
    let known = register(&registrations, model("known", "1", PLATFORMS.len()))
        .await
        .model_registration_id;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let (recovered, stop) = (Arc::default(), Arc::<AtomicBool>::default());
    let load = steady_load(&channel, &known, &tally, &recovered, &stop);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let served_before = tally.lock().unwrap().ok;

    let stopped = Instant::now();
    tokio::task::block_in_place(|| cluster.stop_fast());
    let not_serving = wait_for_health(&channel, ServingStatus::NotServing, HANG).await;
    // Calls that wait for a connection give up after 5 s: the outage lasts longer, so that
    // they are answered during it.
    tokio::time::sleep_until((stopped + Duration::from_millis(6500)).into()).await;
    let unavailable_during_outage = tally.lock().unwrap().unavailable;

    tokio::task::block_in_place(|| cluster.start());
    let restarted = Instant::now();
    let serving = wait_for_health(&channel, ServingStatus::Serving, Duration::from_secs(20)).await;
    recovered.store(true, Ordering::SeqCst);
    let ok_at_recovery = tally.lock().unwrap().ok;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.expect("a load client");
    }
    // The same process, without a restart.
    assert!(
        server.wait(Duration::ZERO).await.is_none(),
        "modelreg exited"
    );
    let again = register(&registrations, model("after", "1", PLATFORMS.len())).await;
    let read = get(&registrations, &again.model_registration_id)
        .await
        .unwrap();
    assert_eq!(read, again);

    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    figures(
        &Backend::postgres(),
        "postgres_stopped_under_load_and_started_again",
        format_args!(
            "calls {}, unavailable {}, internal {}, unknown {}, other {}, hung {}, slowest {} ms; \
             NOT_SERVING after {} ms, serving again after {} ms (ok after recovery {})",
            tally.calls,
            tally.unavailable,
            tally.count(Code::Internal),
            tally.count(Code::Unknown),
            tally.unexpected.len() - tally.count(Code::Internal) - tally.count(Code::Unknown),
            tally.hung,
            tally.slowest.as_millis(),
            not_serving.duration_since(stopped).as_millis(),
            serving.duration_since(restarted).as_millis(),
            tally.ok - ok_at_recovery,
        ),
    );
    assert!(served_before > 0, "the load ran before the stop");
    assert!(
        tally.unexpected.is_empty(),
        "failures other than UNAVAILABLE: {:?}",
        tally.unexpected
    );
    assert_eq!(tally.hung, 0, "calls hung past {HANG:?}");
    assert!(
        unavailable_during_outage > 0,
        "calls during the outage answered UNAVAILABLE"
    );
    assert!(
        not_serving.duration_since(stopped) < Duration::from_secs(5),
        "NOT_SERVING within a few seconds"
    );
    assert_eq!(
        tally.failed_after_recovery, 0,
        "calls fail after health turned SERVING again"
    );
    assert!(
        tally.ok > ok_at_recovery,
        "calls succeed after the recovery"
    );
    drop(server);
    drop(cluster);
}

// 4. 32 concurrent registrations of one name and version

const RACERS: usize = 32;

/// Four connections to a test server, so that the racing calls arrive on several.
async fn connections(server: &TestServer) -> Vec<ModelRegistrationServiceClient<Channel>> {
    let mut clients = Vec::new();
    for _ in 0..4 {
        let channel = connect(&format!("http://{}", server.addr)).await;
        clients.push(ModelRegistrationServiceClient::new(channel));
    }
    clients
}

async fn racing_32_registrations_of_one_name_and_version(backend: Backend) {
    let server = TestServer::start(backend.clone()).await;
    let clients = connections(&server).await;
    let attempts = (0..RACERS).map(|i| {
        let mut client = clients[i % clients.len()].clone();
        let mut info = model("contended", "1", PLATFORMS.len());
        info.description = format!("racer {i}");
        async move {
            client
                .register_model(pb::RegisterModelRequest {
                    model_related_information: Some(info),
                    request_id: String::new(),
                })
                .await
                .map(tonic::Response::into_inner)
        }
    });

    let results = futures::future::join_all(attempts).await;

    let ok = results.iter().filter(|r| r.is_ok()).count();
    let codes: Vec<Code> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(tonic::Status::code))
        .collect();
    figures(
        &backend,
        "racing_32_registrations_of_one_name_and_version",
        format_args!("{RACERS} racing: ok {ok}, {}", code_counts(codes)),
    );
    assert_eq!(ok, 1, "exactly one registration wins: {results:?}");
    for status in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_error(status, Code::AlreadyExists, "MODEL_ALREADY_REGISTERED");
    }
    let winner = results.into_iter().find_map(Result::ok).unwrap();
    assert_eq!(
        server.get(&winner.model_registration_id).await.unwrap(),
        winner
    );
    let listed = server.list(pb::ListModelsRequest::default()).await.unwrap();
    assert_eq!(listed.models, std::slice::from_ref(&winner));
    assert_eq!(
        server
            .database
            .count("SELECT COUNT(*) FROM target_environments")
            .await,
        PLATFORMS.len() as i64,
        "the losers left no environment rows behind"
    );
    server.stop().await;
}

async fn racing_32_retries_of_one_request_id(backend: Backend) {
    let server = TestServer::start(backend.clone()).await;
    let clients = connections(&server).await;
    let request = pb::RegisterModelRequest {
        model_related_information: Some(model("retried", "1", PLATFORMS.len())),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let retries = (0..RACERS).map(|i| {
        let mut client = clients[i % clients.len()].clone();
        let request = request.clone();
        async move {
            client
                .register_model(request)
                .await
                .map(tonic::Response::into_inner)
        }
    });

    let results = futures::future::join_all(retries).await;

    let ok = results.iter().filter(|r| r.is_ok()).count();
    let ids: std::collections::BTreeSet<&str> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|a| a.model_registration_id.as_str())
        .collect();
    figures(
        &backend,
        "racing_32_retries_of_one_request_id",
        format_args!(
            "{RACERS} racing with one request_id: ok {ok}, distinct modelRegistrationId {}",
            ids.len()
        ),
    );
    assert_eq!(ok, RACERS, "every retry succeeds: {results:?}");
    assert_eq!(ids.len(), 1, "one registration for all: {ids:?}");
    let first = results[0].as_ref().unwrap();
    assert!(results.iter().all(|r| r.as_ref().unwrap() == first));
    assert_eq!(environments_of(first), PLATFORMS);
    assert_eq!(
        server
            .database
            .count("SELECT COUNT(*) FROM model_related_information")
            .await,
        1
    );
    assert_eq!(
        server
            .database
            .count("SELECT COUNT(*) FROM target_environments")
            .await,
        PLATFORMS.len() as i64
    );
    server.stop().await;
}

// 5. Crashes in the artifact path, and the sweeper

const LARGE_UPLOAD: usize = 50 * MIB;
const COMMITTED_BYTES: usize = 3 * MIB;

/// kill -9 in the middle of a 50 MiB upload: after a restart nothing is recorded for it, and
/// `modelreg gc --gc-grace 0s` removes its staged file while the committed artifact stays.
async fn kill_9_during_a_large_upload_leaves_what_gc_removes(backend: Backend) {
    let deployment = Deployment::new(&backend).await;
    let mut server = deployment.serve().start().await;
    let channel = connect(&server.url()).await;
    let registrations = ModelRegistrationServiceClient::new(channel.clone());
    let artifacts = ModelArtifactServiceClient::new(channel);
    let kept = register(&registrations, model("kept", "1", 1))
        .await
        .model_registration_id;
    let committed_content = random_bytes(COMMITTED_BYTES, 5);
    let committed = upload(&artifacts, &kept, &committed_content).await;
    let interrupted = register(&registrations, model("interrupted", "1", 1))
        .await
        .model_registration_id;

    // 50 MiB, declared, sent 1 MiB every 40 ms.
    let piece = random_bytes(MIB, 6);
    let (sender, receiver) = mpsc::channel(4);
    sender
        .send(pb::UploadArtifactRequest {
            payload: Some(Upload::Header(pb::ArtifactHeader {
                model_registration_id: interrupted.clone(),
                size_bytes: LARGE_UPLOAD as u64,
                ..Default::default()
            })),
        })
        .await
        .unwrap();
    let mut client = artifacts.clone();
    let call = tokio::spawn(async move {
        client
            .upload_artifact(ReceiverStream::new(receiver))
            .await
            .map(tonic::Response::into_inner)
    });
    let feeder = tokio::spawn(async move {
        for _ in 0..LARGE_UPLOAD / MIB {
            if sender.send(chunk(&piece)).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    });
    // Killed once at least two 5 MiB parts are on disk in the staging file.
    let deadline = Instant::now() + Duration::from_secs(30);
    let staged_bytes = loop {
        let staged: u64 = deployment
            .staged_files()
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        if staged >= 10 * MIB as u64 {
            break staged;
        }
        assert!(Instant::now() < deadline, "the upload never reached 10 MiB");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    server.kill();
    let cut = call
        .await
        .unwrap()
        .expect_err("the upload cannot succeed")
        .code();
    feeder.await.unwrap();

    let server = deployment.serve().start().await;
    let channel = connect(&server.url()).await;
    let registrations = ModelRegistrationServiceClient::new(channel.clone());
    let artifacts = ModelArtifactServiceClient::new(channel);
    let recorded = list_artifacts(&artifacts, &interrupted).await.len();
    let version = get(&registrations, &interrupted)
        .await
        .unwrap()
        .model_id
        .unwrap()
        .artifact_version;
    let rows = deployment
        .database
        .count("SELECT COUNT(*) FROM model_artifacts")
        .await;
    let staged_before = deployment.staged_files();
    let published_before = deployment.published_files();

    let report = deployment.gc(&["--gc-grace", "0s"]);

    let staged_after = deployment.staged_files();
    let published_after = deployment.published_files();
    let (info, bytes) = download(&artifacts, &kept).await;
    let intact = info.sha256 == committed.sha256
        && sha256_hex(&bytes) == committed.sha256
        && bytes == committed_content;
    figures(
        &backend,
        "kill_9_during_a_large_upload_leaves_what_gc_removes",
        format_args!(
            "killed with {} MiB of {} MiB staged (client saw {cut:?}); recorded {recorded}; \
             gc --gc-grace 0s removed {} staged file(s), kept {} of {} committed artifact(s), \
             sha256 {}",
            staged_bytes / MIB as u64,
            LARGE_UPLOAD / MIB,
            staged_before.len() - staged_after.len(),
            published_after.len(),
            published_before.len(),
            if intact { "ok" } else { "WRONG" },
        ),
    );
    assert_eq!(
        recorded, 0,
        "nothing is recorded for the interrupted upload"
    );
    assert_eq!(version, "0.0.0");
    assert_eq!(rows, 1, "only the committed artifact has a record");
    assert!(!staged_before.is_empty(), "the kill left a staged file");
    for path in &staged_before {
        assert!(
            report.contains(&path.display().to_string()),
            "gc names {}:\n{report}",
            path.display()
        );
    }
    assert!(staged_after.is_empty(), "left: {staged_after:?}");
    assert_eq!(published_before.len(), 1);
    assert_eq!(published_after, published_before, "committed bytes stay");
    assert!(intact, "the committed artifact downloads with its SHA-256");
}

/// An object with no record, as a crash between its write and its commit leaves it: a dry run
/// lists it and removes nothing; within `--gc-grace` it stays; past it, it alone is removed.
async fn gc_removes_a_planted_orphan_only_past_the_grace_period(backend: Backend) {
    let deployment = Deployment::new(&backend).await;
    let server = deployment.serve().start().await;
    let channel = connect(&server.url()).await;
    let registrations = ModelRegistrationServiceClient::new(channel.clone());
    let artifacts = ModelArtifactServiceClient::new(channel);
    let id = register(&registrations, model("swept", "1", 1))
        .await
        .model_registration_id;
    let content = random_bytes(MIB, 7);
    let committed = upload(&artifacts, &id, &content).await;
    let committed_files = deployment.published_files();
    assert_eq!(committed_files.len(), 1);

    let orphan_key = format!("models/{id}/artifacts/{}", uuid::Uuid::now_v7());
    let orphan = deployment.folder.path().join(&orphan_key);
    std::fs::write(&orphan, random_bytes(MIB, 8)).expect("plant an orphan");

    let within_grace = deployment.gc(&["--gc-grace", "1h"]);
    let kept_within_grace = orphan.exists();
    let dry_run = deployment.gc(&["--gc-grace", "0s", "--dry-run"]);
    let kept_by_dry_run = orphan.exists();
    let removal = deployment.gc(&["--gc-grace", "0s"]);
    let removed = !orphan.exists();
    let (info, bytes) = download(&artifacts, &id).await;
    let intact = info.sha256 == committed.sha256 && bytes == content;

    figures(
        &backend,
        "gc_removes_a_planted_orphan_only_past_the_grace_period",
        format_args!(
            "1 orphan beside 1 committed artifact: --gc-grace 1h removed {}, --dry-run listed {} \
             and removed {}, --gc-grace 0s removed {}; committed sha256 {}",
            u8::from(!kept_within_grace),
            u8::from(dry_run.contains(&orphan_key)),
            u8::from(!kept_by_dry_run),
            u8::from(removed),
            if intact { "ok" } else { "WRONG" },
        ),
    );
    assert!(kept_within_grace, "a fresh orphan stays within --gc-grace");
    assert!(!within_grace.contains(&orphan_key), "{within_grace}");
    assert!(
        within_grace.contains("removed 0 without a record"),
        "{within_grace}"
    );
    assert!(kept_by_dry_run, "a dry run removes nothing");
    assert!(
        dry_run.contains(&orphan_key),
        "a dry run lists the orphan:\n{dry_run}"
    );
    assert!(
        dry_run.contains("would remove (dry run) 1 without a record (1048576 bytes)"),
        "{dry_run}"
    );
    assert!(removed, "past the grace period the orphan is removed");
    assert!(removal.contains(&orphan_key), "{removal}");
    assert!(removal.contains("removed 1 without a record"), "{removal}");
    assert_eq!(
        deployment.published_files(),
        committed_files,
        "nothing else"
    );
    assert!(intact, "the committed artifact downloads with its SHA-256");
}

// An object store that goes away and comes back

/// A TCP forwarder to the S3 server of AWS_ENDPOINT that the test cuts and restores: the
/// registry's object store goes away and comes back on the same address.
struct StoreSwitch {
    port: u16,
    target: String,
    /// The accept loop; aborting it drops every forwarded connection with it.
    forwarding: Option<JoinHandle<()>>,
}

impl StoreSwitch {
    async fn on(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let forwarding = Some(tokio::spawn(forward(listener, target.clone())));
        Self {
            port,
            target,
            forwarding,
        }
    }

    /// Closes the listener and every connection: the store is unreachable (refused).
    async fn cut(&mut self) {
        if let Some(forwarding) = self.forwarding.take() {
            forwarding.abort();
            let _ = forwarding.await;
        }
    }

    /// Listens on the same port again.
    async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("listen on the store's port again");
        self.forwarding = Some(tokio::spawn(forward(listener, self.target.clone())));
    }
}

impl Drop for StoreSwitch {
    fn drop(&mut self) {
        if let Some(forwarding) = self.forwarding.take() {
            forwarding.abort();
        }
    }
}

async fn forward(listener: tokio::net::TcpListener, target: String) {
    // Dropped with this task, which aborts every connection.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        let target = target.clone();
        connections.spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

/// Awaits `call`; returns its answer and how long it took.
async fn timed<T>(call: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let answer = call.await;
    (answer, started.elapsed())
}

/// The S3 store becomes unreachable under a running server and comes back: uploads and
/// downloads answer UNAVAILABLE (ARTIFACT_STORE_UNAVAILABLE) within seconds and record
/// nothing, everything else goes on, and the same process stores and serves bytes again.
async fn an_object_store_outage_fails_only_artifact_calls(backend: Backend) {
    let Objects::S3(bucket) = Objects::s3().await else {
        unreachable!("an S3 store")
    };
    let endpoint = url::Url::parse(&std::env::var("AWS_ENDPOINT").expect("AWS_ENDPOINT"))
        .expect("AWS_ENDPOINT is a URL");
    let target = format!(
        "{}:{}",
        endpoint.host_str().expect("a host"),
        endpoint.port_or_known_default().expect("a port")
    );
    let mut switch = StoreSwitch::on(target).await;
    let database = TestDatabase::create(&backend).await;
    let store = format!(
        "{}/{}",
        bucket.trim_end_matches('/'),
        uuid::Uuid::new_v4().simple()
    );
    let server = Serve::new()
        .args(["--database-url", &database.url])
        .args(["--artifact-store", &store])
        .args(["--gc-interval", "0s"])
        .env("AWS_ENDPOINT", format!("http://127.0.0.1:{}", switch.port))
        .env("AWS_ALLOW_HTTP", "true")
        .start()
        .await;
    let channel = connect(&server.url()).await;
    let registrations = ModelRegistrationServiceClient::new(channel.clone());
    let artifacts = ModelArtifactServiceClient::new(channel.clone());
    let mut discovery = ModelDiscoveryServiceClient::new(channel.clone());
    let id = register(&registrations, model("stored", "1", 1))
        .await
        .model_registration_id;
    let first = random_bytes(MIB, 9);
    let committed = upload(&artifacts, &id, &first).await;
    let doomed = register(&registrations, model("doomed", "1", 1)).await;
    upload(&artifacts, &doomed.model_registration_id, &first).await;

    switch.cut().await;
    let second = random_bytes(MIB, 10);
    let mut messages = vec![header(&id, &second)];
    messages.extend(second.chunks(CHUNK).map(chunk));
    // Each call that needs the store retries (object_store: 10 retries, jittered backoff of
    // at most 15 s) before it answers: a few seconds, under a minute at worst.
    let (mut uploader, mut downloader) = (artifacts.clone(), artifacts.clone());
    let mut deleter = registrations.clone();
    let refused_upload = timed(uploader.upload_artifact(futures::stream::iter(messages)));
    let refused_download = timed(downloader.download_artifact(pb::DownloadArtifactRequest {
        model_registration_id: id.clone(),
        ..Default::default()
    }));
    // A deletion commits without the store; the bytes it could not remove stay for the sweeper.
    let deletion = timed(
        deleter.delete_model_registration(pb::DeleteModelRegistrationRequest {
            model_registration_id: doomed.model_registration_id.clone(),
            etag: String::new(),
        }),
    );
    let ((uploaded, upload_took), (downloaded, download_took), (deleted, delete_took)) =
        futures::future::join3(refused_upload, refused_download, deletion).await;
    let upload_status = uploaded.expect_err("no upload while the store is away");
    let download_status = downloaded.expect_err("no download while the store is away");
    // The rest of the registry does not need the store.
    let other = register(&registrations, model("meanwhile", "1", PLATFORMS.len())).await;
    get(&registrations, &other.model_registration_id)
        .await
        .unwrap();
    discovery
        .list_models(pb::ListModelsRequest::default())
        .await
        .unwrap();
    let listed_during = list_artifacts(&artifacts, &id).await.len();
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner()
        .status;

    switch.restore().await;
    let restored = Instant::now();
    let again = upload(&artifacts, &id, &second).await;
    let back_after = restored.elapsed();
    let (info, bytes) = download(&artifacts, &id).await;
    let versions: Vec<String> = list_artifacts(&artifacts, &id)
        .await
        .into_iter()
        .map(|a| a.artifact_version)
        .collect();
    // What the deletion left, and the sweeper on the store.
    let objects = StoredObjects::open(&store);
    let doomed_prefix = format!("models/{}/", doomed.model_registration_id);
    let left_by_delete = objects
        .keys()
        .await
        .into_iter()
        .filter(|key| key.starts_with(&doomed_prefix))
        .count();
    let gc = Command::new(env!("CARGO_BIN_EXE_modelreg"))
        .args(["gc", "--gc-grace", "0s"])
        .args(["--database-url", &database.url])
        .args(["--artifact-store", &store])
        .env_remove("RUST_LOG")
        .output()
        .expect("run modelreg gc");
    let gc_report = String::from_utf8_lossy(&gc.stdout).into_owned();
    let keys_after_gc = objects.keys().await;

    figures_of(
        variant(&backend, "_s3"),
        "an_object_store_outage_fails_only_artifact_calls",
        format_args!(
            "store cut: upload {} after {} ms, download {} after {} ms, delete {} after {} ms \
             ({left_by_delete} object left), registrations and listings ok, health {}; store \
             back: upload ok after {} ms, artifacts recorded {} (none for the refused upload), \
             gc removed {} object(s)",
            code_name(upload_status.code()),
            upload_took.as_millis(),
            code_name(download_status.code()),
            download_took.as_millis(),
            deleted
                .as_ref()
                .map_or_else(|s| code_name(s.code()), |_| "OK".into()),
            delete_took.as_millis(),
            ServingStatus::try_from(health).map_or("?", |s| s.as_str_name()),
            back_after.as_millis(),
            versions.len(),
            gc_report
                .lines()
                .filter(|l| l.starts_with(&doomed_prefix))
                .count(),
        ),
    );
    assert_error(
        &upload_status,
        Code::Unavailable,
        "ARTIFACT_STORE_UNAVAILABLE",
    );
    assert_error(
        &download_status,
        Code::Unavailable,
        "ARTIFACT_STORE_UNAVAILABLE",
    );
    assert_eq!(listed_during, 1, "records are listed from the database");
    assert_eq!(health, ServingStatus::Serving as i32);
    assert_eq!(versions.len(), 2, "the refused upload left no record");
    assert_eq!(info.artifact_version, again.artifact_version);
    assert_ne!(again.artifact_version, committed.artifact_version);
    assert!(sha256_hex(&bytes) == again.sha256 && bytes == second);
    deleted.expect("a deletion needs only the database");
    assert_eq!(
        left_by_delete, 1,
        "the bytes of the deleted artifact were left"
    );
    assert!(gc.status.success(), "modelreg gc: {gc:?}");
    assert!(
        !keys_after_gc
            .iter()
            .any(|key| key.starts_with(&doomed_prefix)),
        "gc removed what the deletion left: {gc_report}"
    );
    assert_eq!(
        keys_after_gc.len(),
        2,
        "gc removed nothing else: {keys_after_gc:?}"
    );
    drop(server);
    drop(switch);
}
