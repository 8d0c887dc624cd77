//! One subscription's deliveries, by the replica that holds its lease: read the log after the
//! acknowledged sequence, keep the events the subscription wants, POST them in order, and
//! record each acknowledgement before the next notification. A failed notification is sent
//! again, unchanged, after a backoff that doubles (with jitter) up to --callback-retry-max;
//! nothing after it is sent before it is acknowledged.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::broadcast::error::RecvError;

use super::notification::Notification;
use super::sender::{Failed, Sender};
use crate::domain::{Delivery, Event, Result};
use crate::metrics::{callback_delivery, callback_failing, callback_lag};
use crate::registry::{HeldSubscription, Registry};
use crate::tasks::CancellationToken;

/// Events read from the log at once.
const READ_BATCH: u64 = 500;
/// The first wait after a failed attempt.
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// When nothing wakes a deliverer, it reads the log this often (another replica's commits
/// on a database that cannot notify).
const POLL: Duration = Duration::from_secs(1);

pub(super) struct Deliverer {
    pub(super) registry: Registry,
    pub(super) sender: Sender,
    pub(super) holder: String,
    /// Until when this replica's leases last: past it, nothing is sent (another replica may
    /// deliver by then).
    pub(super) lease: tokio::sync::watch::Receiver<chrono::DateTime<Utc>>,
    pub(super) retry_max: Duration,
    pub(super) failing_after: Duration,
}

/// Why a deliverer stopped.
enum Stopped {
    /// The server stops, or the lease was given up.
    Cancelled,
    /// Another replica holds the lease now, or the subscription was deleted.
    LeaseLost,
}

impl Deliverer {
    /// Delivers `held` until `stop`, or until its lease is lost.
    pub(super) async fn run(&self, held: HeldSubscription, stop: CancellationToken) {
        let id = held.subscription.id;
        tracing::info!(
            subscription = %id,
            after = held.subscription.delivery.acknowledged,
            "delivering a subscription"
        );
        let mut state = State {
            delivery: held.subscription.delivery.clone(),
            failing: false,
        };
        let outcome = self.deliver(&held, &mut state, &stop).await;
        if state.failing {
            callback_failing(false);
        }
        callback_lag(id.to_string(), None);
        match outcome {
            Ok(Stopped::Cancelled | Stopped::LeaseLost) => {}
            Err(err) => tracing::warn!(subscription = %id, error = %err, "delivering stopped"),
        }
    }

    async fn deliver(
        &self,
        held: &HeldSubscription,
        state: &mut State,
        stop: &CancellationToken,
    ) -> Result<Stopped> {
        let subscription = &held.subscription;
        // Any event appended anywhere wakes the deliverer; what it reads is the log's.
        let mut woken = self.registry.feed().subscribe();
        let batch = subscription.max_batch > 1;
        loop {
            let (events, first_held) = self
                .registry
                .events_for_delivery(state.delivery.acknowledged, READ_BATCH)
                .await?;
            if state.delivery.acknowledged < first_held {
                // Pruned before the receiver had them: say so, and go on after them.
                state.delivery.lost_through = Some(first_held);
                state.delivery.acknowledged = first_held;
                if !self.record(held, state).await? {
                    return Ok(Stopped::LeaseLost);
                }
                continue;
            }
            let Some(last_read) = events.last().map(|event| event.sequence) else {
                tokio::select! {
                    () = stop.cancelled() => return Ok(Stopped::Cancelled),
                    woke = woken.recv() => if matches!(woke, Err(RecvError::Closed)) {
                        tokio::time::sleep(POLL).await;
                    },
                    () = tokio::time::sleep(POLL) => {}
                }
                continue;
            };
            let wanted: Vec<Event> = events
                .into_iter()
                .filter(|event| subscription.wants(event))
                .collect();
            let chunk = if batch {
                subscription.max_batch as usize
            } else {
                1
            };
            for events in wanted.chunks(chunk) {
                let notification = Notification::of(events, batch);
                if let Some(stopped) = self
                    .until_accepted(held, state, &notification, stop)
                    .await?
                {
                    return Ok(stopped);
                }
                state.delivery.acknowledged = notification.last_sequence;
                if !self.record(held, state).await? {
                    return Ok(Stopped::LeaseLost);
                }
            }
            // Events it does not want are acknowledged once they are read.
            if state.delivery.acknowledged < last_read {
                state.delivery.acknowledged = last_read;
                if !self.record(held, state).await? {
                    return Ok(Stopped::LeaseLost);
                }
            }
            let published = *self.registry.feed().position().borrow();
            let lag = (published - state.delivery.acknowledged).max(0);
            callback_lag(subscription.id.to_string(), Some(lag));
        }
    }

    /// Sends `notification` until the receiver accepts it (`None`), recording each failure.
    async fn until_accepted(
        &self,
        held: &HeldSubscription,
        state: &mut State,
        notification: &Notification,
        stop: &CancellationToken,
    ) -> Result<Option<Stopped>> {
        let mut wait = FIRST_RETRY;
        let mut retry = false;
        loop {
            // A replica that could not renew in time (paused, cut off from the database) stops
            // before its lease ends, rather than send beside the next holder.
            if Utc::now() >= *self.lease.borrow() {
                return Ok(Some(Stopped::LeaseLost));
            }
            let sent = tokio::select! {
                () = stop.cancelled() => return Ok(Some(Stopped::Cancelled)),
                sent = self.sender.send(&held.subscription.destination, notification, &held.secret) => sent,
            };
            match sent {
                Ok(()) => {
                    callback_delivery("ok", retry);
                    // The caller records the acknowledgement, and with it the recovery.
                    state.delivery.failing_since = None;
                    state.delivery.last_error = None;
                    state.delivery.last_error_time = None;
                    if state.failing {
                        state.failing = false;
                        callback_failing(false);
                    }
                    return Ok(None);
                }
                Err(Failed { outcome, message }) => {
                    callback_delivery(outcome, retry);
                    tracing::info!(
                        subscription = %held.subscription.id,
                        sequence = notification.last_sequence,
                        outcome,
                        error = %message,
                        "a notification failed; it will be sent again"
                    );
                    let now = crate::domain::clock::now();
                    let since = *state.delivery.failing_since.get_or_insert(now);
                    state.delivery.last_error = Some(message);
                    state.delivery.last_error_time = Some(now);
                    let failing = (Utc::now() - since)
                        .to_std()
                        .is_ok_and(|failed_for| failed_for >= self.failing_after);
                    if failing && !state.failing {
                        state.failing = true;
                        callback_failing(true);
                    }
                    if !self.record(held, state).await? {
                        return Ok(Some(Stopped::LeaseLost));
                    }
                }
            }
            retry = true;
            let jittered = wait.mul_f64(0.5 + fastrand::f64() * 0.5);
            tokio::select! {
                () = stop.cancelled() => return Ok(Some(Stopped::Cancelled)),
                () = tokio::time::sleep(jittered) => {}
            }
            wait = (wait * 2).min(self.retry_max);
        }
    }

    /// Writes how the deliveries stand; `false` when the lease is no longer this replica's.
    async fn record(&self, held: &HeldSubscription, state: &State) -> Result<bool> {
        self.registry
            .record_delivery(held.subscription.id, &self.holder, &state.delivery)
            .await
    }
}

struct State {
    delivery: Delivery,
    /// Counted in the failing gauge.
    failing: bool,
}
