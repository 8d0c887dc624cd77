//! The feed: one task per server reads the event log as it grows and hands each new event to
//! every watch stream of this server. It reads when the store says that this server added to
//! the log, when PostgreSQL notifies that another replica did, and at a steady interval in case
//! a notification was lost; and only while someone watches.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};

use super::cache::ReadCache;
use crate::domain::Event;
use crate::store::Store;
use crate::tasks::CancellationToken;

/// Events read from the log in one statement.
const READ_BATCH: u64 = 500;

/// How long a closing feed waits to publish the log's last events.
const CLOSE_CATCH_UP: Duration = Duration::from_secs(2);

/// While nobody watches, commits wake the feed at most this often (reads that need the cache
/// current wake it at once).
const COALESCE: Duration = Duration::from_millis(5);

/// After a failed read or a lost listener connection, wait this long before the next try.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub(crate) struct Feed {
    inner: Arc<Inner>,
    /// Applies every event before watchers get it; while it is on, the log is always read.
    cache: ReadCache,
}

#[derive(Debug)]
struct Inner {
    events: broadcast::Sender<Arc<Event>>,
    /// The last sequence published, or skipped when the feed began reading at the log's end.
    position: watch::Sender<i64>,
    wake: Notify,
    /// Set when the server stops: every watch stream ends.
    closing: watch::Sender<bool>,
    buffer: usize,
}

impl Feed {
    /// A feed whose watchers may each fall `buffer` events behind before they are cut off.
    pub(crate) fn new(buffer: usize) -> Self {
        let buffer = buffer.max(1);
        Self {
            inner: Arc::new(Inner {
                events: broadcast::Sender::new(buffer),
                position: watch::Sender::new(0),
                wake: Notify::new(),
                closing: watch::Sender::new(false),
                buffer,
            }),
            cache: ReadCache::default(),
        }
    }

    /// The same feed, applying every event to `cache` first.
    pub(crate) fn with_cache(mut self, cache: ReadCache) -> Self {
        self.cache = cache;
        self
    }

    /// Whether the log is read now: while anyone watches, and always for the cache.
    fn reads(&self) -> bool {
        self.cache.is_on() || self.inner.events.receiver_count() > 0
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.events.subscribe()
    }

    /// Where the feed is: every event up to it was published, or is in the log only (when the
    /// feed began at the log's end), for a watcher to read there.
    pub(crate) fn position(&self) -> watch::Receiver<i64> {
        self.inner.position.subscribe()
    }

    /// How far the feed is behind `last`, the log's last sequence: 0 while nobody watches
    /// (then it does not read the log at all).
    pub(crate) fn lag_behind(&self, last: i64) -> i64 {
        if !self.reads() {
            return 0;
        }
        (last - *self.inner.position.borrow()).max(0)
    }

    pub(crate) fn buffer(&self) -> usize {
        self.inner.buffer
    }

    /// Ends every watch stream, now and from now on, after publishing what the log holds (for
    /// at most `CLOSE_CATCH_UP`): the changes of the calls that finished just before go out
    /// with the streams' last events.
    pub(crate) async fn close(&self, store: &Store) {
        if self.inner.events.receiver_count() > 0
            && store.number_events().await.is_ok()
            && let Ok(log) = store.log_position().await
        {
            self.inner.wake.notify_one();
            let mut position = self.position();
            let published = position.wait_for(|position| *position >= log.last);
            let _ = tokio::time::timeout(CLOSE_CATCH_UP, published).await;
        }
        self.inner.closing.send_replace(true);
    }

    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    /// Publishes the log's new events until `stop`.
    pub(crate) async fn run(self, store: Store, poll_interval: Duration, stop: CancellationToken) {
        let mut listener = match store.listen_for_commits().await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for the commits of other replicas; their events come at the poll interval");
                None
            }
        };
        // The last event published; `None` while nobody watches (then the log is not read,
        // and a new watcher reads what it needs itself, see `watch`) and the cache is off.
        let mut last: Option<i64> = None;
        loop {
            if !self.reads() {
                last = None;
            } else if let Err(err) = self.publish(&store, &mut last).await {
                tracing::warn!(error = %err, "reading the event log failed");
            }
            // With no watcher, commits only keep the cache current, and a read that needs it
            // wakes the feed at once: commits then wake it at most every `COALESCE`, so that
            // a burst of writes costs a few reads of the log, not one each.
            let pause = if self.inner.events.receiver_count() == 0 {
                COALESCE
            } else {
                Duration::ZERO
            };
            let woken_by_listener = async {
                tokio::time::sleep(pause).await;
                match listener.as_mut() {
                    Some(listener) => listener.committed().await,
                    None => std::future::pending().await,
                }
            };
            let grew = async {
                tokio::time::sleep(pause).await;
                store.log_grew().await;
            };
            tokio::select! {
                () = self.inner.wake.notified() => {}
                () = grew => {}
                () = self.cache.wanted() => {}
                woken = woken_by_listener => {
                    if let Err(err) = woken {
                        tracing::warn!(error = %err, "listening for the commits of other replicas failed; trying again");
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                }
                () = tokio::time::sleep(poll_interval) => {}
                () = stop.cancelled() => return,
            }
        }
    }

    async fn publish(&self, store: &Store, last: &mut Option<i64>) -> crate::domain::Result<()> {
        let delay = self.cache.feed_delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        // Counted before the log is read: every commit up to it is in what is read now.
        let commits = store.local_commits();
        let mut after = match *last {
            Some(after) => after,
            // The cache begins at its snapshot.
            None if self.cache.is_on() => self.cache.fill(store).await?,
            // Watchers appeared: begin at the log's end. A watcher that needs earlier events
            // reads them from the log itself.
            None => store.log_position().await?.last,
        };
        *last = Some(after);
        self.inner.position.send_replace(after);
        loop {
            let events = store.new_events_after(after, READ_BATCH).await?;
            let read = events.len() as u64;
            let lost_place = self.cache.apply(after, &events).is_err();
            for event in events {
                after = event.sequence;
                // No receiver left is no error: the next round stops reading.
                let _ = self.inner.events.send(Arc::new(event));
            }
            if lost_place {
                // The log no longer holds what the cache needed next (pruned while this
                // server could not read it): the next round fills it again. Watchers read
                // the gap from the log, or learn that it is gone.
                tracing::warn!(
                    after,
                    "the read cache lost its place in the event log; filling it again"
                );
                *last = None;
                return Ok(());
            }
            *last = Some(after);
            self.inner.position.send_replace(after);
            if read < READ_BATCH {
                if last.is_some() {
                    self.cache.covered(commits);
                }
                return Ok(());
            }
        }
    }
}
