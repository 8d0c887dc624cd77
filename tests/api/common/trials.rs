//! Tests as libtest-mimic trials. Each module lists its tests with the macros below and exposes
//! `trials()`; `main` runs them all with libtest's command line (filters, `--ignored`,
//! `--include-ignored`, `--test-threads`, `--list`).
//!
//! A variant that needs something this machine may lack (PostgreSQL, an S3 server, grpcurl) is
//! ignored when the variable that provides it is not set, so that the summary counts it as
//! ignored instead of passed. With `MODELREG_TEST_FORBID_SKIP` set it runs and fails, naming the
//! missing variable.

use std::future::Future;

use libtest_mimic::{Failed, Trial};

use super::backends::Backend;
use super::objects::Objects;

pub const POSTGRES_URL_VAR: &str = "MODELREG_TEST_POSTGRES_URL";
/// `s3://BUCKET` of an S3-protocol server, reached through the AWS_* variables; the bucket
/// is created when missing and every test works under a prefix of its own.
pub const S3_URL_VAR: &str = "MODELREG_TEST_S3_URL";
/// An administrative MySQL/MariaDB URL (`mysql://root@127.0.0.1:3306/mysql`): each test creates
/// and drops a database of its own.
pub const MYSQL_URL_VAR: &str = "MODELREG_TEST_MYSQL_URL";
/// The grpcurl binary (or 1 for `grpcurl` on PATH).
pub const GRPCURL_VAR: &str = "MODELREG_TEST_GRPCURL";
/// Set (to 1) when `curl` and `jq` are on PATH: the examples of the docs are run with them.
pub const CURL_VAR: &str = "MODELREG_TEST_CURL";
/// Set by `.ci/run`: a test that would be ignored fails instead.
pub const FORBID_SKIP_VAR: &str = "MODELREG_TEST_FORBID_SKIP";

/// Something outside this process that a test variant needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Postgres,
    MySql,
    S3,
    Grpcurl,
    Curl,
}

impl Needs {
    /// The variable that provides it.
    pub fn variable(self) -> &'static str {
        match self {
            Self::Postgres => POSTGRES_URL_VAR,
            Self::MySql => MYSQL_URL_VAR,
            Self::S3 => S3_URL_VAR,
            Self::Grpcurl => GRPCURL_VAR,
            Self::Curl => CURL_VAR,
        }
    }

    /// The variable's value, when it is set and not empty.
    pub fn value(self) -> Option<String> {
        std::env::var(self.variable())
            .ok()
            .filter(|v| !v.is_empty())
    }
}

fn skips_forbidden() -> bool {
    std::env::var_os(FORBID_SKIP_VAR).is_some()
}

/// `api::registration` → `registration`.
fn module_name(module_path: &str) -> &str {
    module_path
        .split_once("::")
        .map_or(module_path, |(_, rest)| rest)
}

/// `registration::sqlite::register_then_get`, or `cli::completions` without a variant.
pub fn name(module_path: &str, variant: Option<&str>, test: &str) -> String {
    match variant {
        Some(variant) => format!("{}::{variant}::{test}", module_name(module_path)),
        None => format!("{}::{test}", module_name(module_path)),
    }
}

