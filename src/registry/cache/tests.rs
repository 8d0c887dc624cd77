//! The cache equals the database after any sequence of changes: every registration compared
//! field by field, found by id, by name and version and by each alias; deleted ones answered
//! as absent; and every page of discovery the same as the database's, with filters of every
//! kind and in every order.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;

use super::{CacheSettings, ReadCache};
use crate::domain::{
    Alias, ArtifactVersion, Caller, Change, DeclareSpec, EnvironmentDraft, ListQuery,
    ListQueryDraft, ModelName, ModelRef, ModelVersion, Patch, Registration, RegistrationId, Scope,
    UploadSpec,
};
use crate::registry::Registry;
use crate::registry::testing::{registry, spec};
use crate::tasks::CancellationToken;

#[derive(Clone, Debug)]
enum Op {
    Register {
        name: u8,
        version: u8,
        environments: u8,
        labels: u8,
    },
    Update {
        target: u8,
        change: u8,
    },
    SetAlias {
        name: u8,
        alias: u8,
        version: u8,
    },
    DeleteAlias {
        name: u8,
        alias: u8,
    },
    Delete {
        target: u8,
    },
    Declare {
        target: u8,
    },
    Upload {
        target: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2u8, 0..3u8, 0..4u8, 0..6u8).prop_map(|(name, version, environments, labels)| {
            Op::Register { name, version, environments, labels }
        }),
        3 => (any::<u8>(), 0..10u8).prop_map(|(target, change)| Op::Update { target, change }),
        3 => (0..2u8, 0..2u8, 0..3u8).prop_map(|(name, alias, version)| Op::SetAlias {
            name,
            alias,
            version
        }),
        1 => (0..2u8, 0..2u8).prop_map(|(name, alias)| Op::DeleteAlias { name, alias }),
        1 => any::<u8>().prop_map(|target| Op::Delete { target }),
        1 => any::<u8>().prop_map(|target| Op::Declare { target }),
        1 => any::<u8>().prop_map(|target| Op::Upload { target }),
    ]
}

fn environments(count: u8, salt: usize) -> Vec<EnvironmentDraft> {
    (0..count)
        .map(|n| EnvironmentDraft {
            platform_name: format!("platform-{n}-{salt}"),
            environment_type: "kserve".into(),
            dependency_list: format!("torch=={salt}"),
        })
        .collect()
}

fn change(kind: u8, salt: usize) -> Change {
    let text = format!("text {salt}");
    match kind {
        0 => Change::Description(text),
        1 => Change::ModelLocation(format!("s3://bucket/{salt}")),
        2 => Change::Author(text),
        3 => Change::Owner(text),
        4 => Change::InputDataType(vec![format!("in{salt}"), "pm".into()]),
        5 => Change::OutputDataType(vec![format!("out{salt}")]),
        6 => Change::TargetEnvironment(environments((salt % 4) as u8, salt)),
        7 => Change::Labels(
            (0..salt % 4)
                .map(|n| (format!("k{n}"), format!("v{salt}")))
                .collect(),
        ),
        8 => Change::Label("team".into(), Some(format!("t{salt}"))),
        _ => Change::Label("k0".into(), None),
    }
}

