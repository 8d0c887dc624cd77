//! Labels: set at registration, shown on every read, replaced whole or one at a time by update
//! masks, checked against Kubernetes' rules, and carried by events.

use std::collections::BTreeMap;

use modelreg::pb;

use crate::common::watching::Watching;
use crate::common::{Backend, TestServer, model, violated_fields};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

pub(super) async fn labels_are_stored_shown_and_updated_by_mask(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut watch = Watching::everything(&server.events).await;
    let mut info = model("qoe", "1", 1);
    info.labels = labels(&[
        ("team", "ran"),
        ("app.kubernetes.io/name", "qoe"),
        ("empty", ""),
    ]);
    let registered = server.register(info.clone()).await.unwrap();
    assert_eq!(registered.labels, info.labels);
    let id = registered.model_registration_id.clone();
    assert_eq!(server.get(&id).await.unwrap().labels, info.labels);
    let listed = server.list(pb::ListModelsRequest::default()).await.unwrap();
    assert_eq!(listed.models[0].labels, info.labels);
    let event = watch.next_event().await;
    assert_eq!(event.model_related_information.unwrap().labels, info.labels);

    // One label set, one removed (absent from the request), the others kept.
    let change = pb::ModelRelatedInformation {
        model_registration_id: id.clone(),
        labels: labels(&[("stage", "canary")]),
        ..Default::default()
    };
    let updated = server
        .update(change, &["labels.stage", "labels.empty"])
        .await
        .unwrap();
    assert_eq!(
        updated.labels,
        labels(&[
            ("team", "ran"),
            ("app.kubernetes.io/name", "qoe"),
            ("stage", "canary")
        ])
    );
    let event = watch.next_event().await;
    assert_eq!(
        event.model_related_information.unwrap().labels,
        updated.labels
    );

    // The mask "labels" replaces all of them; without a mask, non-empty labels do too.
    let change = pb::ModelRelatedInformation {
        model_registration_id: id.clone(),
        labels: labels(&[("team", "sme")]),
        ..Default::default()
    };
    let replaced = server.update(change.clone(), &["labels"]).await.unwrap();
    assert_eq!(replaced.labels, labels(&[("team", "sme")]));
    let unmasked = pb::ModelRelatedInformation {
        labels: labels(&[("tier", "gold")]),
        ..change.clone()
    };
    let replaced = server.update(unmasked, &[]).await.unwrap();
    assert_eq!(replaced.labels, labels(&[("tier", "gold")]));
    let cleared = server
        .update(
            pb::ModelRelatedInformation {
                labels: BTreeMap::new(),
                ..change
            },
            &["labels"],
        )
        .await
        .unwrap();
    assert!(cleared.labels.is_empty());
    assert!(server.get(&id).await.unwrap().labels.is_empty());
    server.stop().await;
}

pub(super) async fn labels_follow_kubernetes_rules(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut info = model("qoe", "1", 1);
    info.labels = labels(&[("bad key", "x"), ("team", "not ok"), ("Example.com/x", "y")]);
    let status = server.register(info).await.unwrap_err();
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        [
            "model_related_information.labels",
            "model_related_information.labels",
            "model_related_information.labels[team]",
        ]
    );

    let mut info = model("qoe", "1", 1);
    info.labels = (0..65).map(|n| (format!("k{n}"), String::new())).collect();
    let status = server.register(info.clone()).await.unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["model_related_information.labels"]
    );
    info.labels.pop_last();
    let registered = server.register(info).await.expect("64 labels");
    assert_eq!(registered.labels.len(), 64);

    // A mask path of a key no label can have.
    let change = pb::ModelRelatedInformation {
        model_registration_id: registered.model_registration_id,
        ..Default::default()
    };
    let status = server.update(change, &["labels.a b"]).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["update_mask.paths[0]"]);
    server.stop().await;
}
