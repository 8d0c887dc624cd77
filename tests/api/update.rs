//! UpdateModelRegistration (AIP-134 masks, AIP-154 etags) and DeleteModelRegistration.

use modelreg::pb;
use tonic::Code;

use crate::common::{
    Backend, TestServer, assert_error, environment, environments_of, model, on_every_backend,
    violated_fields,
};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        without_a_mask_populated_fields_apply_and_empty_lists_keep,
        a_masked_list_replaces_and_an_empty_one_clears,
        masked_leaves_change_alone,
        bad_masks_and_renames_change_nothing,
        the_result_of_an_update_is_validated,
        a_stale_etag_aborts_the_update,
        updates_of_unknown_or_malformed_ids_fail,
        concurrent_list_updates_never_mix_lists,
        of_concurrent_updates_with_one_etag_exactly_one_wins,
        concurrent_updates_of_different_fields_lose_none,
        delete_removes_the_environments_and_frees_the_name,
        delete_checks_existence_and_etag,
    )
}

/// A patch that names the registration and changes nothing else yet.
fn patch_of(registered: &pb::ModelRelatedInformation) -> pb::ModelRelatedInformation {
    pb::ModelRelatedInformation {
        model_registration_id: registered.model_registration_id.clone(),
        ..Default::default()
    }
}

fn with_environments(
    mut patch: pb::ModelRelatedInformation,
    platforms: &[&str],
) -> pb::ModelRelatedInformation {
    patch.model_information = Some(pb::ModelInformation {
        target_environment: platforms.iter().map(|p| environment(p)).collect(),
        ..Default::default()
    });
    patch
}

async fn without_a_mask_populated_fields_apply_and_empty_lists_keep(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 2)).await.unwrap();
    let mut patch = patch_of(&registered);
    patch.description = "retrained on more cells".into();
    patch.model_information = Some(pb::ModelInformation::default());

    let updated = server.update(patch, &[]).await.unwrap();

    assert_eq!(updated.description, "retrained on more cells");
    assert_eq!(
        environments_of(&updated),
        ["platform-0", "platform-1"],
        "empty list keeps"
    );
    assert_eq!(
        updated
            .model_information
            .as_ref()
            .unwrap()
            .input_data_type
            .len(),
        2
    );
    assert_eq!(updated.model_location, registered.model_location);
    assert_ne!(
        updated.etag, registered.etag,
        "every write changes the etag"
    );
    let seconds_and_nanos =
        |t: Option<prost_types::Timestamp>| t.map(|t| (t.seconds, t.nanos)).unwrap();
    assert!(seconds_and_nanos(updated.update_time) > seconds_and_nanos(registered.update_time));
    assert_eq!(updated.create_time, registered.create_time);
    assert_eq!(
        server.get(&registered.model_registration_id).await.unwrap(),
        updated
    );

    // A full resource read back from the server may be sent as is: output-only fields and an
    // unchanged model_id are accepted, and a given list replaces the stored one.
    let mut full = updated.clone();
    full.etag = String::new();
    full.model_information.as_mut().unwrap().target_environment = vec![environment("edge")];
    let replaced = server.update(full, &[]).await.unwrap();
    assert_eq!(environments_of(&replaced), ["edge"]);
    assert_eq!(
        server
            .environment_rows(&registered.model_registration_id)
            .await,
        1
    );
    server.stop().await;
}

async fn a_masked_list_replaces_and_an_empty_one_clears(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 2)).await.unwrap();
    let id = registered.model_registration_id.clone();
    let mask = ["model_information.target_environment"];

    let replaced = server
        .update(
            with_environments(patch_of(&registered), &["a", "b", "c"]),
            &mask,
        )
        .await
        .unwrap();
    assert_eq!(environments_of(&replaced), ["a", "b", "c"]);
    assert_eq!(server.environment_rows(&id).await, 3);

    let cleared = server
        .update(with_environments(patch_of(&registered), &[]), &mask)
        .await
        .unwrap();
    assert!(environments_of(&cleared).is_empty());
    assert_eq!(server.environment_rows(&id).await, 0, "no orphan rows");
    assert_eq!(
        cleared.description, registered.description,
        "unmasked fields stay"
    );
    assert_eq!(server.get(&id).await.unwrap(), cleared);
    server.stop().await;
}

