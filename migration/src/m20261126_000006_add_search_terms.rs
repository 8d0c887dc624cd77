//! A search copy of each registration's platforms and labels in its own row, which discovery's
//! equality filters read instead of probing the side tables for every registration.
//!
//! `search_terms` is a text of terms between bars, `|label:team=ran-team|platform:kserve|`,
//! with `%` and `|` of each part escaped as `%25` and `%7C`: the server writes it with the side
//! tables, and this migration fills it for the rows that exist, escaping in SQL as the server
//! does in Rust. On PostgreSQL a generated `text[]` column holds the same terms, with a GIN
//! index and per-element statistics for the planner.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ModelRelatedInformation {
    Table,
    SearchTerms,
}

/// One registration's terms as SQL over its side tables, for the backfill.
const TERMS: &str = "\
    SELECT 'platform:' || REPLACE(REPLACE(e.platform_name, '%', '%25'), '|', '%7C') AS term \
      FROM target_environments e \
     WHERE e.model_related_information_id = model_related_information.id \
    UNION \
    SELECT 'label:' || REPLACE(REPLACE(l.label_key, '%', '%25'), '|', '%7C') \
           || '=' || REPLACE(REPLACE(l.label_value, '%', '%25'), '|', '%7C') \
      FROM model_labels l \
     WHERE l.model_related_information_id = model_related_information.id";

/// The fill on MySQL/MariaDB (`group_concat_max_len` is 1 MB on MariaDB).
const MYSQL_FILL: &str = "\
    UPDATE model_related_information m LEFT JOIN ( \
      SELECT id, CONCAT('|', GROUP_CONCAT(term ORDER BY term SEPARATOR '|'), '|') AS terms \
        FROM ( \
          SELECT e.model_related_information_id AS id, \
                 CONCAT('platform:', REPLACE(REPLACE(e.platform_name, '%', '%25'), '|', '%7C')) \
                   AS term \
            FROM target_environments e \
          UNION \
          SELECT l.model_related_information_id, \
                 CONCAT('label:', REPLACE(REPLACE(l.label_key, '%', '%25'), '|', '%7C'), '=', \
                        REPLACE(REPLACE(l.label_value, '%', '%25'), '|', '%7C')) \
            FROM model_labels l) t \
       GROUP BY id) s ON s.id = m.id \
    SET m.search_terms = COALESCE(s.terms, '')";

/// A registration's terms: up to about 176 KB (100 platforms of 255 four-byte characters and 64
/// labels), past MySQL's 64 KB TEXT.
fn search_terms_column(backend: DbBackend) -> ColumnDef {
    let mut def = ColumnDef::new(ModelRelatedInformation::SearchTerms);
    if backend == DbBackend::MySql {
        def.custom(Alias::new("mediumtext"));
    } else {
        def.text();
    }
    def.not_null().default("");
    def
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .alter_table(
                Table::alter()
                    .table(ModelRelatedInformation::Table)
                    .add_column(search_terms_column(backend))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let fill = match backend {
            DbBackend::Postgres => format!(
                "UPDATE model_related_information SET search_terms = \
                 COALESCE((SELECT '|' || string_agg(term, '|') || '|' FROM ({TERMS}) terms), '')"
            ),
            // MySQL refuses a derived table that refers to the row being updated, and its `||`
            // is OR: the terms are grouped by registration in a join instead.
            DbBackend::MySql => MYSQL_FILL.to_owned(),
            _ => format!(
                "UPDATE model_related_information SET search_terms = \
                 COALESCE((SELECT '|' || group_concat(term, '|') || '|' FROM ({TERMS}) terms), '')"
            ),
        };
        db.execute_unprepared(&fill).await?;
        if backend == DbBackend::Postgres {
            db.execute_unprepared(
                "ALTER TABLE model_related_information ADD COLUMN search_term_set text[] \
                 GENERATED ALWAYS AS (string_to_array(btrim(search_terms, '|'), '|')) STORED",
            )
            .await?;
            db.execute_unprepared(
                "CREATE INDEX idx_model_related_information_search_term_set \
                 ON model_related_information USING gin (search_term_set)",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE model_related_information DROP COLUMN search_term_set",
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ModelRelatedInformation::Table)
                    .drop_column(ModelRelatedInformation::SearchTerms)
                    .to_owned(),
            )
            .await
    }
}
