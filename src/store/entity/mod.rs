//! SeaORM entities, one file a table. The schema itself is owned by the `migration` crate.

pub(crate) mod event_log;
pub(crate) mod model_alias;
pub(crate) mod model_artifact;
pub(crate) mod model_event;
pub(crate) mod model_label;
pub(crate) mod model_related_information;
pub(crate) mod model_subscription;
pub(crate) mod pending_event;
pub(crate) mod server_secret;
pub(crate) mod target_environment;
