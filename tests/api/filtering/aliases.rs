//! Aliases: a mutable name for one version of a model name. Set, moved and deleted with their
//! events; reads and downloads by alias; gone with the registration they name.

use modelreg::pb::{self, model_selector::VersionOrAlias};

use crate::artifacts::{download, upload};
use crate::common::watching::{Watching, event_type};
use crate::common::{Backend, TestServer, assert_error, model};

fn set(name: &str, alias: &str, version: &str) -> pb::SetModelAliasRequest {
    pb::SetModelAliasRequest {
        model_name: name.into(),
        alias: alias.into(),
        model_version: version.into(),
    }
}

fn by_alias(name: &str, alias: &str) -> Option<pb::ModelSelector> {
    Some(pb::ModelSelector {
        model_name: name.into(),
        version_or_alias: Some(VersionOrAlias::Alias(alias.into())),
    })
}

async fn get_by(
    server: &TestServer,
    model: Option<pb::ModelSelector>,
) -> Result<pb::ModelRelatedInformation, tonic::Status> {
    server
        .registration
        .clone()
        .get_model_registration(pb::GetModelRegistrationRequest {
            model_registration_id: String::new(),
            model,
        })
        .await
        .map(tonic::Response::into_inner)
}

pub(super) async fn an_alias_moves_between_versions_with_its_events(backend: Backend) {
    let server = TestServer::start(backend).await;
    let one = server.register(model("qoe", "1", 1)).await.unwrap();
    let two = server.register(model("qoe", "2", 1)).await.unwrap();
    let mut watch = Watching::everything(&server.events).await;
    let mut client = server.registration.clone();

    let named = client
        .set_model_alias(set("qoe", "production", "1"))
        .await
        .unwrap();
    let named = named.into_inner();
    assert_eq!(named.model_registration_id, one.model_registration_id);
    assert_eq!(named.aliases, ["production"]);
    assert_eq!(named.etag, one.etag, "aliases are not part of the etag");
    let event = watch.next_event().await;
    assert_eq!(event_type(&event), pb::EventType::AliasSet);
    assert_eq!(event.alias, "production");
    assert_eq!(event.model_registration_id, one.model_registration_id);
    assert!(event.previous_model_registration_id.is_empty());

    // Read by alias and by version.
    let found = get_by(&server, by_alias("qoe", "production"))
        .await
        .unwrap();
    assert_eq!(found.model_registration_id, one.model_registration_id);
    let by_version = Some(pb::ModelSelector {
        model_name: "qoe".into(),
        version_or_alias: Some(VersionOrAlias::ModelVersion("2".into())),
    });
    let found = get_by(&server, by_version).await.unwrap();
    assert_eq!(found.model_registration_id, two.model_registration_id);

    // Setting it where it is changes nothing and records nothing.
    client
        .set_model_alias(set("qoe", "production", "1"))
        .await
        .unwrap();
    // Moving it records the previous target.
    let moved = client
        .set_model_alias(set("qoe", "production", "2"))
        .await
        .unwrap();
    assert_eq!(moved.into_inner().aliases, ["production"]);
    let event = watch.next_event().await;
    assert_eq!(event_type(&event), pb::EventType::AliasSet);
    assert_eq!(event.model_registration_id, two.model_registration_id);
    assert_eq!(
        event.previous_model_registration_id,
        one.model_registration_id
    );
    assert_eq!(event.previous_model_version, "1");
    assert!(
        server
            .get(&one.model_registration_id)
            .await
            .unwrap()
            .aliases
            .is_empty()
    );
    let found = get_by(&server, by_alias("qoe", "production"))
        .await
        .unwrap();
    assert_eq!(found.model_registration_id, two.model_registration_id);

    // Another name may use the same alias; aliases list in order.
    server.register(model("traffic", "1", 1)).await.unwrap();
    client
        .set_model_alias(set("traffic", "production", "1"))
        .await
        .unwrap();
    client
        .set_model_alias(set("qoe", "canary", "2"))
        .await
        .unwrap();
    let two_now = server.get(&two.model_registration_id).await.unwrap();
    assert_eq!(two_now.aliases, ["canary", "production"]);
    // The registration of traffic and the two alias sets.
    let _ = watch.events(3).await;

    // Deleting it records the registration it named.
    client
        .delete_model_alias(pb::DeleteModelAliasRequest {
            model_name: "qoe".into(),
            alias: "canary".into(),
        })
        .await
        .unwrap();
    let event = watch.next_event().await;
    assert_eq!(event_type(&event), pb::EventType::AliasDeleted);
    assert_eq!(event.alias, "canary");
    assert_eq!(event.model_registration_id, two.model_registration_id);
    let missing = get_by(&server, by_alias("qoe", "canary"))
        .await
        .unwrap_err();
    assert_error(&missing, tonic::Code::NotFound, "ALIAS_NOT_FOUND");
    let again = client
        .delete_model_alias(pb::DeleteModelAliasRequest {
            model_name: "qoe".into(),
            alias: "canary".into(),
        })
        .await
        .unwrap_err();
    assert_error(&again, tonic::Code::NotFound, "ALIAS_NOT_FOUND");

    // Deleting the registration removes its aliases, each with an event before the
    // deregistration's.
    server.delete(&two.model_registration_id, "").await.unwrap();
    let events = watch.events(2).await;
    assert_eq!(event_type(&events[0]), pb::EventType::AliasDeleted);
    assert_eq!(events[0].alias, "production");
    assert_eq!(event_type(&events[1]), pb::EventType::ModelDeregistered);
    let gone = get_by(&server, by_alias("qoe", "production"))
        .await
        .unwrap_err();
    assert_error(&gone, tonic::Code::NotFound, "ALIAS_NOT_FOUND");
    // The name and alias are free again.
    client
        .set_model_alias(set("qoe", "production", "1"))
        .await
        .unwrap();
    server.stop().await;
}

