//! SeaORM entities, one file a table. The schema itself is owned by the `migration` crate.

pub mod model_artifact;
pub mod model_related_information;
pub mod target_environment;
