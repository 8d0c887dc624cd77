//! Platform and label equality are answered by a search copy of the side tables in the
//! registration's row. These tests hold the copy to the side tables: after every kind of
//! write, with names that look like its own syntax, and as the migration fills it for
//! registrations that existed before it.

use std::collections::{BTreeMap, BTreeSet};

use migration::{Migrator, MigratorTrait};
use modelreg::pb;
use sea_orm::{ConnectionTrait, Statement};

use crate::common::{Backend, TestDatabase, TestServer, environment, model};

async fn names(server: &TestServer, filter: &str) -> Vec<String> {
    server
        .list(pb::ListModelsRequest {
            filter: filter.into(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|status| panic!("{filter}: {status:?}"))
        .models
        .into_iter()
        .map(|found| found.model_id.unwrap().model_name)
        .collect()
}

fn with(name: &str, platforms: &[&str], labels: &[(&str, &str)]) -> pb::ModelRelatedInformation {
    let mut info = model(name, "1", 0);
    let information = info.model_information.as_mut().unwrap();
    information.target_environment = platforms.iter().map(|p| environment(p)).collect();
    info.labels = labels
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    info
}

pub(super) async fn filters_follow_every_write_of_platforms_and_labels(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server
        .register(with("qoe", &["kserve"], &[("team", "ran")]))
        .await
        .unwrap();
    let id = registered.model_registration_id.clone();
    let platform =
        |name: &str| format!("model_information.target_environment.platform_name = \"{name}\"");
    assert_eq!(names(&server, &platform("kserve")).await, ["qoe"]);
    assert_eq!(names(&server, "labels.team = \"ran\"").await, ["qoe"]);

    // A change of other fields keeps the terms.
    let change = pb::ModelRelatedInformation {
        model_registration_id: id.clone(),
        description: "other".into(),
        ..Default::default()
    };
    server.update(change, &["description"]).await.unwrap();
    assert_eq!(names(&server, &platform("kserve")).await, ["qoe"]);
    assert_eq!(names(&server, "labels.team = \"ran\"").await, ["qoe"]);

    // New environments and labels replace the old ones' terms.
    let mut change = with("qoe", &["triton", "docker"], &[("team", "sme")]);
    change.model_registration_id = id.clone();
    change.model_id = None;
    server
        .update(change, &["model_information.target_environment", "labels"])
        .await
        .unwrap();
    assert!(names(&server, &platform("kserve")).await.is_empty());
    assert!(names(&server, "labels.team = \"ran\"").await.is_empty());
    assert_eq!(names(&server, &platform("docker")).await, ["qoe"]);
    assert_eq!(names(&server, "labels.team = \"sme\"").await, ["qoe"]);
    assert_eq!(names(&server, "labels.team != \"ran\"").await, ["qoe"]);
    assert!(names(&server, "labels.team != \"sme\"").await.is_empty());

    // One label removed by its mask.
    let change = pb::ModelRelatedInformation {
        model_registration_id: id,
        ..Default::default()
    };
    server.update(change, &["labels.team"]).await.unwrap();
    assert!(names(&server, "labels.team = \"sme\"").await.is_empty());
    assert_eq!(names(&server, "labels.team != \"sme\"").await, ["qoe"]);
}

pub(super) async fn platform_names_that_look_like_terms_are_data(backend: Backend) {
    let server = TestServer::start(backend).await;
    let posing = "x|label:team=a";
    for (name, platforms) in [
        ("posing", vec![posing]),
        ("percent", vec!["100%"]),
        ("escaped", vec!["100%25", "a%7Cb"]),
        ("labelled", vec!["kserve"]),
    ] {
        let labels: &[(&str, &str)] = if name == "labelled" {
            &[("team", "a")]
        } else {
            &[]
        };
        server
            .register(with(name, &platforms, labels))
            .await
            .unwrap();
    }
    let platform =
        |name: &str| format!("model_information.target_environment.platform_name = \"{name}\"");
    assert_eq!(names(&server, "labels.team = \"a\"").await, ["labelled"]);
    assert_eq!(names(&server, &platform(posing)).await, ["posing"]);
    assert_eq!(names(&server, &platform("x")).await, Vec::<String>::new());
    assert_eq!(names(&server, &platform("100%")).await, ["percent"]);
    assert_eq!(names(&server, &platform("100%25")).await, ["escaped"]);
    assert_eq!(names(&server, &platform("a|b")).await, Vec::<String>::new());
    assert_eq!(names(&server, &platform("a%7Cb")).await, ["escaped"]);
    let group = "model_information.target_environment(platform_name = \"100%\" AND environment_type = \"onnx\")";
    assert_eq!(names(&server, group).await, ["percent"]);
}

/// The terms of every registration, by name, as sets.
async fn stored_terms(database: &TestDatabase) -> BTreeMap<String, BTreeSet<String>> {
    let db = database.connect().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT model_name, search_terms FROM model_related_information",
        ))
        .await
        .unwrap();
    db.close().await.ok();
    rows.into_iter()
        .map(|row| {
            let name: String = row.try_get("", "model_name").unwrap();
            let terms: String = row.try_get("", "search_terms").unwrap();
            let set = terms
                .split('|')
                .filter(|term| !term.is_empty())
                .map(str::to_owned)
                .collect();
            (name, set)
        })
        .collect()
}

pub(super) async fn the_migration_fills_the_terms_as_the_server_writes_them(backend: Backend) {
    let server = TestServer::start(backend).await;
    for info in [
        with(
            "plain",
            &["kserve", "triton"],
            &[("team", "ran"), ("tier", "")],
        ),
        with(
            "odd",
            &["x|label:team=a", "100%", "kserve"],
            &[("a.b/c", "d_e")],
        ),
        with("bare", &[], &[]),
        with("twice", &["kserve", "kserve"], &[]),
    ] {
        server.register(info).await.unwrap();
    }
    let database = server.stop().await;
    let written = stored_terms(&database).await;
    assert_eq!(written["bare"], BTreeSet::new());
    assert_eq!(
        written["twice"],
        BTreeSet::from(["platform:kserve".to_owned()])
    );

    let db = database.connect().await;
    Migrator::down(&db, Some(1)).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db.close().await.ok();
    assert_eq!(stored_terms(&database).await, written);
}