pub(super) async fn aliases_name_downloads_and_bad_ones_are_rejected(backend: Backend) {
    let server = TestServer::start(backend).await;
    let one = server.register(model("qoe", "1", 1)).await.unwrap();
    upload(&server, &one.model_registration_id, b"weights").await;
    let mut client = server.registration.clone();
    client
        .set_model_alias(set("qoe", "champion", "1"))
        .await
        .unwrap();
    let request = pb::DownloadArtifactRequest {
        model: by_alias("qoe", "champion"),
        ..Default::default()
    };
    let (info, bytes, _) = download(&server, request).await.unwrap();
    assert_eq!(bytes, b"weights");
    assert_eq!(info.model_registration_id, one.model_registration_id);

    let unknown_version = client
        .set_model_alias(set("qoe", "champion", "9"))
        .await
        .unwrap_err();
    assert_error(&unknown_version, tonic::Code::NotFound, "MODEL_NOT_FOUND");
    let bad = client
        .set_model_alias(set("qoe", "-x y", "1"))
        .await
        .unwrap_err();
    assert_eq!(crate::common::violated_fields(&bad), ["alias"]);
    // Two ways of naming one model at once.
    let both = server
        .registration
        .clone()
        .get_model_registration(pb::GetModelRegistrationRequest {
            model_registration_id: one.model_registration_id.clone(),
            model: by_alias("qoe", "champion"),
        })
        .await
        .unwrap_err();
    assert_eq!(crate::common::violated_fields(&both), ["model"]);
    server.stop().await;
}

pub(super) async fn concurrent_sets_of_one_new_alias_all_succeed(backend: Backend) {
    let server = TestServer::start(backend).await;
    for version in 0..8 {
        server
            .register(model("qoe", &version.to_string(), 1))
            .await
            .unwrap();
    }
    let mut watch = Watching::everything(&server.events).await;
    let calls = (0..8).map(|version| {
        let mut client = server.registration.clone();
        async move {
            client
                .set_model_alias(set("qoe", "production", &version.to_string()))
                .await
        }
    });
    for outcome in futures::future::join_all(calls).await {
        outcome.expect("every set succeeds: the alias ends where the last one put it");
    }
    // One event per move, each from the target before it.
    let events = watch.events(8).await;
    let mut previous = String::new();
    for event in &events {
        assert_eq!(event_type(event), pb::EventType::AliasSet);
        assert_eq!(event.previous_model_registration_id, previous);
        previous = event.model_registration_id.clone();
    }
    let current = get_by(&server, by_alias("qoe", "production"))
        .await
        .unwrap();
    assert_eq!(current.model_registration_id, previous);
    server.stop().await;
}
