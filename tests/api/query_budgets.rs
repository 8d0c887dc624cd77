//! Query budgets: which SQL statements each RPC may issue, by kind and table, as the server's
//! statement observer sees them while the RPC runs. A change that loads children one parent at
//! a time (N+1) fails here with a count, long before anyone would notice it as latency.
//!
//! The database's budgets are measured with the read cache off (as every read the cache does
//! not answer costs); with it on, a `get` and a page cost the one check of the log's sequence.

use modelreg::{CacheMode, pb};

use crate::common::statements::{Issued, Kind, classify};
use crate::common::{Backend, TestServer, model, on_every_backend, plain_sync};

const MODELS: &str = "model_related_information";
const ENVIRONMENTS: &str = "target_environments";
/// The labels and aliases of a page come in one UNION ALL, whose first table is the labels'.
const LABELS: &str = "model_labels";
const ARTIFACTS: &str = "model_artifacts";
const EVENTS: &str = "model_events";
const EVENT_LOG: &str = "event_log";
const PENDING_EVENTS: &str = "pending_events";

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let mut trials = on_every_backend!(
        list_models_costs_four_statements_whatever_the_page_size,
        get_costs_one_statement,
        register_inserts_all_environments_and_all_labels_in_one_statement_each,
        artifact_reads_cost_two_statements,
        with_the_read_cache_get_and_a_page_cost_one_check_of_the_log,
    );
    trials.extend(plain_sync!(
        statements_are_classified_by_kind_and_main_table
    ));
    trials
}

/// The classification the budgets rest on, for statements of the shapes SeaORM sends on both
/// databases, and for what is no table's read or write.
fn statements_are_classified_by_kind_and_main_table() {
    let cases = [
        (
            r#"SELECT "m"."id" AS "A_id", "e"."id" AS "B_id" FROM "model_related_information" AS "m" LEFT JOIN "target_environments" AS "e" ON "m"."id" = "e"."model_related_information_id" WHERE "m"."id" = $1"#,
            Kind::Select,
            Some(MODELS),
        ),
        (
            r#"SELECT COUNT(*) FROM (SELECT 1 FROM "model_artifacts" WHERE "id" > ?) AS "sub""#,
            Kind::Select,
            Some(ARTIFACTS),
        ),
        (
            r#"INSERT INTO "target_environments" ("id", "position") VALUES ($1, $2), ($3, $4)"#,
            Kind::Insert,
            Some(ENVIRONMENTS),
        ),
        (
            r#"INSERT INTO "model_related_information" ("id") VALUES (?) ON CONFLICT ("request_id") DO NOTHING RETURNING "id""#,
            Kind::Insert,
            Some(MODELS),
        ),
        (
            r#"UPDATE "model_related_information" SET "etag" = $1 WHERE "id" = $2 AND "etag" = $3"#,
            Kind::Update,
            Some(MODELS),
        ),
        (
            r#"DELETE FROM "model_artifacts" WHERE "model_related_information_id" = ?"#,
            Kind::Delete,
            Some(ARTIFACTS),
        ),
        ("SELECT pg_advisory_xact_lock(7)", Kind::Select, None),
        ("BEGIN", Kind::Other, None),
        ("COMMIT", Kind::Other, None),
        ("not SQL at all", Kind::Other, None),
    ];
    for (sql, kind, table) in cases {
        let classified = classify(sql);
        assert_eq!(
            (classified.kind, classified.table.as_deref()),
            (kind, table),
            "{sql}"
        );
    }
}

/// Runs `call` and returns what it issued.
async fn statements_of<T>(server: &TestServer, call: impl Future<Output = T>) -> (T, Issued) {
    // Nothing else runs against this test's server: the health check only pings the pool.
    server.statements.take();
    let answer = call.await;
    (answer, server.statements.take())
}

/// A server whose every read goes to the database.
async fn uncached(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |config| {
        config.cache.read_cache = CacheMode::Off;
    })
    .await
}

async fn seed(server: &TestServer, models: usize) {
    let registrations = (0..models).map(|i| server.register(model(&format!("m{i:05}"), "1", 3)));
    for registered in futures::future::join_all(registrations).await {
        registered.expect("register");
    }
}

