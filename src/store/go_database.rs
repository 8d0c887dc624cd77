//! The database of the Go model management service, read for an import: its GORM models
//! (`model_related_informations` with the model id, metadata and model information embedded,
//! data types as comma-joined strings; `target_environments` beside it), read a batch at a
//! time in (name, version) order, each batch's environments in one query. The Go service read
//! environments without an order, that is in the table's physical order; `ctid` keeps it.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value};

use crate::domain::{
    DataTypeSpelling, EnvironmentDraft, ForeignModel, InformationDraft, MetadataDraft, ModelDraft,
    ModelIdDraft, Result, split_data_types,
};

/// A connection to a Go model management service's PostgreSQL database.
pub(crate) struct GoDatabase {
    db: DatabaseConnection,
}

/// Where a batch ends: the last (name, version) read.
pub(crate) type GoCursor = (String, String);

impl GoDatabase {
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        Ok(Self {
            db: Database::connect(url).await?,
        })
    }

    /// How many models the Go service holds.
    pub(crate) async fn count(&self) -> Result<u64> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*) AS models FROM model_related_informations",
            ))
            .await?;
        let models: i64 = match row {
            Some(row) => row.try_get("", "models")?,
            None => 0,
        };
        Ok(models.max(0) as u64)
    }

    /// The next `limit` models after `after`, in (name, version) order.
    pub(crate) async fn batch(
        &self,
        after: Option<&GoCursor>,
        limit: u64,
    ) -> Result<Vec<ForeignModel>> {
        let columns = "id, model_name, model_version, artifact_version, description, author, \
                       owner, input_data_type, output_data_type, model_location";
        let statement = match after {
            None => Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "SELECT {columns} FROM model_related_informations \
                     ORDER BY model_name, model_version LIMIT $1"
                ),
                [Value::from(limit as i64)],
            ),
            Some((name, version)) => Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!(
                    "SELECT {columns} FROM model_related_informations \
                     WHERE (model_name, model_version) > ($1, $2) \
                     ORDER BY model_name, model_version LIMIT $3"
                ),
                [
                    Value::from(name.clone()),
                    Value::from(version.clone()),
                    Value::from(limit as i64),
                ],
            ),
        };
        let mut models = Vec::new();
        for row in self.db.query_all_raw(statement).await? {
            let text = |column: &str| -> Result<String> {
                let value: Option<String> = row.try_get("", column)?;
                Ok(value.unwrap_or_default())
            };
            let (input, output) = (text("input_data_type")?, text("output_data_type")?);
            models.push(ForeignModel {
                id: text("id")?,
                draft: ModelDraft {
                    model_id: Some(ModelIdDraft {
                        model_name: text("model_name")?,
                        model_version: text("model_version")?,
                    }),
                    description: text("description")?,
                    model_location: text("model_location")?,
                    model_information: Some(InformationDraft {
                        metadata: Some(MetadataDraft {
                            author: text("author")?,
                            owner: text("owner")?,
                        }),
                        input_data_type: split_data_types(&input),
                        output_data_type: split_data_types(&output),
                        target_environment: Vec::new(),
                        spelling: DataTypeSpelling {
                            input: Some(input),
                            output: Some(output),
                        },
                    }),
                    labels: Default::default(),
                },
                artifact_version: text("artifact_version")?,
            });
        }
        self.attach_environments(&mut models).await?;
        Ok(models)
    }

    async fn attach_environments(&self, models: &mut [ForeignModel]) -> Result<()> {
        if models.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (1..=models.len()).map(|n| format!("${n}")).collect();
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!(
                "SELECT model_related_information_id, platform_name, environment_type, \
                 dependency_list FROM target_environments \
                 WHERE model_related_information_id IN ({}) ORDER BY ctid",
                placeholders.join(", ")
            ),
            models.iter().map(|model| Value::from(model.id.clone())),
        );
        let mut environments: HashMap<String, Vec<EnvironmentDraft>> = HashMap::new();
        for row in self.db.query_all_raw(statement).await? {
            let text = |column: &str| -> Result<String> {
                let value: Option<String> = row.try_get("", column)?;
                Ok(value.unwrap_or_default())
            };
            environments
                .entry(text("model_related_information_id")?)
                .or_default()
                .push(EnvironmentDraft {
                    platform_name: text("platform_name")?,
                    environment_type: text("environment_type")?,
                    dependency_list: text("dependency_list")?,
                });
        }
        for model in models {
            if let (Some(found), Some(information)) = (
                environments.remove(&model.id),
                model.draft.model_information.as_mut(),
            ) {
                information.target_environment = found;
            }
        }
        Ok(())
    }

    pub(crate) async fn close(self) -> Result<()> {
        Ok(self.db.close().await?)
    }
}

/// Where a batch of models ends.
pub(crate) fn cursor_of(model: &ForeignModel) -> GoCursor {
    let id = model.draft.model_id.clone().unwrap_or_default();
    (id.model_name, id.model_version)
}