async fn masked_leaves_change_alone(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 1)).await.unwrap();
    let mut patch = patch_of(&registered);
    patch.description = "not in the mask".into();
    patch.model_information = Some(pb::ModelInformation {
        metadata: Some(pb::Metadata {
            author: "bob".into(),
            owner: String::new(),
        }),
        output_data_type: vec!["throughput".into()],
        ..Default::default()
    });

    let updated = server
        .update(
            patch,
            &[
                "model_information.metadata.owner",
                "model_information.output_data_type",
                "model_location",
            ],
        )
        .await
        .unwrap();

    let information = updated.model_information.as_ref().unwrap();
    let metadata = information.metadata.as_ref().unwrap();
    assert_eq!(
        (metadata.author.as_str(), metadata.owner.as_str()),
        ("alice", "")
    );
    assert_eq!(information.output_data_type, ["throughput"]);
    assert_eq!(
        updated.model_location, "",
        "a masked empty location clears it"
    );
    assert_eq!(updated.description, registered.description);
    assert_eq!(environments_of(&updated), ["platform-0"]);
    server.stop().await;
}

async fn bad_masks_and_renames_change_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 1)).await.unwrap();
    let mut patch = patch_of(&registered);
    patch.description = "changed".into();
    patch.model_id = Some(pb::ModelId {
        model_name: "renamed".into(),
        model_version: "2".into(),
        artifact_version: String::new(),
    });

    let status = server
        .update(
            patch,
            &[
                "description",
                "create_time",
                "model_id.artifact_version",
                "metadata",
            ],
        )
        .await
        .unwrap_err();

    assert_eq!(
        violated_fields(&status),
        [
            "model_related_information.model_id.model_name",
            "model_related_information.model_id.model_version",
            "update_mask.paths[1]",
            "update_mask.paths[2]",
            "update_mask.paths[3]",
        ]
    );
    assert_eq!(
        server.get(&registered.model_registration_id).await.unwrap(),
        registered
    );
    server.stop().await;
}

async fn the_result_of_an_update_is_validated(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 1)).await.unwrap();
    let mut patch = with_environments(patch_of(&registered), &["ok", ""]);
    patch.model_location = "relative".into();

    let status = server
        .update(
            patch,
            &[
                "description",
                "model_location",
                "model_information.target_environment",
            ],
        )
        .await
        .unwrap_err();

    assert_eq!(
        violated_fields(&status),
        [
            "model_related_information.description",
            "model_related_information.model_location",
            "model_related_information.model_information.target_environment[1].platform_name",
        ]
    );
    assert_eq!(
        server.get(&registered.model_registration_id).await.unwrap(),
        registered
    );
    server.stop().await;
}

async fn a_stale_etag_aborts_the_update(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 1)).await.unwrap();
    let mut first = patch_of(&registered);
    first.description = "first".into();
    first.etag = registered.etag.clone();
    let updated = server
        .update(first.clone(), &[])
        .await
        .expect("the current etag matches");

    first.description = "second, from a stale read".into();
    let status = server.update(first, &[]).await.unwrap_err();

    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(
        server.get(&registered.model_registration_id).await.unwrap(),
        updated
    );
    server.stop().await;
}

async fn updates_of_unknown_or_malformed_ids_fail(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut patch = model("qoe", "1", 0);
    patch.model_registration_id = uuid::Uuid::new_v4().to_string();
    let status = server.update(patch.clone(), &[]).await.unwrap_err();
    assert_error(&status, Code::NotFound, "MODEL_REGISTRATION_NOT_FOUND");

    patch.model_registration_id = "42".into();
    let status = server.update(patch, &[]).await.unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["model_related_information.model_registration_id"]
    );
    server.stop().await;
}

async fn concurrent_list_updates_never_mix_lists(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 3)).await.unwrap();
    let writers = 12;
    let updates = (0..writers).map(|writer| {
        let server = &server;
        let platforms: Vec<String> = (0..3).map(|i| format!("writer-{writer}-env-{i}")).collect();
        let platforms: Vec<&str> = platforms.iter().map(String::as_str).collect();
        let patch = with_environments(patch_of(&registered), &platforms);
        async move {
            server
                .update(patch, &["model_information.target_environment"])
                .await
        }
    });

    let results = futures::future::join_all(updates).await;

    for result in &results {
        result.as_ref().expect("every update succeeds");
    }
    let stored = environments_of(&server.get(&registered.model_registration_id).await.unwrap());
    let writer = stored[0].split("-env-").next().unwrap().to_owned();
    let expected: Vec<String> = (0..3).map(|i| format!("{writer}-env-{i}")).collect();
    assert_eq!(
        stored, expected,
        "the stored list is exactly one writer's list"
    );
    assert_eq!(
        server
            .environment_rows(&registered.model_registration_id)
            .await,
        3
    );
    let etags: std::collections::HashSet<_> = results
        .iter()
        .map(|r| r.as_ref().unwrap().etag.clone())
        .collect();
    assert_eq!(etags.len(), writers, "each write produced its own etag");
    server.stop().await;
}