async fn list_models_costs_four_statements_whatever_the_page_size(backend: Backend) {
    let server = uncached(backend).await;
    seed(&server, 1001).await;
    // Where events are numbered after commit, a snapshot that finds some still unnumbered
    // numbers them first; once that is done, no list ever does it again here.
    server
        .list(pb::ListModelsRequest::default())
        .await
        .expect("list");
    for page_size in [1, 100, 1000] {
        let request = pb::ListModelsRequest {
            page_size,
            ..Default::default()
        };
        let (page, statements) = statements_of(&server, server.list(request)).await;
        let page = page.expect("list");
        assert_eq!(page.models.len(), page_size as usize);
        assert!(page.models.iter().all(|m| {
            m.model_information
                .as_ref()
                .unwrap()
                .target_environment
                .len()
                == 3
        }));
        assert_eq!(
            statements.total(),
            4,
            "page size {page_size}: the log's sequence, the parents, then all their environments, then all their labels and aliases: {statements:#?}"
        );
        statements.assert_counts(
            &[
                (Kind::Select, EVENT_LOG, 1),
                (Kind::Select, MODELS, 1),
                (Kind::Select, ENVIRONMENTS, 1),
                (Kind::Select, LABELS, 1),
            ],
            &format!("page size {page_size}"),
        );
    }
}

async fn get_costs_one_statement(backend: Backend) {
    let server = uncached(backend).await;
    let mut labelled = model("qoe", "1", 3);
    labelled.labels = (0..5).map(|n| (format!("k{n}"), format!("v{n}"))).collect();
    let id = server
        .register(labelled)
        .await
        .unwrap()
        .model_registration_id;
    server
        .registration
        .clone()
        .set_model_alias(pb::SetModelAliasRequest {
            model_name: "qoe".into(),
            alias: "production".into(),
            model_version: "1".into(),
        })
        .await
        .unwrap();
    let by = |version_or_alias| pb::GetModelRegistrationRequest {
        model_registration_id: String::new(),
        model: Some(pb::ModelSelector {
            model_name: "qoe".into(),
            version_or_alias: Some(version_or_alias),
        }),
    };
    let requests = [
        (
            "by id",
            pb::GetModelRegistrationRequest {
                model_registration_id: id.clone(),
                model: None,
            },
        ),
        (
            "by name and version",
            by(pb::model_selector::VersionOrAlias::ModelVersion("1".into())),
        ),
        (
            "by alias",
            by(pb::model_selector::VersionOrAlias::Alias(
                "production".into(),
            )),
        ),
    ];
    for (named, request) in requests {
        let mut client = server.registration.clone();
        let (read, statements) =
            statements_of(&server, client.get_model_registration(request)).await;
        let read = read.expect(named).into_inner();
        // The parent with each kind of child in one UNION ALL.
        assert_eq!(statements.total(), 1, "{named}: {statements:#?}");
        statements.assert_counts(&[(Kind::Select, MODELS, 1)], named);
        assert_eq!(read.model_registration_id, id, "{named}");
        let environments = read.model_information.unwrap().target_environment;
        assert_eq!(environments.len(), 3, "{named}");
        assert_eq!(read.labels.len(), 5, "{named}");
        assert_eq!(read.aliases, ["production"], "{named}");
    }

    // Without any children the registration is still found.
    let bare = server
        .register(model("bare", "1", 0))
        .await
        .unwrap()
        .model_registration_id;
    let (read, statements) = statements_of(&server, server.get(&bare)).await;
    let read = read.expect("a registration without children is found");
    assert!(
        read.model_information
            .unwrap()
            .target_environment
            .is_empty()
    );
    assert_eq!(statements.total(), 1, "{statements:#?}");
    let (missing, statements) =
        statements_of(&server, server.get("00000000-0000-7000-8000-000000000000")).await;
    assert_eq!(missing.unwrap_err().code(), tonic::Code::NotFound);
    assert_eq!(statements.total(), 1, "{statements:#?}");
}

