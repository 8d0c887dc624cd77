//! Files re-read when they change: the consumers file and a JWKS file. They are polled, which
//! works the same on every filesystem, in containers and through the symlink swaps of
//! Kubernetes volumes. A new version that does not parse leaves the previous one in force;
//! whether each file is valid now is published (for `--auth-fail-closed`, health and the
//! `modelreg_auth_file_valid` gauge).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;

use crate::tasks::{self, CancellationToken, First};

/// 1 while a watched file is valid, 0 while it cannot be read or does not parse.
const FILE_VALID: &str = "modelreg_auth_file_valid";

/// Applies the new contents of a file, or says why they cannot be used.
pub(crate) type Apply = Box<dyn Fn(&[u8]) -> Result<(), String> + Send + Sync>;

/// A file and what to do with its new versions.
pub(crate) struct WatchedFile {
    path: PathBuf,
    /// What the file holds, for the logs: "consumers file", "JWKS file".
    what: &'static str,
    /// The contents last seen, used or not: a bad version is reported once, not at every poll.
    seen: Vec<u8>,
    apply: Apply,
    /// Whether the file as it is now is in force.
    valid: watch::Sender<bool>,
}

impl WatchedFile {
    /// `seen` is the version already in force, read at start.
    pub(crate) fn new(path: PathBuf, what: &'static str, seen: Vec<u8>, apply: Apply) -> Self {
        Self {
            path,
            what,
            seen,
            apply,
            valid: watch::Sender::new(true),
        }
    }

    /// Whether the file is valid now: false from a check that cannot read or use it until one
    /// that can.
    pub(crate) fn validity(&self) -> watch::Receiver<bool> {
        self.valid.subscribe()
    }

    fn publish(&self) {
        let valid = *self.valid.borrow();
        let path = self.path.display().to_string();
        metrics::gauge!(FILE_VALID, "file" => self.what, "path" => path).set(if valid {
            1.0
        } else {
            0.0
        });
    }

    async fn check(&mut self) {
        let contents = match tokio::fs::read(&self.path).await {
            Ok(contents) => contents,
            Err(err) => {
                // Reported once, until the file can be read again.
                if !self.seen.is_empty() {
                    tracing::warn!(path = %self.path.display(), error = %err, "cannot read the {}; keeping the version in force", self.what);
                    self.seen.clear();
                }
                self.valid.send_replace(false);
                return;
            }
        };
        if contents == self.seen {
            return;
        }
        let valid = match (self.apply)(&contents) {
            Ok(()) => {
                tracing::info!(path = %self.path.display(), "{} reloaded", self.what);
                true
            }
            Err(problem) => {
                tracing::warn!(
                    path = %self.path.display(),
                    %problem,
                    "the new version of the {} is not valid; keeping the previous one",
                    self.what
                );
                false
            }
        };
        self.valid.send_replace(valid);
        self.seen = contents;
    }
}

/// Checks every file each `interval` until `stop`.
pub(crate) async fn watch_files(
    mut files: Vec<WatchedFile>,
    interval: Duration,
    stop: CancellationToken,
) {
    if files.is_empty() || interval.is_zero() {
        return;
    }
    metrics::describe_gauge!(
        FILE_VALID,
        "Whether each watched authentication file (consumers, JWKS; by path) is valid now (1) or cannot be read or parsed (0)"
    );
    // The files were read at start.
    for file in &files {
        file.publish();
    }
    let mut every = tasks::every(interval, First::AfterAnInterval, stop);
    while every.tick().await {
        for file in &mut files {
            file.check().await;
            file.publish();
        }
    }
}
