//! What interrupted writes leave in the store, for the sweeper to find: objects (which it
//! looks up in the database), staged files of a folder store, and incomplete multipart uploads
//! of an S3 store.

use std::path::PathBuf;
use std::time::SystemTime;

use futures::StreamExt;
use object_store::path::Path;

use super::multipart::StalledUpload;
use super::{MODELS_PREFIX, Objects};
use crate::domain::Result;

/// An artifact object as the store lists it.
#[derive(Clone, Debug)]
pub(crate) struct StoredObject {
    pub(crate) key: String,
    pub(crate) size: u64,
}

impl Objects {
    /// Every artifact object last written before `cutoff`.
    pub(crate) async fn list_older_than(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<StoredObject>> {
        let mut found = Vec::new();
        let mut listing = self.objects.list(Some(&Path::from(MODELS_PREFIX)));
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if meta.last_modified < cutoff {
                found.push(StoredObject {
                    key: meta.location.to_string(),
                    size: meta.size,
                });
            }
        }
        Ok(found)
    }

    /// Staged files of uploads that a crash interrupted in a folder store, last written before
    /// `cutoff` (an upload in progress writes to its file all the time). `name#digits` is how
    /// object_store names them; S3 keeps such parts as incomplete multipart uploads (below).
    pub(crate) fn stale_staged_files(&self, cutoff: SystemTime) -> Vec<PathBuf> {
        let mut stale = Vec::new();
        let Some(folder) = &self.folder else {
            return stale;
        };
        let mut pending = vec![folder.join(MODELS_PREFIX)];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    pending.push(path);
                } else if is_staged(&path)
                    && meta.modified().is_ok_and(|time| time < cutoff)
                    && !self.uploading.contains(&staged_key(folder, &path))
                {
                    stale.push(path);
                }
            }
        }
        stale
    }
}

/// The object key a staged file `FOLDER/KEY#N` is written for.
fn staged_key(folder: &std::path::Path, path: &std::path::Path) -> String {
    let relative = path.strip_prefix(folder).unwrap_or(path);
    let parts: Vec<_> = relative.iter().map(|part| part.to_string_lossy()).collect();
    let key = parts.join("/");
    match key.rsplit_once('#') {
        Some((key, _)) => key.to_owned(),
        None => key,
    }
}

fn is_staged(path: &std::path::Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.split_once('#'))
        .is_some_and(|(_, suffix)| !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()))
}

impl Objects {
    /// Incomplete multipart uploads of an S3 store begun before `cutoff`, other than this
    /// process's own.
    /// `None` when the store keeps none (a folder) or they cannot be listed (see `open`).
    pub(crate) async fn stalled_uploads(
        &self,
        cutoff: SystemTime,
    ) -> Result<Option<Vec<StalledUpload>>> {
        let Some(uploads) = &self.multipart else {
            return Ok(None);
        };
        let mut stalled = uploads.stalled_before(cutoff).await?;
        stalled.retain(|upload| !self.uploading.contains(&upload.key));
        Ok(Some(stalled))
    }

    /// Aborts incomplete multipart uploads, which removes their parts.
    pub(crate) async fn abort_uploads(&self, stalled: Vec<StalledUpload>) {
        if let Some(uploads) = &self.multipart {
            uploads.abort(stalled).await;
        }
    }
}
