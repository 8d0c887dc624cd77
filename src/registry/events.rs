//! The audit view of the event log, and its retention.

use std::time::Duration;

use super::Registry;
use crate::domain::{Action, Caller, Error, Event, EventQuery, Page, Result};

impl Registry {
    /// A page of the log among the events of models the caller may see (admins only).
    pub(crate) async fn list_events(
        &self,
        caller: &Caller,
        query: EventQuery,
    ) -> Result<Page<Event, i64>> {
        caller.require(Action::Audit)?;
        self.store.list_events(query, &caller.scope).await
    }

    /// Deletes the events older than `retention`; returns how many.
    pub(crate) async fn prune_events(&self, retention: Duration) -> Result<u64> {
        let retention = chrono::Duration::from_std(retention)
            .map_err(|_| Error::Internal("an event retention beyond any date".into()))?;
        let before = crate::domain::clock::now()
            .checked_sub_signed(retention)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        self.store.prune_events(before).await
    }
}
