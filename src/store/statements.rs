//! A count of the SQL statements the store issues, with the most recent ones, taken from
//! SeaORM's per-statement callback. Query budgets are tested with it: a change that turns a
//! batched load into one query per row shows up as a count, not as a slowdown.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many recent statements are kept.
const RECENT: usize = 64;

#[derive(Debug, Default)]
pub struct StatementLog {
    count: AtomicU64,
    recent: Mutex<VecDeque<String>>,
}

impl StatementLog {
    pub(super) fn record(&self, sql: &str) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(sql.to_owned());
    }

    /// Statements issued since the store was opened.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The SQL of the statements issued since the last call (at most the last 64).
    pub fn take_recent(&self) -> Vec<String> {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.drain(..).collect()
    }
}