async fn apply(registry: &Registry, op: Op, salt: usize) {
    let caller = Caller::anonymous_admin();
    let all = database(registry).await;
    let target = |index: u8| all.get(index as usize % all.len().max(1)).cloned();
    let name = |n: u8| ModelName::stored(format!("model-{n}"));
    let version = |v: u8| ModelVersion::stored(format!("{v}"));
    let alias = |a: u8| Alias::stored(format!("alias-{a}"));
    // A change the registry refuses (a taken name, a missing model) is part of the history.
    let _ = match op {
        Op::Register {
            name: n,
            version: v,
            environments: e,
            labels: l,
        } => {
            let mut patch = Patch::default();
            patch
                .changes
                .push(Change::TargetEnvironment(environments(e, salt)));
            patch.changes.push(Change::Labels(
                (0..l).map(|k| (format!("k{k}"), format!("v{k}"))).collect(),
            ));
            let mut draft = patch.draft_from(&spec(name(n).as_str())).unwrap();
            draft.model_id.as_mut().unwrap().model_version = version(v).to_string();
            let spec = crate::domain::ModelSpec::parse(draft).unwrap();
            registry.register(&caller, spec, None).await.map(|_| ())
        }
        Op::Update {
            target: t,
            change: c,
        } => match target(t) {
            Some(current) => {
                let patch = Patch {
                    changes: vec![change(c, salt)],
                    ..Patch::default()
                };
                registry
                    .update(&caller, current.id, None, patch)
                    .await
                    .map(|_| ())
            }
            None => Ok(()),
        },
        Op::SetAlias {
            name: n,
            alias: a,
            version: v,
        } => registry
            .set_alias(&caller, name(n), alias(a), version(v))
            .await
            .map(|_| ()),
        Op::DeleteAlias { name: n, alias: a } => {
            registry.delete_alias(&caller, name(n), alias(a)).await
        }
        Op::Delete { target: t } => match target(t) {
            Some(current) => registry.delete(&caller, current.id, None).await,
            None => Ok(()),
        },
        Op::Declare { target: t } => match target(t) {
            Some(current) => {
                let spec = DeclareSpec {
                    model: ModelRef::Id(current.id),
                    artifact_version: ArtifactVersion::of_sequence(100 + salt as i64),
                };
                registry.declare_artifact(&caller, spec).await.map(|_| ())
            }
            None => Ok(()),
        },
        Op::Upload { target: t } => match target(t) {
            Some(current) => {
                let spec = UploadSpec {
                    model: ModelRef::Id(current.id),
                    sha256: None,
                    size_bytes: None,
                    filename: "weights".into(),
                    content_type: "application/octet-stream".into(),
                };
                let bytes = futures::stream::iter([Ok(Bytes::from_static(b"weights"))]);
                registry.upload(&caller, spec, bytes).await.map(|_| ())
            }
            None => Ok(()),
        },
    };
}

/// Every registration, as the database holds it now.
async fn database(registry: &Registry) -> Vec<Registration> {
    let (all, _) = registry
        .store
        .initial_state(None, None, &Scope::All)
        .await
        .unwrap();
    all
}

async fn assert_cache_equals_database(registry: &Registry, ever: &HashSet<RegistrationId>) {
    let (store, cache) = (&registry.store, &registry.cache);
    let all = database(registry).await;
    for held in &all {
        let by_id = cache.get(store, &ModelRef::Id(held.id)).await.unwrap();
        assert_eq!(by_id.as_ref(), Some(&Some(held.clone())), "by id");
        let named = ModelRef::NameVersion(held.spec.name.clone(), held.spec.version.clone());
        assert_eq!(cache.get(store, &named).await.unwrap(), by_id, "by name");
        for alias in &held.aliases {
            let aliased = ModelRef::NameAlias(held.spec.name.clone(), alias.clone());
            assert_eq!(cache.get(store, &aliased).await.unwrap(), by_id, "by alias");
        }
    }
    let present: HashSet<_> = all.iter().map(|held| held.id).collect();
    for gone in ever.difference(&present) {
        let answer = cache.get(store, &ModelRef::Id(*gone)).await.unwrap();
        assert_eq!(answer, Some(None), "a deleted registration is absent");
    }
    for name in 0..2 {
        for alias in 0..2 {
            let name = ModelName::stored(format!("model-{name}"));
            let aliased = ModelRef::NameAlias(name, Alias::stored(format!("alias-{alias}")));
            let expected = store.find(&aliased).await.unwrap();
            assert_eq!(cache.get(store, &aliased).await.unwrap(), Some(expected));
        }
    }
    assert_pages_equal(registry, "", "").await;
}

