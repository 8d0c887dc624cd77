//! The bytes of artifacts, in an object store (`object_store` crate): a local folder or any
//! S3-compatible service. Keys are built from ids only, so no model name can reach outside
//! the store. Uploads stream in parts (multipart on S3, a staged file renamed into place on a
//! local disk), so a reader never sees half an object and memory stays bounded.

mod failure;
mod in_progress;
mod leftovers;
mod multipart;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::chunked::ChunkedStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use failure::read_error;
use in_progress::{InProgress, UploadsInProgress};
use multipart::MultipartUploads;

use crate::config::{ArtifactConfig, redact_url};
use crate::domain::{RegistrationId, Result};

/// Every artifact object's key starts with this.
const MODELS_PREFIX: &str = "models";
/// Size of the parts uploaded to the store: S3's smallest part size.
const MIN_PART_BYTES: usize = 5 * 1024 * 1024;
/// S3 allows at most this many parts per upload.
const MAX_PARTS: u64 = 10_000;
/// Parts in flight at once per upload; with the one being filled, an upload holds at most
/// three parts in memory.
const PARTS_IN_FLIGHT: usize = 2;
/// Size of the chunks a download is read (and sent) in.
const DOWNLOAD_CHUNK_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("artifact store URL {0:?} is not a URL: {1}")]
    Url(String, url::ParseError),
    #[error("artifact store URL {0:?}: only file:// and s3:// are supported")]
    Scheme(String),
    #[error("artifact store {0:?}: {1}")]
    Store(String, #[source] object_store::Error),
    #[error("artifact store folder {0}: {1}")]
    Folder(PathBuf, #[source] std::io::Error),
}

#[derive(Clone, Debug)]
pub(crate) struct Objects {
    objects: Arc<dyn ObjectStore>,
    /// The folder of a `file://` store, where interrupted uploads leave staged files that the
    /// object listing does not show.
    folder: Option<PathBuf>,
    /// The incomplete multipart uploads of an `s3://` store, which listings do not show either.
    multipart: Option<MultipartUploads>,
    /// Uploads of this process, which its sweeps leave alone.
    uploading: UploadsInProgress,
    part_bytes: usize,
    /// The store's URL, for logs.
    pub(crate) location: String,
}

impl Objects {
    /// Opens the configured store, or the default one for this database.
    pub(crate) fn open(config: &ArtifactConfig, database_url: &str) -> Result<Self, OpenError> {
        let location = match &config.artifact_store {
            Some(location) => location.clone(),
            None => default_location(database_url)?,
        };
        let url =
            url::Url::parse(&location).map_err(|err| OpenError::Url(redact_url(&location), err))?;
        let (mut staging_folder, mut multipart) = (None, None);
        let objects: Arc<dyn ObjectStore> = match url.scheme() {
            "file" => {
                let folder = url
                    .to_file_path()
                    .map_err(|()| OpenError::Scheme(redact_url(&location)))?;
                std::fs::create_dir_all(&folder)
                    .map_err(|err| OpenError::Folder(folder.clone(), err))?;
                let local = LocalFileSystem::new_with_prefix(&folder)
                    .map_err(|err| OpenError::Store(redact_url(&location), err))?
                    // The database will say the artifact exists once the upload returns.
                    .with_fsync(true)
                    // Deleting a model's last artifact removes its folder too.
                    .with_automatic_cleanup(true);
                staging_folder = Some(folder);
                Arc::new(local)
            }
            "s3" | "s3a" => {
                let builder = AmazonS3Builder::from_env().with_url(location.as_str());
                let prefix = url.path().trim_matches('/');
                let bucket = url.host_str().unwrap_or_default();
                multipart = MultipartUploads::for_store(&builder, bucket, prefix);
                if multipart.is_none() {
                    tracing::warn!(
                        "the S3 credentials are not static AWS_* variables: incomplete multipart \
                         uploads are not swept; a bucket lifecycle rule \
                         (AbortIncompleteMultipartUpload) must remove them"
                    );
                }
                let s3 = builder
                    .build()
                    .map_err(|err| OpenError::Store(redact_url(&location), err))?;
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix))
                }
            }
            _ => return Err(OpenError::Scheme(redact_url(&location))),
        };
        // Reads come back in chunks of one size whatever the store: a local file would
        // otherwise be read 8 KiB at a time, and S3 bodies arrive in arbitrary pieces.
        let objects = Arc::new(ChunkedStore::new(objects, DOWNLOAD_CHUNK_BYTES));
        // Parts grow for limits above 10 000 × 5 MiB, so an artifact of the largest allowed
        // size still fits S3's part count.
        let max = config.max_artifact_bytes.as_u64();
        let part_bytes = MIN_PART_BYTES.max(max.div_ceil(MAX_PARTS) as usize);
        Ok(Self {
            objects,
            folder: staging_folder,
            multipart,
            uploading: UploadsInProgress::default(),
            part_bytes,
            // It is logged.
            location: redact_url(&location),
        })
    }

    /// The key of one artifact's bytes.
    pub(crate) fn object_key(registration_id: RegistrationId, artifact_id: Uuid) -> String {
        format!("{MODELS_PREFIX}/{registration_id}/artifacts/{artifact_id}")
    }

    /// Starts writing an object. Nothing is visible under `key` until `finish`.
    #[tracing::instrument(name = "object_store.begin_upload", skip_all, fields(key = %key))]
    pub(crate) async fn begin_upload(&self, key: &str) -> Result<ObjectUpload> {
        // Marked before the store sees it, so that no sweep finds it unmarked.
        let in_progress = self.uploading.start(key);
        let upload = self.objects.put_multipart(&Path::from(key)).await?;
        Ok(ObjectUpload {
            key: key.to_owned(),
            _in_progress: in_progress,
            writer: WriteMultipart::new_with_chunk_size(upload, self.part_bytes),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// Streams `range` of an object in chunks of `DOWNLOAD_CHUNK_BYTES`. The object of a
    /// recorded artifact must exist: a missing one has lost data.
    #[tracing::instrument(name = "object_store.get", skip_all, fields(key = %key, offset = range.start, end = range.end))]
    pub(crate) async fn read(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..Default::default()
        };
        let found = self
            .objects
            .get_opts(&Path::from(key), options)
            .await
            .map_err(|err| read_error(err, key))?;
        let key = key.to_owned();
        Ok(found
            .into_stream()
            .map(move |chunk| chunk.map_err(|err| read_error(err, &key)))
            .boxed())
    }

    /// Removes objects; one that cannot be removed is logged with its key and left behind.
    #[tracing::instrument(name = "object_store.delete", skip_all, fields(objects = keys.len()))]
    pub(crate) async fn delete(&self, keys: Vec<String>) {
        let paths = futures::stream::iter(keys.into_iter().map(|key| Ok(Path::from(key)))).boxed();
        let mut deleted = self.objects.delete_stream(paths);
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => tracing::error!(error = %err, "cannot remove an artifact object"),
            }
        }
    }
}

