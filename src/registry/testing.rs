//! A registry on an in-memory SQLite database and a folder, for the core's own tests.

use super::Registry;
use crate::config::{ArtifactConfig, DatabaseConfig};
use crate::domain::{ModelDraft, ModelIdDraft, ModelSpec};
use crate::objects::Objects;
use crate::store::Store;

pub(super) async fn registry(folder: &std::path::Path) -> Registry {
    let database = DatabaseConfig {
        database_url: "sqlite::memory:".into(),
        database_max_connections: 1,
    };
    let store = Store::connect(&database, None).await.unwrap();
    store.migrate().await.unwrap();
    let artifacts = ArtifactConfig {
        artifact_store: Some(url::Url::from_directory_path(folder).unwrap().into()),
        ..ArtifactConfig::default()
    };
    let objects = Objects::open(&artifacts, &database.database_url).unwrap();
    Registry::new(store, objects, 1 << 20)
}

/// A valid model named `name`, version 1.
pub(crate) fn spec(name: &str) -> ModelSpec {
    let mut draft = ModelDraft {
        model_id: Some(ModelIdDraft {
            model_name: name.into(),
            model_version: "1".into(),
        }),
        description: "d".into(),
        ..Default::default()
    };
    let information = draft.model_information.get_or_insert_default();
    information.metadata.get_or_insert_default().author = "alice".into();
    information.input_data_type = vec!["in".into()];
    information.output_data_type = vec!["out".into()];
    ModelSpec::parse(draft).unwrap()
}
