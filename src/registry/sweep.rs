//! The sweeper: artifact bytes with no record are removed after a grace period. They are left
//! by a crash between an object's write and its commit, by an interrupted upload (a staged
//! file, or an incomplete multipart upload on S3), or by a deletion whose object removal
//! failed. A committed artifact always has its record, and an upload in progress writes only
//! fresh bytes, so neither is touched.

use std::time::{Duration, SystemTime};

use super::Registry;
use crate::domain::Result;

/// What one sweep found, and removed unless it was a dry run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Objects older than the grace period that were looked at.
    pub scanned: usize,
    /// Objects and staged files with no record: their keys or paths.
    pub orphans: Vec<String>,
    /// Their bytes (staged files not counted).
    pub orphan_bytes: u64,
    /// Incomplete multipart uploads (S3) begun before the grace period:
    /// `KEY (multipart upload UPLOAD_ID)`. `None` when the store keeps none (a folder) or
    /// cannot list them (credentials that are not static AWS_* variables).
    pub stalled_uploads: Option<Vec<String>>,
    /// Whether they were removed, or aborted (not on a dry run).
    pub removed: bool,
}

impl Registry {
    /// Finds artifact bytes older than `grace` that no record names, and removes them unless
    /// `dry_run`.
    pub(crate) async fn sweep(&self, grace: Duration, dry_run: bool) -> Result<SweepReport> {
        let cutoff = SystemTime::now() - grace;
        let objects = self.objects.list_older_than(cutoff.into()).await?;
        let keys: Vec<String> = objects.iter().map(|object| object.key.clone()).collect();
        let recorded = self.store.recorded_object_keys(&keys).await?;
        let orphans: Vec<_> = objects
            .into_iter()
            .filter(|object| !recorded.contains(&object.key))
            .collect();
        let staged = self.objects.stale_staged_files(cutoff);
        let stalled = match self.objects.stalled_uploads(cutoff).await {
            Ok(stalled) => stalled,
            // Some S3-compatible stores do not list multipart uploads: the rest of the sweep
            // goes on, as it did before uploads were looked at.
            Err(err) => {
                let cause = std::error::Error::source(&err).map(ToString::to_string);
                tracing::warn!(
                    error = %err, cause = cause.unwrap_or_default(),
                    "cannot list incomplete multipart uploads; they are left for the next sweep"
                );
                None
            }
        };
        let mut report = SweepReport {
            scanned: keys.len(),
            orphan_bytes: orphans.iter().map(|object| object.size).sum(),
            orphans: orphans.iter().map(|object| object.key.clone()).collect(),
            stalled_uploads: stalled.as_ref().map(|uploads| {
                uploads
                    .iter()
                    .map(|upload| format!("{} (multipart upload {})", upload.key, upload.upload_id))
                    .collect()
            }),
            removed: !dry_run,
        };
        report
            .orphans
            .extend(staged.iter().map(|path| path.display().to_string()));
        if !dry_run {
            self.objects
                .delete(orphans.into_iter().map(|object| object.key).collect())
                .await;
            for path in staged {
                if let Err(err) = std::fs::remove_file(&path) {
                    tracing::warn!(path = %path.display(), error = %err, "cannot remove a staged upload file");
                }
            }
            if let Some(stalled) = stalled {
                self.objects.abort_uploads(stalled).await;
            }
        }
        Ok(report)
    }
}
