//! Artifact throughput: starts the release `modelreg` binary on a fresh SQLite database, uploads
//! one large artifact (1 GiB by default) over real gRPC, downloads it again, and prints the
//! throughput of each direction and the server's peak resident memory.
//!
//! `cargo bench --bench artifacts`. Settings, all optional:
//! - `MODELREG_BENCH_BYTES`: artifact size, e.g. "256MiB" (default "1GiB");
//! - `MODELREG_BENCH_CHUNK`: gRPC message size, e.g. "256KiB" (default "1MiB");
//! - `MODELREG_BENCH_ARTIFACT_STORE`: the server's `--artifact-store` (default: a temporary
//!   folder), e.g. `s3://bucket/prefix` with the AWS_* variables set.

use std::time::Instant;

use bytes::Bytes;
use bytesize::ByteSize;
use modelreg::pb::{
    self, download_artifact_response::Payload as Download,
    model_artifact_service_client::ModelArtifactServiceClient,
    model_registration_service_client::ModelRegistrationServiceClient,
    upload_artifact_request::Payload as Upload,
};
use sha2::{Digest, Sha256};
use tonic::transport::Channel;

#[path = "../tests/api/common/process.rs"]
mod process;

use process::{Serve, ServeProcess};

/// Deterministic, incompressible bytes, made as fast as the client can send them
/// (xorshift64*), so that the client measures the server and not itself.
struct Generator {
    state: u64,
    remaining: u64,
    chunk: usize,
}

impl Generator {
    fn new(size: u64, chunk: usize) -> Self {
        Self {
            state: 0x9E37_79B9_7F4A_7C15,
            remaining: size,
            chunk,
        }
    }
}

impl Iterator for Generator {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.remaining == 0 {
            return None;
        }
        let len = self.remaining.min(self.chunk as u64) as usize;
        self.remaining -= len as u64;
        let mut chunk = Vec::with_capacity(len + 8);
        while chunk.len() < len {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            chunk.extend_from_slice(&self.state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        chunk.truncate(len);
        Some(Bytes::from(chunk))
    }
}

fn setting(name: &str, default: &str) -> ByteSize {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_owned());
    text.parse()
        .unwrap_or_else(|err| panic!("{name}={text:?} is not a size: {err}"))
}

/// The server process.
struct Server(ServeProcess);

impl Server {
    async fn start(folder: &std::path::Path) -> Self {
        let database = format!("sqlite://{}?mode=rwc", folder.join("modelreg.db").display());
        let artifact_store = std::env::var("MODELREG_BENCH_ARTIFACT_STORE").unwrap_or_else(|_| {
            url::Url::from_directory_path(folder.join("artifacts"))
                .unwrap()
                .to_string()
        });
        let process = Serve::new()
            .args(["--database-url", &database])
            .args(["--artifact-store", &artifact_store])
            .args(["--max-artifact-bytes", "100GiB"])
            .env("RUST_LOG", "warn,modelreg=info")
            .start()
            .await;
        Self(process)
    }

    /// A field of /proc/PID/status, in bytes.
    fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.pid()))
            .expect("read /proc/PID/status (Linux only)");
        let line = status
            .lines()
            .find(|line| line.starts_with(field))
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status"));
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("a number of kB");
        kib * 1024
    }

    /// Resets the peak resident size (VmHWM), so that each phase reports its own peak.
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.0.pid()), "5");
    }
}

fn mib_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / seconds
}

#[tokio::main]
async fn main() {
    let size = setting("MODELREG_BENCH_BYTES", "1GiB");
    let chunk = setting("MODELREG_BENCH_CHUNK", "1MiB").as_u64() as usize;
    let folder = tempfile::tempdir().expect("temporary folder");
    let server = Server::start(folder.path()).await;
    let channel = Channel::from_shared(server.0.url())
        .unwrap()
        .connect()
        .await
        .expect("connect");
    let max = 8 * 1024 * 1024;
    let mut registration = ModelRegistrationServiceClient::new(channel.clone());
    let mut artifacts = ModelArtifactServiceClient::new(channel)
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);

    let id = registration
        .register_model(pb::RegisterModelRequest {
            model_related_information: Some(pb::ModelRelatedInformation {
                model_id: Some(pb::ModelId {
                    model_name: "bench".into(),
                    model_version: "1".into(),
                    artifact_version: String::new(),
                }),
                description: "artifact benchmark".into(),
                model_information: Some(pb::ModelInformation {
                    metadata: Some(pb::Metadata {
                        author: "bench".into(),
                        owner: String::new(),
                    }),
                    input_data_type: vec!["x".into()],
                    output_data_type: vec!["y".into()],
                    target_environment: vec![],
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("register")
        .into_inner()
        .model_registration_id;

    // The digest is computed before the clock starts: the header carries it.
    let mut hasher = Sha256::new();
    Generator::new(size.as_u64(), chunk).for_each(|c| hasher.update(&c));
    let sha256 = hex::encode(hasher.finalize());
    let idle_rss = server.memory("VmRSS:");

    server.reset_peak();
    let header = pb::UploadArtifactRequest {
        payload: Some(Upload::Header(pb::ArtifactHeader {
            model_registration_id: id.clone(),
            sha256: sha256.clone(),
            size_bytes: size.as_u64(),
            ..Default::default()
        })),
    };
    let messages = std::iter::once(header).chain(Generator::new(size.as_u64(), chunk).map(|c| {
        pb::UploadArtifactRequest {
            payload: Some(Upload::Chunk(c)),
        }
    }));
    let started = Instant::now();
    let info = artifacts
        .upload_artifact(futures::stream::iter(messages))
        .await
        .expect("upload")
        .into_inner();
    let upload_seconds = started.elapsed().as_secs_f64();
    let upload_peak = server.memory("VmHWM:");
    assert_eq!(info.sha256, sha256);

    server.reset_peak();
    let started = Instant::now();
    let mut stream = artifacts
        .download_artifact(pb::DownloadArtifactRequest {
            model_registration_id: id,
            ..Default::default()
        })
        .await
        .expect("download")
        .into_inner();
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    while let Some(response) = stream.message().await.expect("download stream") {
        if let Some(Download::Chunk(chunk)) = response.payload {
            received += chunk.len() as u64;
            hasher.update(&chunk);
        }
    }
    let download_seconds = started.elapsed().as_secs_f64();
    let download_peak = server.memory("VmHWM:");
    assert_eq!(received, size.as_u64());
    assert_eq!(
        hex::encode(hasher.finalize()),
        sha256,
        "downloaded bytes differ"
    );

    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "artifact benchmark: {} in {} messages",
        size.display().iec(),
        ByteSize(chunk as u64).display().iec()
    );
    println!(
        "  upload    {upload_seconds:7.2} s  {:8.1} MiB/s  server peak RSS {:7.1} MiB",
        mib_per_s(size.as_u64(), upload_seconds),
        mib(upload_peak)
    );
    println!(
        "  download  {download_seconds:7.2} s  {:8.1} MiB/s  server peak RSS {:7.1} MiB",
        mib_per_s(size.as_u64(), download_seconds),
        mib(download_peak)
    );
    println!(
        "  server RSS when idle, before the upload: {:.1} MiB",
        mib(idle_rss)
    );
    println!("  (sha256 verified by the server on upload and by this client on download)");
}
