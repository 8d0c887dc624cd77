//! Wake-ups from other replicas: on PostgreSQL every commit that numbers events notifies
//! `events::NOTIFY_CHANNEL` (LISTEN/NOTIFY). A wake-up only says "read the log"; the log is the
//! truth, so a notification lost with a connection only delays events, never loses them.

use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
use sea_orm::{DbBackend, DbErr};

use super::Store;
use super::numbering::NOTIFY_CHANNEL;

/// A connection that listens for commits of any replica.
pub(crate) struct CommitListener {
    listener: PgListener,
}

impl Store {
    /// A listener on PostgreSQL; `None` where the database has no notifications (SQLite:
    /// replicas on one file share no process, and the in-process wake-up covers one server).
    pub(crate) async fn listen_for_commits(&self) -> Result<Option<CommitListener>, DbErr> {
        if self.backend() != DbBackend::Postgres {
            return Ok(None);
        }
        // A connection of its own (not one of the pool's, which it would hold forever), made
        // with the pool's options; it reconnects by itself.
        let options = self
            .writer
            .get_postgres_connection_pool()
            .connect_options()
            .as_ref()
            .clone();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with(options)
            .await
            .map_err(|err| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(err.into())))?;
        let mut listener = PgListener::connect_with(&pool)
            .await
            .map_err(|err| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(err.into())))?;
        listener
            .listen(NOTIFY_CHANNEL)
            .await
            .map_err(|err| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(err.into())))?;
        Ok(Some(CommitListener { listener }))
    }
}

impl CommitListener {
    /// Waits for a commit of any replica. Also returns after the connection was lost and
    /// made again (notifications may have been missed meanwhile); an error when it cannot be
    /// made again.
    pub(crate) async fn committed(&mut self) -> Result<(), String> {
        match self.listener.try_recv().await {
            Ok(_) => {
                // Many commits may be behind one wake-up: take every queued notification.
                while self.listener.next_buffered().is_some() {}
                Ok(())
            }
            Err(err) => Err(err.to_string()),
        }
    }
}
