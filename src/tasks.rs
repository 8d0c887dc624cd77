//! Background work: one supervisor for every task the server runs beside its calls (health
//! probing, file reloads, the event log's sequencer, feed and pruner, the sweeper, the metrics
//! endpoint), and the one periodic loop they share.
//!
//! The rule for a task that fails: no call waits on background work, but the server is
//! correct only while it runs (events numbered, watchers fed, revoked consumers reloaded,
//! health reported). A task that panics has left its state unknown, so it is logged, counted
//! (`modelreg_background_task_failures_total{task}`) and the server stops with an error: its
//! orchestrator starts it again, as after a crash, rather than leave it half working. A task
//! that returns is done (some have nothing to do in some configurations).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use tokio::time::{Instant, Interval, MissedTickBehavior};
pub(crate) use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) const TASK_FAILURES: &str = "modelreg_background_task_failures_total";

/// Every background task of a server.
#[derive(Clone, Default)]
pub(crate) struct Supervisor {
    tracker: TaskTracker,
    /// Cancelled when the server stops: every task ends at its next step.
    stop: CancellationToken,
    /// Cancelled when a task failed: the server stops.
    failed: CancellationToken,
    /// The first task that failed.
    failure: Arc<Mutex<Option<&'static str>>>,
}

impl Supervisor {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The token every task watches: cancelled by `stop`.
    pub(crate) fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Completes when a task has failed.
    pub(crate) async fn failed(&self) {
        self.failed.cancelled().await;
    }

    /// The task that failed, if one did.
    pub(crate) fn failure(&self) -> Option<&'static str> {
        *self
            .failure
            .lock()
            .expect("the failure lock is never poisoned")
    }

    /// Runs `task` under the supervisor, by the rule above.
    pub(crate) fn spawn(
        &self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let (failed, failure) = (self.failed.clone(), self.failure.clone());
        // At zero from the start, so that an alert sees the step to one.
        metrics::counter!(TASK_FAILURES, "task" => name).increment(0);
        self.tracker.spawn(async move {
            if AssertUnwindSafe(task).catch_unwind().await.is_err() {
                tracing::error!(task = name, "a background task panicked; the server stops");
                metrics::counter!(TASK_FAILURES, "task" => name).increment(1);
                failure
                    .lock()
                    .expect("the failure lock is never poisoned")
                    .get_or_insert(name);
                failed.cancel();
            }
        });
    }

    /// Stops every task and waits until each has ended.
    pub(crate) async fn stop(&self) {
        self.stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// When a periodic loop first runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum First {
    /// At once.
    Now,
    /// One interval after the start (what it checks was just read).
    AfterAnInterval,
}

/// The one periodic loop: `while every.tick().await { … }` runs its body each `interval`
/// (a late tick is not made up for) until `stop` is cancelled.
pub(crate) struct Every {
    ticks: Interval,
    stop: CancellationToken,
}

pub(crate) fn every(interval: Duration, first: First, stop: CancellationToken) -> Every {
    let start = match first {
        First::Now => Instant::now(),
        First::AfterAnInterval => Instant::now() + interval,
    };
    let mut ticks = tokio::time::interval_at(start, interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    Every { ticks, stop }
}

impl Every {
    /// Waits for the next tick: `true` then, `false` once the loop is to stop.
    pub(crate) async fn tick(&mut self) -> bool {
        if self.stop.is_cancelled() {
            return false;
        }
        tokio::select! {
            _ = self.ticks.tick() => true,
            () = self.stop.cancelled() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_periodic_loop_ticks_until_stopped() {
        let interval = Duration::from_millis(50);
        let stop = CancellationToken::new();
        let mut later = every(interval, First::AfterAnInterval, stop.clone());
        let started = Instant::now();
        assert!(later.tick().await);
        assert!(started.elapsed() >= interval);
        assert!(later.tick().await);
        stop.cancel();
        assert!(!later.tick().await);
        let mut now = every(interval, First::Now, CancellationToken::new());
        let started = Instant::now();
        assert!(now.tick().await);
        assert!(started.elapsed() < interval);
    }

    #[tokio::test]
    async fn a_task_that_panics_stops_the_server_and_stop_waits_for_every_task() {
        let supervisor = Supervisor::new();
        let stop = supervisor.stopping();
        let ended = Arc::new(Mutex::new(false));
        let flag = ended.clone();
        supervisor.spawn("patient", async move {
            stop.cancelled().await;
            *flag.lock().unwrap() = true;
        });
        supervisor.spawn("broken", async { panic!("broken on purpose") });
        supervisor.failed().await;
        assert_eq!(supervisor.failure(), Some("broken"));
        supervisor.stop().await;
        assert!(*ended.lock().unwrap(), "stop waits for every task");
    }
}
