//! Query budgets: how many SQL statements each RPC may issue, counted by the store's statement
//! log while the RPC runs. A change that loads children one parent at a time (N+1) fails here
//! with a count, long before anyone would notice it as latency.

use modelreg::pb;

use crate::common::{Backend, TestServer, model, on_every_backend};

on_every_backend!(
    list_models_costs_two_statements_whatever_the_page_size,
    get_costs_one_statement,
    register_inserts_all_environments_in_one_statement,
    artifact_reads_cost_two_statements,
);

/// The statements one call issued.
#[derive(Debug)]
struct Issued {
    count: u64,
    /// The SQL of the last 64 of them.
    sql: Vec<String>,
}

/// Runs `call` and returns what it issued.
async fn statements_of<T>(server: &TestServer, call: impl Future<Output = T>) -> (T, Issued) {
    // Nothing else runs against this test's server: the health check only pings the pool.
    server.store.statements().take_recent();
    let before = server.store.statements().count();
    let answer = call.await;
    let count = server.store.statements().count() - before;
    let sql = server.store.statements().take_recent();
    (answer, Issued { count, sql })
}

async fn seed(server: &TestServer, models: usize) {
    let registrations = (0..models).map(|i| server.register(model(&format!("m{i:05}"), "1", 3)));
    for registered in futures::future::join_all(registrations).await {
        registered.expect("register");
    }
}

async fn list_models_costs_two_statements_whatever_the_page_size(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server, 1001).await;
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
            statements.count, 2,
            "page size {page_size}: parents, then all their environments: {statements:#?}"
        );
    }
}

async fn get_costs_one_statement(backend: Backend) {
    let server = TestServer::start(backend).await;
    let id = server
        .register(model("qoe", "1", 3))
        .await
        .unwrap()
        .model_registration_id;
    let (read, statements) = statements_of(&server, server.get(&id)).await;
    assert_eq!(
        read.unwrap()
            .model_information
            .unwrap()
            .target_environment
            .len(),
        3
    );
    // The issue allows two; the parent and its environments come in one LEFT JOIN.
    assert_eq!(statements.count, 1, "{statements:#?}");

    // Without environments the join still finds the registration.
    let bare = server
        .register(model("bare", "1", 0))
        .await
        .unwrap()
        .model_registration_id;
    let (read, statements) = statements_of(&server, server.get(&bare)).await;
    let read = read.expect("a registration without environments is found");
    assert!(
        read.model_information
            .unwrap()
            .target_environment
            .is_empty()
    );
    assert_eq!(statements.count, 1, "{statements:#?}");
}

async fn register_inserts_all_environments_in_one_statement(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (registered, statements) =
        statements_of(&server, server.register(model("qoe", "1", 5))).await;
    registered.expect("register");
    let environment_inserts = statements
        .sql
        .iter()
        .filter(|sql| sql.starts_with(r#"INSERT INTO "target_environments""#))
        .count();
    assert_eq!(environment_inserts, 1, "{statements:#?}");
    assert_eq!(
        statements.count, 2,
        "the parent, then its children: {statements:#?}"
    );
}

async fn artifact_reads_cost_two_statements(backend: Backend) {
    let server = TestServer::start(backend).await;
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
        statements.count, 2,
        "the model, then its page: {statements:#?}"
    );
}
