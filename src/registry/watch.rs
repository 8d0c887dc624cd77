//! One watch stream. It starts from a sequence (or from a snapshot of the current state),
//! reads what it missed from the log, then follows the feed. Sequences have no gaps, so a
//! stream knows exactly what it has seen: whatever the feed skipped (it began after the
//! stream, or the stream resumed far back) is read from the log, and an event the log no
//! longer holds ends the stream rather than being passed over in silence.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::Registry;
use super::feed::Feed;
use crate::domain::{
    Action, Caller, Error, Event, EventFilter, Lease, Registration, Result, WatchRequest,
    WatchStart,
};
use crate::store::Store;

/// Items a stream holds for a client beyond what HTTP/2 buffers; the bound that matters is
/// the feed's `--watch-buffer`.
const STREAM_BUFFER: usize = 32;

/// Events read from the log in one statement while catching up.
const CATCH_UP_BATCH: u64 = 500;

/// What a watch stream sends.
#[derive(Clone, Debug)]
pub(crate) enum WatchItem {
    Event(Arc<Event>),
    /// A registration of the initial state, read at the snapshot's sequence.
    Initial {
        registration: Box<Registration>,
        sequence: i64,
    },
    InitialStateComplete(i64),
    Heartbeat(i64),
}

/// A running watch: its items, then (unless the client went away first) why it ended.
pub(crate) struct WatchStream {
    pub(crate) items: mpsc::Receiver<WatchItem>,
    pub(crate) end: oneshot::Receiver<Error>,
}

impl Registry {
    /// Starts a watch, which ends (at the latest) when `lease` does. A start the log cannot
    /// serve fails here, before any item.
    pub(crate) async fn watch(
        &self,
        caller: &Caller,
        request: WatchRequest,
        lease: Lease,
    ) -> Result<WatchStream> {
        caller.require(Action::Read)?;
        if !matches!(request.start, WatchStart::InitialState) {
            // The log's end is after every change committed before the call: from now on
            // begins there, and a resumed watch may be just that far ahead.
            self.store.number_events().await?;
        }
        let after = match request.start {
            WatchStart::InitialState => None,
            WatchStart::Now => Some(self.store.log_position().await?.last),
            WatchStart::After(start) => {
                let position = self.store.log_position().await?;
                if start < position.pruned_through {
                    return Err(Error::SequenceExpired {
                        start,
                        pruned_through: position.pruned_through,
                    });
                }
                if start > position.last {
                    return Err(Error::SequenceAhead {
                        start,
                        last: position.last,
                    });
                }
                Some(start)
            }
        };
        let (items, receiver) = mpsc::channel(STREAM_BUFFER);
        let (end, ended) = oneshot::channel();
        let watcher = Watcher {
            store: self.store.clone(),
            feed: self.feed.clone(),
            heartbeat: self.watch_heartbeat,
            caller: caller.clone(),
            filter: request.filter,
            items,
            last: after.unwrap_or(0),
            quiet_since: Instant::now(),
            held_back: false,
            lease,
        };
        tokio::spawn(async move {
            if let Err(Ended::Failed(err)) = watcher.run(after).await {
                let _ = end.send(err);
            }
        });
        Ok(WatchStream {
            items: receiver,
            end: ended,
        })
    }
}

/// Why a stream stopped before its client did.
enum Ended {
    /// The client went away: nobody to tell.
    ClientGone,
    Failed(Error),
}

impl From<Error> for Ended {
    fn from(err: Error) -> Self {
        Ended::Failed(err)
    }
}

type Step = std::result::Result<(), Ended>;

/// The gauge of open watch streams (gRPC and REST alike).
pub(crate) const WATCHERS: &str = "modelreg_watchers";

/// One open watch stream, counted until dropped.
struct Watching(());

impl Watching {
    fn new() -> Self {
        metrics::gauge!(WATCHERS).increment(1.0);
        Self(())
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        metrics::gauge!(WATCHERS).decrement(1.0);
    }
}

struct Watcher {
    store: Store,
    feed: Feed,
    heartbeat: Duration,
    caller: Caller,
    filter: EventFilter,
    items: mpsc::Sender<WatchItem>,
    /// Every event up to this one has been sent or did not match.
    last: i64,
    /// When the stream last sent something.
    quiet_since: Instant,
    /// The client did not take an item as fast as it came, since the stream last caught up
    /// with the feed.
    held_back: bool,
    /// Ends the stream when the caller's credentials or the stream's life do.
    lease: Lease,
}