async fn of_concurrent_updates_with_one_etag_exactly_one_wins(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 1)).await.unwrap();
    let updates = (0..12).map(|writer| {
        let server = &server;
        let mut patch = patch_of(&registered);
        patch.etag = registered.etag.clone();
        patch.description = format!("writer {writer}");
        async move { server.update(patch, &[]).await }
    });

    let results = futures::future::join_all(updates).await;

    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let codes: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().map_or_else(|s| s.code(), |_| Code::Ok))
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "the etag admits exactly one writer: {codes:?}"
    );
    for status in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_error(status, Code::Aborted, "ETAG_MISMATCH");
    }
    assert_eq!(
        &server.get(&registered.model_registration_id).await.unwrap(),
        winners[0]
    );
    server.stop().await;
}

async fn concurrent_updates_of_different_fields_lose_none(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 1)).await.unwrap();
    type Change = fn(&mut pb::ModelRelatedInformation);
    let changes: [(&str, Change); 6] = [
        ("description", |p| p.description = "new description".into()),
        ("model_location", |p| {
            p.model_location = "https://models.example/qoe".into()
        }),
        ("model_information.metadata.author", |p| {
            p.model_information
                .get_or_insert_default()
                .metadata
                .get_or_insert_default()
                .author = "bob".into()
        }),
        ("model_information.metadata.owner", |p| {
            p.model_information
                .get_or_insert_default()
                .metadata
                .get_or_insert_default()
                .owner = "ops".into()
        }),
        ("model_information.input_data_type", |p| {
            p.model_information.get_or_insert_default().input_data_type = vec!["new-in".into()]
        }),
        ("model_information.output_data_type", |p| {
            p.model_information.get_or_insert_default().output_data_type = vec!["new-out".into()]
        }),
    ];
    let updates = changes.iter().map(|(path, change)| {
        let server = &server;
        let mut patch = patch_of(&registered);
        change(&mut patch);
        async move { server.update(patch, &[path]).await }
    });

    for result in futures::future::join_all(updates).await {
        result.expect("every update succeeds");
    }

    let stored = server.get(&registered.model_registration_id).await.unwrap();
    let information = stored.model_information.as_ref().unwrap();
    let metadata = information.metadata.as_ref().unwrap();
    assert_eq!(stored.description, "new description");
    assert_eq!(stored.model_location, "https://models.example/qoe");
    assert_eq!(
        (metadata.author.as_str(), metadata.owner.as_str()),
        ("bob", "ops")
    );
    assert_eq!(information.input_data_type, ["new-in"]);
    assert_eq!(information.output_data_type, ["new-out"]);
    server.stop().await;
}

async fn delete_removes_the_environments_and_frees_the_name(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 3)).await.unwrap();
    let kept = server.register(model("other", "1", 2)).await.unwrap();
    let id = registered.model_registration_id.clone();

    server.delete(&id, "").await.unwrap();

    assert_error(
        &server.get(&id).await.unwrap_err(),
        Code::NotFound,
        "MODEL_REGISTRATION_NOT_FOUND",
    );
    assert_eq!(
        server.environment_rows(&id).await,
        0,
        "the cascade left no child rows"
    );
    assert_eq!(
        server.environment_rows(&kept.model_registration_id).await,
        2
    );
    let again = server
        .register(model("qoe", "1", 1))
        .await
        .expect("the name and version are free");
    assert_ne!(again.model_registration_id, id);
    server.stop().await;
}

async fn delete_checks_existence_and_etag(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("qoe", "1", 1)).await.unwrap();
    let id = registered.model_registration_id.clone();

    let status = server
        .delete(&uuid::Uuid::new_v4().to_string(), "")
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "MODEL_REGISTRATION_NOT_FOUND");
    assert_eq!(
        violated_fields(&server.delete("nope", "").await.unwrap_err()),
        ["model_registration_id"]
    );

    let status = server.delete(&id, "stale").await.unwrap_err();
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(
        server.get(&id).await.unwrap(),
        registered,
        "a stale delete changes nothing"
    );

    server
        .delete(&id, &registered.etag)
        .await
        .expect("the current etag matches");
    let status = server.delete(&id, "").await.unwrap_err();
    assert_error(&status, Code::NotFound, "MODEL_REGISTRATION_NOT_FOUND");
    server.stop().await;
}
