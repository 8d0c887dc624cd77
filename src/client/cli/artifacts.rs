//! `modelreg artifacts …`: upload a file with its SHA-256 computed locally, download with
//! resume and verification, list a model's artifacts. Progress bars go to stderr.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::client::Connection;
use bytes::Bytes;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::{CliError, ClientArgs, ModelArgs, Output, json, table};
use crate::pb::{
    self, download_artifact_response::Payload as Download,
    model_artifact_service_client::ModelArtifactServiceClient,
    upload_artifact_request::Payload as Upload,
};

/// Bytes per read of a local file, and per message (gRPC's limit is 4 MiB).
const CHUNK: usize = 1024 * 1024;

#[derive(Debug, Subcommand)]
pub enum ArtifactsCommand {
    /// Upload FILE as the model's next artifact version.
    #[command(override_usage = "modelreg artifacts upload <ID | --name N --version V> <FILE>")]
    Upload {
        /// The registration id, then the file; or only the file, with --name and --version.
        #[arg(value_name = "ID FILE", num_args = 1..=2, required = true)]
        targets: Vec<String>,
        /// The model's name (with --version), instead of its id.
        #[arg(long, requires = "version")]
        name: Option<String>,
        /// The model's version (with --name).
        #[arg(long, requires = "name")]
        version: Option<String>,
        /// The content type recorded with the artifact.
        #[arg(long)]
        content_type: Option<String>,
    },
    /// Download an artifact (the latest unless --artifact-version) into --dest, verified.
    Download {
        #[command(flatten)]
        model: ModelArgs,
        /// Which artifact version, e.g. 1.2.0; the latest by default.
        #[arg(long)]
        artifact_version: Option<String>,
        /// Where to write it. Bytes arrive in DEST.partial, renamed to DEST once verified.
        #[arg(long)]
        dest: PathBuf,
        /// Continue DEST.partial from its length instead of starting over.
        #[arg(long)]
        resume: bool,
    },
    /// List a model's artifacts, newest first.
    List {
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Record an artifact version whose bytes you stored elsewhere (as a training pipeline
    /// that writes to its own object store does): it becomes the model's artifact version.
    Declare {
        #[command(flatten)]
        model: ModelArgs,
        /// The version, MAJOR.MINOR.PATCH; never lower than the current one.
        #[arg(long)]
        artifact_version: String,
    },
}

pub(super) async fn run(
    command: ArtifactsCommand,
    channel: Connection,
    client: &ClientArgs,
) -> Result<(), CliError> {
    let mut artifacts = ModelArtifactServiceClient::new(channel);
    let print = |info: &pb::ArtifactInfo| match client.output {
        Output::Json => println!("{}", json::to_json(info, json::ARTIFACT)),
        Output::Table => print!("{}", table::artifacts(std::slice::from_ref(info))),
    };
    match command {
        ArtifactsCommand::Upload {
            targets,
            name,
            version,
            content_type,
        } => {
            let (id, file) = match (name.is_some(), targets.as_slice()) {
                (false, [id, file]) => (Some(id.clone()), PathBuf::from(file)),
                (true, [file]) => (None, PathBuf::from(file)),
                (false, _) => {
                    return Err(CliError::Input(
                        "give the registration id and the file, or --name N --version V and \
                         the file"
                            .into(),
                    ));
                }
                (true, _) => {
                    return Err(CliError::Input(
                        "with --name and --version, give only the file".into(),
                    ));
                }
            };
            let model = ModelArgs { id, name, version };
            let info = upload(&mut artifacts, &model, &file, content_type, client.quiet).await?;
            print(&info);
        }
        ArtifactsCommand::Download {
            model,
            artifact_version,
            dest,
            resume,
        } => {
            let info = download(
                &mut artifacts,
                &model,
                artifact_version,
                &dest,
                resume,
                client.quiet,
            )
            .await?;
            print(&info);
        }
        ArtifactsCommand::List { model } => {
            let (model_registration_id, model_id) = model.request_fields();
            let mut request = pb::ListArtifactsRequest {
                model_registration_id,
                model_id,
                page_size: 1000,
                page_token: String::new(),
            };
            let mut listed = pb::ListArtifactsResponse::default();
            loop {
                let page = artifacts
                    .list_artifacts(request.clone())
                    .await?
                    .into_inner();
                listed.artifacts.extend(page.artifacts);
                if page.next_page_token.is_empty() {
                    break;
                }
                request.page_token = page.next_page_token;
            }
            match client.output {
                Output::Json => println!("{}", json::to_json(&listed, json::LIST_ARTIFACTS)),
                Output::Table => print!("{}", table::artifacts(&listed.artifacts)),
            }
        }
        ArtifactsCommand::Declare {
            model,
            artifact_version,
        } => {
            let (model_registration_id, model_id) = model.request_fields();
            let declared = artifacts
                .declare_artifact(pb::DeclareArtifactRequest {
                    model_registration_id,
                    model_id,
                    model: None,
                    artifact_version,
                })
                .await?
                .into_inner();
            let registered = declared.model.unwrap_or_default();
            match client.output {
                Output::Json => println!("{}", json::to_json(&registered, json::MODEL)),
                Output::Table => {
                    let id = registered.model_id.unwrap_or_default();
                    let what = if declared.recorded {
                        "recorded"
                    } else {
                        "already the current version; nothing changed"
                    };
                    println!(
                        "{} {}: artifact version {} ({what})",
                        id.model_name, id.model_version, id.artifact_version
                    );
                }
            }
        }
    }
    Ok(())
}

async fn upload(
    artifacts: &mut ModelArtifactServiceClient<Connection>,
    model: &ModelArgs,
    file: &Path,
    content_type: Option<String>,
    quiet: bool,
) -> Result<pb::ArtifactInfo, CliError> {
    let io_error = |source| CliError::Io {
        path: file.display().to_string(),
        source,
    };
    let size = std::fs::metadata(file).map_err(io_error)?.len();
    let sha256 = {
        let bar = progress(size, "hashing", quiet);
        let path = file.to_owned();
        let hashed = tokio::task::spawn_blocking(move || hash_file(&path, Sha256::new(), &bar));
        let hasher = hashed.await.expect("hashing panicked").map_err(io_error)?;
        hex::encode(hasher.finalize())
    };
    let (model_registration_id, model_id) = model.request_fields();
    let header = pb::ArtifactHeader {
        model_registration_id,
        model_id,
        sha256,
        size_bytes: size,
        filename: file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        content_type: content_type.unwrap_or_default(),
    };
    let bar = progress(size, "uploading", quiet);
    let mut reader = std::fs::File::open(file).map_err(io_error)?;
    let sent = bar.clone();
    let read_failure = Arc::new(Mutex::new(None));
    let failed = Arc::clone(&read_failure);
    // The file is read as the transport asks for messages: one chunk in memory at a time.
    let messages = async_stream::stream! {
        yield pb::UploadArtifactRequest { payload: Some(Upload::Header(header)) };
        loop {
            let mut chunk = vec![0; CHUNK];
            let read = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(read) => read,
                Err(err) => {
                    *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(err);
                    break;
                }
            };
            chunk.truncate(read);
            sent.inc(read as u64);
            yield pb::UploadArtifactRequest { payload: Some(Upload::Chunk(Bytes::from(chunk))) };
        }
    };
    // A read error ends the stream early: the server then sees fewer bytes than declared and
    // refuses the upload, so nothing half-written is recorded. The local error is the news.
    let answer = artifacts.upload_artifact(messages).await;
    bar.finish_and_clear();
    if let Some(err) = read_failure
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        return Err(io_error(err));
    }
    Ok(answer?.into_inner())
}