/// A tokio runtime of its own for one test: multi-threaded with 2 workers, as
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` builds it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// One async test. It is ignored when something it `needs` is missing, unless skips are
/// forbidden; run anyway (`--include-ignored`, or skips forbidden), it fails naming the variable.
pub fn trial<Fut>(
    name: String,
    needs: &[Needs],
    test: impl FnOnce() -> Fut + Send + 'static,
) -> Trial
where
    Fut: Future<Output = ()>,
{
    let needs = needs.to_vec();
    let unmet = needs.iter().any(|need| need.value().is_none());
    Trial::test(name, move || {
        let missing: Vec<&str> = needs
            .iter()
            .filter(|need| need.value().is_none())
            .map(|need| need.variable())
            .collect();
        if !missing.is_empty() {
            let verb = if missing.len() == 1 { "is" } else { "are" };
            let mut message = format!("{} {verb} not set", missing.join(" and "));
            if skips_forbidden() {
                message.push_str(&format!(", and {FORBID_SKIP_VAR} forbids skipping"));
            }
            return Err(Failed::from(message));
        }
        runtime().block_on(test());
        Ok(())
    })
    .with_ignored_flag(unmet && !skips_forbidden())
}

/// One synchronous test with no needs.
pub fn sync_trial(name: String, test: fn()) -> Trial {
    Trial::test(name, move || {
        test();
        Ok(())
    })
}

/// The three variants of an `async fn(Backend)`: `sqlite`, `postgres` and `mysql`.
pub fn backend_variants<F, Fut>(module_path: &str, test: &str, run: F) -> Vec<Trial>
where
    F: FnOnce(Backend) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = ()>,
{
    vec![
        trial(name(module_path, Some("sqlite"), test), &[], move || {
            run(Backend::Sqlite)
        }),
        on_postgres(module_path, test, run),
        trial(
            name(module_path, Some("mysql"), test),
            &[Needs::MySql],
            move || run(Backend::mysql()),
        ),
    ]
}

/// The `postgres` variant alone, for what only PostgreSQL can show.
pub fn on_postgres<F, Fut>(module_path: &str, test: &str, run: F) -> Trial
where
    F: FnOnce(Backend) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    trial(
        name(module_path, Some("postgres"), test),
        &[Needs::Postgres],
        move || run(Backend::postgres()),
    )
}

/// The four variants of an `async fn(Backend, Objects)`: each database with each object store.
pub fn store_variants<F, Fut>(module_path: &str, test: &str, run: F) -> Vec<Trial>
where
    F: FnOnce(Backend, Objects) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = ()>,
{
    let variant = |variant: &str, needs: &[Needs]| {
        let needs_postgres = needs.contains(&Needs::Postgres);
        let needs_mysql = needs.contains(&Needs::MySql);
        let needs_s3 = needs.contains(&Needs::S3);
        trial(
            name(module_path, Some(variant), test),
            needs,
            move || async move {
                let backend = if needs_postgres {
                    Backend::postgres()
                } else if needs_mysql {
                    Backend::mysql()
                } else {
                    Backend::Sqlite
                };
                let objects = if needs_s3 {
                    Objects::s3().await
                } else {
                    Objects::File
                };
                run(backend, objects).await;
            },
        )
    };
    vec![
        variant("sqlite_file", &[]),
        variant("postgres_file", &[Needs::Postgres]),
        variant("sqlite_s3", &[Needs::S3]),
        variant("postgres_s3", &[Needs::Postgres, Needs::S3]),
        variant("mysql_file", &[Needs::MySql]),
        variant("mysql_s3", &[Needs::MySql, Needs::S3]),
    ]
}

/// The trials of the named `async fn(Backend)`s of the calling module, on both databases.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {{
        let mut trials: Vec<libtest_mimic::Trial> = Vec::new();
        $(
            trials.extend($crate::common::trials::backend_variants(
                module_path!(),
                stringify!($test),
                $test,
            ));
        )*
        trials
    }};
}
pub(crate) use on_every_backend;

/// The trials of the named `async fn(Backend, Objects)`s of the calling module, on both
/// databases and both object stores.
macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {{
        let mut trials: Vec<libtest_mimic::Trial> = Vec::new();
        $(
            trials.extend($crate::common::trials::store_variants(
                module_path!(),
                stringify!($test),
                $test,
            ));
        )*
        trials
    }};
}
pub(crate) use on_every_store;

/// The trials of the named `async fn()`s of the calling module, which need nothing.
macro_rules! plain_async {
    ($($test:ident),* $(,)?) => {
        vec![$(
            $crate::common::trials::trial(
                $crate::common::trials::name(module_path!(), None, stringify!($test)),
                &[],
                $test,
            ),
        )*]
    };
}
pub(crate) use plain_async;

/// The trials of the named plain `fn()`s of the calling module.
macro_rules! plain_sync {
    ($($test:ident),* $(,)?) => {
        vec![$(
            $crate::common::trials::sync_trial(
                $crate::common::trials::name(module_path!(), None, stringify!($test)),
                $test,
            ),
        )*]
    };
}
pub(crate) use plain_sync;
