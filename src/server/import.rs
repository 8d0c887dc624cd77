//! `modelreg import mme`: moves the Go model management service's models into the registry's
//! database, a batch a transaction, keeping their ids. Idempotent: a re-run imports only what
//! is missing and reports the rest as already present.

use crate::config::ImportConfig;
use crate::registry::import::{ImportOutcome, import_batch};
use crate::store::{GoDatabase, Store, cursor_of};

use super::ServerError;

/// What an import did (or, dry, would do), model by model: `"name" version "v"` labels.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub dry_run: bool,
    pub imported: Vec<String>,
    /// Registered here already with the same id.
    pub already_present: Vec<String>,
    /// Not imported, each with its reasons.
    pub refused: Vec<(String, String)>,
}

/// Imports every model of the Go service's database at `config.from`. `progress` is told
/// how many models were handled so far, and of how many.
pub async fn import_mme(
    config: &ImportConfig,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport, ServerError> {
    let source = GoDatabase::connect(&config.from).await.map_err(failed)?;
    let store = Store::connect(&config.database, None).await?;
    store.migrate().await?;
    let outcome = import_all(&source, &store, config, progress).await;
    store.close().await?;
    let _ = source.close().await;
    outcome
}

async fn import_all(
    source: &GoDatabase,
    store: &Store,
    config: &ImportConfig,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport, ServerError> {
    let total = source.count().await.map_err(failed)?;
    progress(0, total);
    let mut report = ImportReport {
        dry_run: config.dry_run,
        ..ImportReport::default()
    };
    let mut after = None;
    let mut done = 0;
    loop {
        let batch = source
            .batch(after.as_ref(), config.batch_size)
            .await
            .map_err(failed)?;
        let Some(last) = batch.last() else { break };
        after = Some(cursor_of(last));
        let read = batch.len() as u64;
        for model in import_batch(store, batch, config.dry_run)
            .await
            .map_err(failed)?
        {
            match model.outcome {
                ImportOutcome::Imported => report.imported.push(model.label),
                ImportOutcome::AlreadyPresent => report.already_present.push(model.label),
                ImportOutcome::Refused(reason) => report.refused.push((model.label, reason)),
            }
        }
        done += read;
        progress(done, total.max(done));
    }
    Ok(report)
}

/// A failure with every cause in its message: an operator running the import needs to know
/// that a table is missing or a password is wrong.
fn failed(err: impl std::error::Error + Send + Sync + 'static) -> ServerError {
    let mut message = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        message.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    ServerError::Import(message.into())
}
