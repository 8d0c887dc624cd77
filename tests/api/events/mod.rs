//! Model change events: the log every write appends to in its own transaction, WatchModels
//! streams that follow it (resume, initial state, heartbeats, slow watchers, shutdown), and
//! the ListEvents audit view; numbering after commit and replicas on one PostgreSQL database.

mod log;
mod numbering;
mod replicas;
mod watch;
mod watch_limits;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    [
        log::trials(),
        watch::trials(),
        watch_limits::trials(),
        numbering::trials(),
        replicas::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