/// Filters of every kind and orders of every field, over what `apply` writes.
const FILTERED: &[(&str, &str)] = &[
    ("", "update_time desc"),
    ("", "create_time, model_id.model_name desc"),
    ("", "model_id.model_version desc, update_time"),
    ("model_id.model_name = \"model-1\"", ""),
    (
        "model_id.model_version >= \"1\" AND model_id.artifact_version != \"1.0.0\"",
        "",
    ),
    ("labels.k0 = \"v0\"", "update_time desc"),
    ("labels.k0 != \"v0\"", ""),
    ("labels.k1:*", ""),
    ("labels:k2 OR labels.team = \"t*\"", "create_time desc"),
    ("labels.k0 != \"*0\"", ""),
    (
        "labels.k3 = \"v*\" AND model_id.model_name < \"model-1\"",
        "",
    ),
    ("aliases:\"alias-0\"", ""),
    ("NOT aliases:\"alias-1\"", "model_id.model_version"),
    (
        "model_information.target_environment.platform_name = \"platform-0-*\"",
        "",
    ),
    (
        "model_information.target_environment.platform_name = \"platform-1-3\"",
        "",
    ),
    (
        "model_information.target_environment(platform_name = \"platform-1*\" AND NOT dependency_list = \"torch==3\")",
        "update_time",
    ),
    (
        "description = \"*text*\" OR model_information.metadata.author != \"text 1\"",
        "",
    ),
    ("model_information.metadata.owner = \"\"", ""),
    ("model_information.input_data_type:\"pm\"", ""),
    ("model_information.output_data_type:\"out3\"", ""),
    (
        "update_time > \"2000-01-01T00:00:00.0000005Z\" AND create_time <= \"2999-01-01T00:00:00Z\"",
        "",
    ),
    (
        "-model_id.model_name = \"model-0\"",
        "model_id.model_name desc",
    ),
];

/// Every page of `filter` in `order`, two at a time, from the cache and from the database.
async fn assert_pages_equal(registry: &Registry, filter: &str, order_by: &str) {
    let (store, cache) = (&registry.store, &registry.cache);
    let mut after = None;
    loop {
        let draft = ListQueryDraft {
            page_size: 2,
            filter,
            order_by,
            ..ListQueryDraft::default()
        };
        let query = ListQuery::parse(draft, after.clone()).unwrap();
        let from_cache = cache.page(store, &query, &Scope::All).await.unwrap();
        let from_database = store.list(query, &Scope::All).await.unwrap();
        let (page, sequence) = from_cache.expect("every page is the cache's");
        let items: Vec<Registration> = page
            .items
            .iter()
            .map(|held| Registration::clone(held))
            .collect();
        assert_eq!(items, from_database.0.items, "{filter} / {order_by}");
        assert_eq!(
            page.next, from_database.0.next,
            "where the next page of {filter} / {order_by} starts"
        );
        assert_eq!(sequence, from_database.1, "the sequence a page was read at");
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_cache_equals_the_database_after_any_changes(ops in prop::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let folder = tempfile::tempdir().unwrap();
            let registry = registry(folder.path()).await;
            let settings = CacheSettings {
                max_bytes: usize::MAX,
                max_wait: Duration::from_secs(5),
                feed_delay: Duration::ZERO,
            };
            let cache = ReadCache::new(&registry.store, settings);
            let registry = registry.with_read_cache(cache);
            let stop = CancellationToken::new();
            let feed = tokio::spawn(registry.feed().clone().run(
                registry.store.clone(),
                Duration::from_secs(1),
                stop.clone(),
            ));
            let mut ever = HashSet::new();
            for (salt, op) in ops.into_iter().enumerate() {
                apply(&registry, op, salt).await;
                ever.extend(database(&registry).await.iter().map(|held| held.id));
                assert_cache_equals_database(&registry, &ever).await;
            }
            for (filter, order_by) in FILTERED {
                assert_pages_equal(&registry, filter, order_by).await;
            }
            stop.cancel();
            feed.await.unwrap();
        });
    }
}