impl Watcher {
    async fn run(mut self, after: Option<i64>) -> Step {
        let _watching = Watching::new();
        if after.is_none() {
            self.send_initial_state().await?;
        }
        // Subscribed before catching up: what the feed publishes from now on is received,
        // what it published before is read from the log.
        let mut events = self.feed.subscribe();
        let mut position = self.feed.position();
        let mut closing = self.feed.closing();
        self.catch_up().await?;
        loop {
            let heartbeat_due = self.quiet_since + self.heartbeat;
            tokio::select! {
                biased;
                () = closed(&mut closing) => {
                    self.deliver_queued(&mut events).await?;
                    if self.last < *position.borrow() {
                        // The feed began at the log's end: the last events are in the log.
                        self.catch_up().await?;
                    }
                    return Err(self.shutting_down());
                }
                () = self.items.closed() => return Err(Ended::ClientGone),
                end = &mut self.lease => return Err(end.into_error(self.last).into()),
                received = events.recv() => {
                    self.received(received).await?;
                    if events.is_empty() {
                        self.held_back = false;
                    }
                }
                // The feed moved on: usually its events are queued here already; when it
                // began at the log's end, they are read from the log.
                Ok(()) = position.changed() => {
                    let reached = *position.borrow_and_update();
                    while self.last < reached {
                        match events.try_recv() {
                            Err(TryRecvError::Empty) => break,
                            Ok(event) => self.deliver(event).await?,
                            Err(TryRecvError::Lagged(_)) => self.lagged().await?,
                            Err(TryRecvError::Closed) => return Err(self.shutting_down()),
                        }
                    }
                    if self.last < reached {
                        self.catch_up().await?;
                    }
                }
                () = tokio::time::sleep_until(heartbeat_due) => {
                    self.send(WatchItem::Heartbeat(self.last)).await?;
                }
            }
        }
    }

    async fn received(&mut self, received: std::result::Result<Arc<Event>, RecvError>) -> Step {
        match received {
            Ok(event) => self.deliver(event).await,
            Err(RecvError::Lagged(_)) => self.lagged().await,
            Err(RecvError::Closed) => Err(self.shutting_down()),
        }
    }

    /// The feed dropped events this stream had not taken. If its client held it back, the
    /// stream ends: the client is slower than the changes. Otherwise a burst outran a stream
    /// that keeps up, and the log has what it missed.
    async fn lagged(&mut self) -> Step {
        if self.held_back {
            return Err(self.too_slow());
        }
        self.catch_up().await
    }

    /// The events the feed handed over already, as far as the client takes them at once.
    async fn deliver_queued(&mut self, events: &mut broadcast::Receiver<Arc<Event>>) -> Step {
        while let Ok(event) = events.try_recv() {
            self.deliver(event).await?;
        }
        Ok(())
    }

    fn too_slow(&self) -> Ended {
        Error::WatcherTooSlow {
            buffer: self.feed.buffer(),
            last_sent: self.last,
        }
        .into()
    }

    fn shutting_down(&self) -> Ended {
        Error::ShuttingDown {
            last_sent: self.last,
        }
        .into()
    }

    async fn send_initial_state(&mut self) -> Step {
        let (registrations, sequence) = self
            .store
            .initial_state(
                self.filter.model_name.as_deref(),
                self.filter.model_version.as_deref(),
                &self.caller.scope,
            )
            .await?;
        for registration in registrations {
            self.send(WatchItem::Initial {
                registration: Box::new(registration),
                sequence,
            })
            .await?;
        }
        self.last = sequence;
        self.send(WatchItem::InitialStateComplete(sequence)).await
    }

    /// Reads the log after `last` up to its end.
    async fn catch_up(&mut self) -> Step {
        loop {
            let events = self.store.events_after(self.last, CATCH_UP_BATCH).await?;
            if let Some(first) = events.first()
                && first.sequence != self.last + 1
            {
                // Pruned while this stream was away.
                return Err(Error::SequenceExpired {
                    start: self.last,
                    pruned_through: first.sequence - 1,
                }
                .into());
            }
            let read = events.len() as u64;
            for event in events {
                self.emit(Arc::new(event)).await?;
            }
            if read < CATCH_UP_BATCH {
                return Ok(());
            }
        }
    }

    /// An event from the feed: old ones were read from the log already; after a gap, the
    /// log fills it first.
    async fn deliver(&mut self, event: Arc<Event>) -> Step {
        if event.sequence > self.last + 1 {
            self.catch_up().await?;
        }
        if event.sequence <= self.last {
            return Ok(());
        }
        self.emit(event).await
    }

    async fn emit(&mut self, event: Arc<Event>) -> Step {
        let sequence = event.sequence;
        if self.filter.matches(&event) && self.caller.sees(event.registration.spec.name.as_str()) {
            self.send(WatchItem::Event(event)).await?;
        }
        self.last = sequence;
        Ok(())
    }

    /// Waits while the client is slow; the stream still ends when the server stops.
    async fn send(&mut self, item: WatchItem) -> Step {
        let item = match self.items.try_send(item) {
            Ok(()) => {
                self.quiet_since = Instant::now();
                return Ok(());
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(Ended::ClientGone),
            Err(mpsc::error::TrySendError::Full(item)) => item,
        };
        self.held_back = true;
        let mut closing = self.feed.closing();
        tokio::select! {
            sent = self.items.send(item) => sent.map_err(|_| Ended::ClientGone)?,
            () = closed(&mut closing) => return Err(self.shutting_down()),
            end = &mut self.lease => return Err(end.into_error(self.last).into()),
        }
        self.quiet_since = Instant::now();
        Ok(())
    }
}

/// Returns once the server closes its watch streams.
async fn closed(closing: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, not held across the caller's awaits.
    let _ = closing.wait_for(|closing| *closing).await;
}
