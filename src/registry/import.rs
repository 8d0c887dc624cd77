//! Imports from another registry (the Go model management service): each model is checked
//! as a registration is, and the valid ones of a batch are written in one transaction,
//! keeping their ids, with a `MODEL_REGISTERED` event whose actor is `import`.

use uuid::Uuid;

pub(crate) use crate::domain::ImportOutcome;
use crate::domain::{
    Actor, Artifact, ArtifactRecord, ArtifactVersion, ForeignModel, ModelChange, Result, clock,
};
use crate::store::Store;

/// The actor of every change an import makes.
pub(crate) const IMPORT_ACTOR: &str = "import";

/// One model of an import and what became of it.
#[derive(Clone, Debug)]
pub(crate) struct ImportedModel {
    /// Its name and version as the source stored them.
    pub(crate) label: String,
    pub(crate) outcome: ImportOutcome,
}

/// Imports `models` into `store` (a dry run writes nothing and reports the same outcomes);
/// answers what became of each, in order.
pub(crate) async fn import_batch(
    store: &Store,
    models: Vec<ForeignModel>,
    dry_run: bool,
) -> Result<Vec<ImportedModel>> {
    let now = clock::now();
    let actor = Actor {
        principal: IMPORT_ACTOR.to_owned(),
        request_id: None,
        via: None,
    };
    let mut checked = Vec::with_capacity(models.len());
    let mut valid = Vec::new();
    for model in models {
        let label = model.label();
        match model.into_registration(now) {
            Ok(registration) => {
                let mut change = ModelChange::registered(registration);
                let version = &change.registration.artifact_version;
                if *version != ArtifactVersion::initial() {
                    // The bytes are wherever the Go service's clients stored them.
                    let artifact = Artifact::external(1, version.clone(), now);
                    change.artifact = Some(ArtifactRecord {
                        id: Uuid::now_v7(),
                        artifact,
                    });
                }
                valid.push(change);
                checked.push((label, None));
            }
            Err(reason) => checked.push((label, Some(ImportOutcome::Refused(reason)))),
        }
    }
    let mut stored = store.import(&valid, &actor, dry_run).await?.into_iter();
    Ok(checked
        .into_iter()
        .map(|(label, refused)| ImportedModel {
            label,
            outcome: refused
                .or_else(|| stored.next())
                .expect("an outcome for every valid model"),
        })
        .collect())
}
