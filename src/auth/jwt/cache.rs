//! JWTs already verified, so that a client's next calls with the same token skip the signature
//! check. Entries are keyed by the token's SHA-256 (the cache holds no token), last until the
//! token's `exp`, and are bounded in number.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::auth::digest::TokenDigest;
use crate::domain::Caller;

pub(crate) struct VerifiedTokens {
    capacity: usize,
    entries: Mutex<HashMap<TokenDigest, Verified>>,
}

struct Verified {
    caller: Caller,
    /// The token's `exp`, in seconds since the Unix epoch.
    expires: u64,
}

impl VerifiedTokens {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The caller of a token verified before, while it has not expired (`now` in seconds
    /// since the Unix epoch).
    pub(crate) fn get(&self, token: &TokenDigest, now: u64) -> Option<Caller> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(token) {
            Some(entry) if now < entry.expires => Some(entry.caller.clone()),
            Some(_) => {
                entries.remove(token);
                None
            }
            None => None,
        }
    }

    pub(crate) fn insert(&self, token: TokenDigest, caller: Caller, expires: u64, now: u64) {
        if self.capacity == 0 || expires <= now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&token) {
            entries.retain(|_, entry| now < entry.expires);
            // Still full of live tokens: any one makes room; it is verified again next time.
            if entries.len() >= self.capacity
                && let Some(victim) = entries.keys().next().copied()
            {
                entries.remove(&victim);
            }
        }
        entries.insert(token, Verified { caller, expires });
    }

    /// Forgets every token: the keys that verified them may be gone.
    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u32) -> TokenDigest {
        TokenDigest::of(&n.to_string())
    }

    #[test]
    fn an_entry_lasts_until_the_token_expires() {
        let cache = VerifiedTokens::new(10);
        cache.insert(digest(1), Caller::anonymous_admin(), 100, 50);
        assert!(cache.get(&digest(1), 99).is_some());
        assert!(cache.get(&digest(1), 100).is_none());
        assert_eq!(cache.len(), 0, "an expired entry is dropped when met");
        cache.insert(digest(2), Caller::anonymous_admin(), 100, 100);
        assert_eq!(cache.len(), 0, "an expired token is not cached");
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let cache = VerifiedTokens::new(3);
        for n in 0..3 {
            cache.insert(digest(n), Caller::anonymous_admin(), 10 + u64::from(n), 0);
        }
        // Expired entries make room first.
        cache.insert(digest(9), Caller::anonymous_admin(), 100, 11);
        assert_eq!(cache.len(), 2);
        for n in 20..40 {
            cache.insert(digest(n), Caller::anonymous_admin(), 100, 11);
        }
        assert_eq!(cache.len(), 3);
        cache.clear();
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_capacity_of_zero_caches_nothing() {
        let cache = VerifiedTokens::new(0);
        cache.insert(digest(1), Caller::anonymous_admin(), 100, 0);
        assert!(cache.get(&digest(1), 1).is_none());
    }
}
