//! A PostgreSQL database of the benchmark's own: created from an administrative URL for one
//! run, dropped after it.

use sea_orm::{ConnectionTrait, Database};

pub struct BenchDatabase {
    /// The URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl BenchDatabase {
    pub async fn create(admin_url: &str) -> Self {
        let name = format!("modelreg_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the benchmark database");
        admin.close().await.ok();
        let mut url = url::Url::parse(admin_url).expect("a PostgreSQL URL");
        url.set_path(&name);
        Self {
            url: url.to_string(),
            admin_url: admin_url.to_owned(),
            name,
        }
    }

    pub async fn drop_database(self) {
        let admin = Database::connect(&self.admin_url).await.expect("connect");
        admin
            .execute_unprepared(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await
            .expect("drop the benchmark database");
        admin.close().await.ok();
    }
}
