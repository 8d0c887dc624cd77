//! What a watcher of rotating files remembers between checks, for the certificate and for the
//! client CA alike: the contents in force, contents that failed to load (not tried again until
//! they change), and the last failure to read the files (warned about once).

use std::fmt::Display;

pub(super) struct Versions<T> {
    loaded: T,
    rejected: Option<T>,
    unreadable: Option<String>,
}

impl<T: PartialEq> Versions<T> {
    pub(super) fn new(loaded: T) -> Self {
        Self {
            loaded,
            rejected: None,
            unreadable: None,
        }
    }

    /// The contents just read, when they are worth loading: not when they are the ones in
    /// force or ones that failed already, nor when they could not be read (`warning` is
    /// logged then, once per failure).
    pub(super) fn changed<E: Display>(&mut self, read: Result<T, E>, warning: &str) -> Option<T> {
        let contents = match read {
            Ok(contents) => {
                self.unreadable = None;
                contents
            }
            Err(err) => {
                let message = err.to_string();
                if self.unreadable.as_ref() != Some(&message) {
                    tracing::warn!(error = %message, "{warning}");
                    self.unreadable = Some(message);
                }
                return None;
            }
        };
        let known = contents == self.loaded || self.rejected.as_ref() == Some(&contents);
        (!known).then_some(contents)
    }

    /// `contents` loaded and are in force now.
    pub(super) fn loaded(&mut self, contents: T) {
        self.loaded = contents;
        self.rejected = None;
    }

    /// `contents` failed to load; the ones in force stay.
    pub(super) fn rejected(&mut self, contents: T) {
        self.rejected = Some(contents);
    }
}
