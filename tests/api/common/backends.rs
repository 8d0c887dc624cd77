//! The databases a test runs on: SQLite in a temporary folder, or a fresh PostgreSQL database
//! created through `MODELREG_TEST_POSTGRES_URL` and dropped afterwards.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use super::trials::Needs;

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// The administrative URL from `MODELREG_TEST_POSTGRES_URL`.
    Postgres(String),
    /// The administrative URL from `MODELREG_TEST_MYSQL_URL`.
    MySql(String),
}

impl Backend {
    /// The PostgreSQL backend. Its trial checked the variable before the test started.
    pub fn postgres() -> Self {
        let url = Needs::Postgres
            .value()
            .unwrap_or_else(|| panic!("{} is not set", Needs::Postgres.variable()));
        Self::Postgres(url)
    }

    /// The MySQL/MariaDB backend. Its trial checked the variable before the test started.
    pub fn mysql() -> Self {
        let url = Needs::MySql
            .value()
            .unwrap_or_else(|| panic!("{} is not set", Needs::MySql.variable()));
        Self::MySql(url)
    }
}

/// A fresh, empty database that is removed when dropped.
pub struct TestDatabase {
    pub url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create(backend: &Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("modelreg.db").display()
                );
                Self {
                    url,
                    cleanup: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres(admin_url) | Backend::MySql(admin_url) => {
                let name = format!("modelreg_test_{}", uuid::Uuid::new_v4().simple());
                create_postgres_database(admin_url, &name).await;
                let mut url = url::Url::parse(admin_url).expect("a database URL");
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    cleanup: Some((admin_url.clone(), name)),
                    _dir: None,
                }
            }
        }
    }

    /// A database that is nothing and owns nothing, to move a real one out of a struct.
    pub(super) fn none() -> Self {
        Self {
            url: String::new(),
            cleanup: None,
            _dir: None,
        }
    }

    /// A direct connection, to look at rows the API never shows.
    pub async fn connect(&self) -> DatabaseConnection {
        Database::connect(self.url.as_str())
            .await
            .expect("connect to the test database")
    }

    /// How many migrations this database still lacks.
    pub async fn pending_migrations(&self) -> usize {
        use migration::MigratorTrait;
        let db = self.connect().await;
        let pending = migration::Migrator::get_pending_migrations(&db)
            .await
            .expect("read the applied migrations")
            .len();
        db.close().await.ok();
        pending
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let db = self.connect().await;
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .expect("count query")
            .expect("a row");
        let count = row.try_get_by_index::<i64>(0).expect("a count");
        db.close().await.ok();
        count
    }

    /// Drops the PostgreSQL database now, cutting off every connection to it.
    pub async fn drop_now(&self) {
        if let Some((admin_url, name)) = &self.cleanup {
            drop_postgres_database(admin_url, name).await;
        }
    }

    /// Creates the (dropped) PostgreSQL database again, empty.
    pub async fn create_again(&self) {
        let (admin_url, name) = self.cleanup.as_ref().expect("a PostgreSQL database");
        create_postgres_database(admin_url, name).await;
    }
}

async fn create_postgres_database(admin_url: &str, name: &str) {
    let admin = Database::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a test database");
    admin.close().await.ok();
}

/// Drops the database, cutting off every connection to it (MySQL has no `WITH (FORCE)`: its
/// connections are killed first).
async fn drop_postgres_database(admin_url: &str, name: &str) {
    let Ok(admin) = Database::connect(admin_url).await else {
        return;
    };
    if admin.get_database_backend() == sea_orm::DbBackend::MySql {
        let sessions = admin
            .query_all_raw(Statement::from_string(
                sea_orm::DbBackend::MySql,
                format!(
                    "SELECT ID FROM information_schema.PROCESSLIST \
                     WHERE DB = '{name}' AND ID <> CONNECTION_ID()"
                ),
            ))
            .await
            .unwrap_or_default();
        for session in sessions {
            if let Ok(id) = session.try_get_by_index::<u64>(0) {
                let _ = admin
                    .execute_unprepared(&format!("KILL CONNECTION {id}"))
                    .await;
            }
        }
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await;
    } else {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
    admin.close().await.ok();
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Runs on failure too; a thread of its own, because Drop cannot await.
        if let Some((admin_url, name)) = self.cleanup.take() {
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(drop_postgres_database(&admin_url, &name));
            })
            .join();
        }
    }
}
