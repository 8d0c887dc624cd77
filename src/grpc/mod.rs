//! The gRPC front-end: thin handlers that turn requests into domain types (parsing reports
//! every violation), call the registry, and turn answers and errors back into proto messages
//! and `Status`.

mod artifacts;
mod authenticate;
mod caller;
mod convert;
mod discovery;
mod encoded;
mod events;
mod lease;
mod limits;
#[cfg(test)]
mod proptests;
mod registration;
mod status;
mod subscriptions;
mod update_mask;

pub(crate) use artifacts::ArtifactService;
pub(crate) use authenticate::AuthenticateLayer;
pub(crate) use caller::take_caller;
pub(crate) use discovery::{DiscoveryService, ModelDiscoveryService, ModelDiscoveryServiceServer};
pub(crate) use events::{EventService, model_event, watch_response};
pub(crate) use lease::StreamLimits;
pub(crate) use limits::{CallLimits, CallLimitsLayer, InProgress};
pub(crate) use registration::{RegistrationService, check_registration};
pub(crate) use subscriptions::SubscriptionService;
pub(crate) mod subscription_calls {
    //! The subscription operations in the API's messages, for the REST front-end.
    pub(crate) use super::subscriptions::{create, delete, get, list};
}