async fn download(
    artifacts: &mut ModelArtifactServiceClient<Connection>,
    model: &ModelArgs,
    artifact_version: Option<String>,
    dest: &Path,
    resume: bool,
    quiet: bool,
) -> Result<pb::ArtifactInfo, CliError> {
    let partial = partial_path(dest);
    let io_error = |source| CliError::Io {
        path: partial.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .read(true)
        .truncate(!resume)
        .open(&partial)
        .map_err(io_error)?;
    let offset = file.seek(std::io::SeekFrom::End(0)).map_err(io_error)?;
    // The digest covers the whole file: a resumed prefix is hashed first, then each chunk as
    // it is written, so the file is never read a second time.
    let mut hasher = Sha256::new();
    if offset > 0 {
        let bar = progress(offset, "checking", quiet);
        let path = partial.clone();
        hasher = tokio::task::spawn_blocking(move || hash_file(&path, hasher, &bar))
            .await
            .expect("hashing panicked")
            .map_err(io_error)?;
    }

    let (model_registration_id, model_id) = model.request_fields();
    let mut stream = artifacts
        .download_artifact(pb::DownloadArtifactRequest {
            model_registration_id,
            model_id,
            model: None,
            artifact_version: artifact_version.unwrap_or_default(),
            offset,
        })
        .await?
        .into_inner();
    let info = match stream.message().await?.and_then(|m| m.payload) {
        Some(Download::Info(info)) => info,
        _ => {
            return Err(CliError::Input(
                "the server sent no artifact info first".into(),
            ));
        }
    };
    let bar = progress(info.size_bytes, "downloading", quiet);
    bar.set_position(offset);
    let interrupted = |status| CliError::Interrupted {
        status,
        partial: partial.display().to_string(),
    };
    let mut size = offset;
    while let Some(message) = stream.message().await.map_err(interrupted)? {
        if let Some(Download::Chunk(chunk)) = message.payload {
            file.write_all(&chunk).map_err(io_error)?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            bar.inc(chunk.len() as u64);
        }
    }
    file.sync_all().map_err(io_error)?;
    bar.finish_and_clear();

    let sha256 = hex::encode(hasher.finalize());
    if size != info.size_bytes || sha256 != info.sha256 {
        return Err(CliError::Verification(format!(
            "{} does not match artifact {}: {size} bytes with SHA-256 {sha256}, expected {} \
             bytes with SHA-256 {}; the bytes are kept in {}",
            dest.display(),
            info.artifact_version,
            info.size_bytes,
            info.sha256,
            partial.display()
        )));
    }
    std::fs::rename(&partial, dest).map_err(|source| CliError::Io {
        path: dest.display().to_string(),
        source,
    })?;
    Ok(info)
}

/// `DEST.partial`, beside DEST.
fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Feeds a whole file to `hasher`, advancing `bar`.
fn hash_file(path: &Path, mut hasher: Sha256, bar: &ProgressBar) -> std::io::Result<Sha256> {
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0; CHUNK];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        bar.inc(read as u64);
    }
    bar.finish_and_clear();
    Ok(hasher)
}

/// A byte progress bar on stderr (bytes, rate, ETA); indicatif hides it when stderr is not a
/// terminal, and `--quiet` hides it always.
fn progress(total: u64, what: &'static str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total).with_message(what);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>11} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}
