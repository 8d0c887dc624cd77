//! gRPC handlers, kept thin: validate the request into domain types, call the store, convert
//! the answer. Failures become `Status` through `crate::error`.

mod artifacts;
mod discovery;
mod page_token;
mod registration;
mod update_mask;
mod upload;

pub use artifacts::ArtifactService;
pub use discovery::DiscoveryService;
pub use registration::RegistrationService;

use uuid::Uuid;

use crate::error::{Error, Result};

/// Parses a registration id sent by a client.
fn parse_id(field: &str, text: &str) -> Result<Uuid> {
    if text.is_empty() {
        return Err(Error::invalid_field(field, "is required"));
    }
    Uuid::parse_str(text)
        .map_err(|_| Error::invalid_field(field, format!("{text:?} is not a UUID")))
}