async fn register_inserts_all_environments_and_all_labels_in_one_statement_each(backend: Backend) {
    let server = uncached(backend.clone()).await;
    let mut labelled = model("qoe", "1", 5);
    labelled.labels = (0..5).map(|n| (format!("k{n}"), format!("v{n}"))).collect();
    let (registered, statements) = statements_of(&server, server.register(labelled)).await;
    registered.expect("register");
    if let Backend::Postgres(_) = backend {
        // One statement, its own transaction: the inserts of one WITH, the append lock taken
        // first and held to the commit; the sequencer numbers the event on a connection of its
        // own.
        assert_eq!(statements.total(), 1, "{statements:#?}");
        let sql = &statements.0[0].sql;
        assert!(sql.starts_with("WITH"), "{sql}");
        assert!(sql.contains("pg_advisory_xact_lock_shared"), "{sql}");
        for table in [MODELS, ENVIRONMENTS, LABELS, PENDING_EVENTS] {
            let inserts = sql.matches(&format!("INSERT INTO \"{table}\"")).count();
            assert_eq!(inserts, 1, "{table} in {sql}");
        }
        return;
    }
    // The writer numbers its event from the counter.
    statements.assert_counts(
        &[
            (Kind::Insert, MODELS, 1),
            (Kind::Insert, ENVIRONMENTS, 1),
            (Kind::Insert, LABELS, 1),
            (Kind::Update, EVENT_LOG, 1),
            (Kind::Insert, EVENTS, 1),
        ],
        "register with 5 environments and 5 labels",
    );
    assert_eq!(
        statements.total(),
        5,
        "the parent, its environments, its labels and the event's two statements: {statements:#?}"
    );
}

async fn artifact_reads_cost_two_statements(backend: Backend) {
    let server = uncached(backend).await;
    let id = server
        .register(model("qoe", "1", 1))
        .await
        .unwrap()
        .model_registration_id;
    let mut artifacts = server.artifacts.clone();
    let list = pb::ListArtifactsRequest {
        model_registration_id: id,
        ..Default::default()
    };
    let (listed, statements) = statements_of(&server, artifacts.list_artifacts(list)).await;
    listed.expect("list artifacts");
    assert_eq!(
        statements.total(),
        2,
        "the model, then its page: {statements:#?}"
    );
    statements.assert_counts(
        &[(Kind::Select, MODELS, 1), (Kind::Select, ARTIFACTS, 1)],
        "list artifacts",
    );
}

async fn with_the_read_cache_get_and_a_page_cost_one_check_of_the_log(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server, 200).await;
    let id = server
        .register(model("qoe", "1", 3))
        .await
        .unwrap()
        .model_registration_id;
    // The cache fills in the background after the start: until then reads go to the
    // database (and register, seed and fill may overlap).
    let filled = std::time::Instant::now();
    loop {
        let (read, statements) = statements_of(&server, server.get(&id)).await;
        read.expect("get");
        if statements
            .0
            .iter()
            .all(|s| s.table.as_deref() != Some(MODELS))
        {
            break;
        }
        assert!(
            filled.elapsed() < std::time::Duration::from_secs(10),
            "the cache never filled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (read, statements) = statements_of(&server, server.get(&id)).await;
    assert_eq!(
        read.unwrap()
            .model_information
            .unwrap()
            .target_environment
            .len(),
        3
    );
    let request = pb::ListModelsRequest {
        page_size: 100,
        ..Default::default()
    };
    let (page, page_statements) = statements_of(&server, server.list(request)).await;
    assert_eq!(page.expect("list").models.len(), 100);
    for (what, statements) in [("get", statements), ("a page of 100", page_statements)] {
        // The feed reads the log at its poll interval: its read may fall into the call.
        let of_the_call = Issued(
            statements
                .0
                .into_iter()
                .filter(|statement| statement.table.as_deref() != Some(EVENTS))
                .collect(),
        );
        assert_eq!(of_the_call.total(), 1, "{what}: {of_the_call:#?}");
        of_the_call.assert_counts(&[(Kind::Select, EVENT_LOG, 1)], what);
    }
}
