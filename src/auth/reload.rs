//! Files re-read when they change: the consumers file and a JWKS file. They are polled, which
//! works the same on every filesystem, in containers and through the symlink swaps of
//! Kubernetes volumes. A new version that does not parse leaves the previous one in force.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

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
}

impl WatchedFile {
    /// `seen` is the version already in force, read at start.
    pub(crate) fn new(path: PathBuf, what: &'static str, seen: Vec<u8>, apply: Apply) -> Self {
        Self {
            path,
            what,
            seen,
            apply,
        }
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
                return;
            }
        };
        if contents == self.seen {
            return;
        }
        match (self.apply)(&contents) {
            Ok(()) => {
                tracing::info!(path = %self.path.display(), "{} reloaded", self.what);
            }
            Err(problem) => tracing::warn!(
                path = %self.path.display(),
                %problem,
                "the new version of the {} is not valid; keeping the previous one",
                self.what
            ),
        }
        self.seen = contents;
    }
}

/// Checks every file each `interval` until `stopped` completes.
pub(crate) async fn watch_files(
    mut files: Vec<WatchedFile>,
    interval: Duration,
    stopped: impl Future<Output = ()>,
) {
    if files.is_empty() || interval.is_zero() {
        return stopped.await;
    }
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate; the files were read at start.
    ticks.tick().await;
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = &mut stopped => return,
        }
        for file in &mut files {
            file.check().await;
        }
    }
}
