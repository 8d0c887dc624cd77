//! The registry's clock: every time it records (a registration's, an artifact's, an event's)
//! is read here, by the core, and handed to the store with the change.

use chrono::{DateTime, SubsecRound, Utc};

/// Now, in the microseconds every database stores: rounding first makes what we answer equal
/// what we later read back.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
