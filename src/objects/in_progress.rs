//! The keys this process is writing right now. A sweep in this process never takes their
//! staged file or multipart upload for what a crash left, however short its grace period;
//! the uploads of other processes (replicas) are protected by the grace period alone.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Default)]
pub(crate) struct UploadsInProgress(Arc<Mutex<HashSet<String>>>);

impl UploadsInProgress {
    /// Marks `key` as being written until the returned guard is dropped.
    pub(crate) fn start(&self, key: &str) -> InProgress {
        self.keys().insert(key.to_owned());
        InProgress {
            key: key.to_owned(),
            uploads: self.clone(),
        }
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.keys().contains(key)
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // The set stays consistent even if a holder panicked: each operation is one call.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An upload of this process in progress; it ends when this is dropped.
#[derive(Debug)]
pub(crate) struct InProgress {
    key: String,
    uploads: UploadsInProgress,
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.uploads.keys().remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_in_progress_until_its_guard_is_dropped() {
        let uploads = UploadsInProgress::default();
        let guard = uploads.start("models/a/artifacts/b");
        assert!(uploads.clone().contains("models/a/artifacts/b"));
        drop(guard);
        assert!(!uploads.contains("models/a/artifacts/b"));
    }
}