/// `artifacts/` beside a SQLite file; otherwise in the working directory.
fn default_location(database_url: &str) -> Result<String, OpenError> {
    let database_file = database_url
        .strip_prefix("sqlite://")
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|path| !path.is_empty() && !path.contains(":memory:"));
    let folder = match database_file {
        Some(file) => PathBuf::from(file)
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default()
            .join("artifacts"),
        None => {
            tracing::warn!(
                "no --artifact-store given: artifacts go to ./artifacts, which replicas do not share"
            );
            PathBuf::from("artifacts")
        }
    };
    let folder = std::path::absolute(&folder).map_err(|err| OpenError::Folder(folder, err))?;
    url::Url::from_directory_path(&folder)
        .map(String::from)
        .map_err(|()| OpenError::Scheme(folder.display().to_string()))
}

/// An object being written. Computes the size and SHA-256 of what passes through.
pub(crate) struct ObjectUpload {
    key: String,
    _in_progress: InProgress,
    writer: WriteMultipart,
    hasher: Sha256,
    size: u64,
}

impl ObjectUpload {
    /// Bytes written so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Appends bytes; waits while too many parts are still being stored (back pressure onto
    /// the client's stream).
    pub(crate) async fn write(&mut self, chunk: Bytes) -> Result<()> {
        self.hasher.update(&chunk);
        self.size += chunk.len() as u64;
        self.writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        self.writer.put(chunk);
        Ok(())
    }

    /// The SHA-256 of everything written so far.
    pub(crate) fn sha256(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }

    /// Publishes the object under its key.
    #[tracing::instrument(name = "object_store.complete_upload", skip_all, fields(key = %self.key, bytes = self.size))]
    pub(crate) async fn finish(self) -> Result<()> {
        self.writer.finish().await?;
        Ok(())
    }

    /// Discards everything written; a failure is logged with the key.
    #[tracing::instrument(name = "object_store.abort_upload", skip_all, fields(key = %self.key))]
    pub(crate) async fn abort(self) {
        let key = self.key;
        if let Err(err) = self.writer.abort().await {
            tracing::error!(%key, error = %err, "cannot discard a partial artifact upload");
        }
    }
}
