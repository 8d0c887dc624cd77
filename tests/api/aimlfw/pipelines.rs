//! The training pipelines' calls (qoe_pipeline.py and its releases, qoe_pipeline_retrain.py,
//! model_storage_component.py): after writing the trained model to their own object store,
//! `POST …/updateArtifact/{name}/{version}/{artifactVersion}` with no body; the retraining
//! pipeline then discovers the model and reads `artifactVersion` and `modelLocation`. The
//! same capability over gRPC: DeclareArtifact.

use modelreg::RestProfile;
use modelreg::pb;
use reqwest::Method;
use tonic::Code;

use super::{agent_registration, discovery_path, server, update_artifact_path};
use crate::common::credentials::{consumers_toml, write_file};
use crate::common::{Backend, TestServer, assert_error, model, on_every_backend};
use crate::rest::{Answer, Rest, assert_problem, zip_form};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        update_artifact_after_register_then_retraining_reads_it,
        a_retried_update_artifact_changes_nothing,
        versions_never_go_backwards_and_must_be_versions,
        update_artifact_of_an_unregistered_model_is_404,
        a_reader_may_not_declare_an_artifact,
        declared_artifacts_are_listed_as_external_and_not_downloadable,
        uploads_after_a_declared_version_continue_after_it,
    )
}

/// The pipeline's exact request: a POST without a body or a content type.
async fn update_artifact(rest: &Rest, name: &str, version: &str, artifact: &str) -> Answer {
    rest.send(rest.request(Method::POST, &update_artifact_path(name, version, artifact)))
        .await
}

async fn update_artifact_after_register_then_retraining_reads_it(backend: Backend) {
    for profile in [RestProfile::Aimlfw, RestProfile::R1ap] {
        let server = server(backend.clone(), profile).await;
        let rest = Rest::of(&server);
        assert_eq!(
            rest.post(super::REGISTRATIONS, &agent_registration("qoe", "1"))
                .await
                .status,
            201
        );
        // qoe_pipeline_k_release.py: "as new artifact after training will always be 1.0.0".
        let answer = update_artifact(&rest, "qoe", "1", "1.0.0").await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let updated = answer.json();
        // The Go service's answer, under every profile.
        assert_eq!(updated["modelinfo"]["modelId"]["artifactVersion"], "1.0.0");
        assert_eq!(updated["modelinfo"]["modelLocation"], "");
        assert!(answer.header("etag").is_some());

        // qoe_pipeline_retrain.py reads discovery's [0]["modelLocation"] and artifactVersion.
        let found = rest.get(&discovery_path("qoe", "1")).await;
        assert_eq!(found.status, 200);
        let found = found.json();
        assert_eq!(found[0]["modelId"]["artifactVersion"], "1.0.0");
        match profile {
            RestProfile::Aimlfw => assert_eq!(found[0]["modelLocation"], ""),
            // The standard leaves an empty optional member out.
            RestProfile::R1ap => assert!(found[0].get("modelLocation").is_none()),
        }
        // The retraining pipeline's next version: minor + 1.
        let answer = update_artifact(&rest, "qoe", "1", "1.1.0").await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.json()["modelinfo"]["modelId"]["artifactVersion"],
            "1.1.0"
        );
    }
}

async fn a_retried_update_artifact_changes_nothing(backend: Backend) {
    let server = server(backend, RestProfile::Aimlfw).await;
    let rest = Rest::of(&server);
    rest.post(super::REGISTRATIONS, &agent_registration("qoe", "1"))
        .await;
    let first = update_artifact(&rest, "qoe", "1", "1.0.0").await;
    let again = update_artifact(&rest, "qoe", "1", "1.0.0").await;
    assert_eq!(again.status, 200);
    assert_eq!(first.header("etag"), again.header("etag"));
    assert_eq!(first.json(), again.json());
    let events = server
        .events
        .clone()
        .list_events(pb::ListEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    let stored = events
        .iter()
        .filter(|event| event.r#type == pb::EventType::ArtifactStored as i32)
        .count();
    assert_eq!(stored, 1, "one event for one declaration: {events:?}");
}

async fn versions_never_go_backwards_and_must_be_versions(backend: Backend) {
    let server = server(backend, RestProfile::R1ap).await;
    let rest = Rest::of(&server);
    rest.post(super::REGISTRATIONS, &agent_registration("qoe", "1"))
        .await;
    assert_eq!(
        update_artifact(&rest, "qoe", "1", "2.0.0").await.status,
        200
    );
    let problem = assert_problem(
        &update_artifact(&rest, "qoe", "1", "1.9.0").await,
        409,
        "ARTIFACT_VERSION_BACKWARDS",
    );
    assert_eq!(problem["metadata"]["current_artifact_version"], "2.0.0");
    assert!(problem["detail"].as_str().unwrap().contains("\"2.0.0\""));
    for bad in ["latest", "1.0", "1.0.0.0", "v2.0.0"] {
        let problem = assert_problem(
            &update_artifact(&rest, "qoe", "1", bad).await,
            400,
            "INVALID_ARGUMENT",
        );
        assert!(
            problem.to_string().contains("MAJOR.MINOR.PATCH"),
            "{problem}"
        );
    }
    // gRPC: the same rule, FAILED_PRECONDITION.
    let status = declare_over_grpc(&server, "qoe", "1", "1.0.0")
        .await
        .unwrap_err();
    assert_error(
        &status,
        Code::FailedPrecondition,
        "ARTIFACT_VERSION_BACKWARDS",
    );
}

/// DeclareArtifact of `name` `version` by name and version.
async fn declare_over_grpc(
    server: &TestServer,
    name: &str,
    version: &str,
    artifact_version: &str,
) -> Result<pb::DeclareArtifactResponse, tonic::Status> {
    let request = declare(name, version, artifact_version);
    let answer = server.artifacts.clone().declare_artifact(request).await?;
    Ok(answer.into_inner())
}

fn declare(name: &str, version: &str, artifact_version: &str) -> pb::DeclareArtifactRequest {
    pb::DeclareArtifactRequest {
        model_id: Some(pb::ModelId {
            model_name: name.into(),
            model_version: version.into(),
            artifact_version: String::new(),
        }),
        artifact_version: artifact_version.into(),
        ..Default::default()
    }
}

async fn update_artifact_of_an_unregistered_model_is_404(backend: Backend) {
    let server = server(backend, RestProfile::Aimlfw).await;
    let rest = Rest::of(&server);
    assert_problem(
        &update_artifact(&rest, "never-registered", "1", "1.0.0").await,
        404,
        "MODEL_NOT_FOUND",
    );
    let status = declare_over_grpc(&server, "never-registered", "1", "1.0.0")
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "MODEL_NOT_FOUND");
}

async fn a_reader_may_not_declare_an_artifact(backend: Backend) {
    let files = tempfile::tempdir().unwrap();
    let consumers = write_file(
        files.path(),
        "consumers.toml",
        &consumers_toml(&[
            ("pipeline", "writer-token", "writer"),
            ("dashboard", "reader-token", "reader"),
        ]),
    );
    let server = TestServer::start_with(backend, |config| {
        config.rest_profile = RestProfile::Aimlfw;
        config.auth.auth_tokens = Some(consumers);
    })
    .await;
    let writer = Rest::of(&server).with_token("writer-token");
    let reader = Rest::of(&server).with_token("reader-token");
    assert_eq!(
        writer
            .post(super::REGISTRATIONS, &agent_registration("qoe", "1"))
            .await
            .status,
        201
    );
    assert_problem(
        &update_artifact(&reader, "qoe", "1", "1.0.0").await,
        403,
        "ROLE_TOO_LOW",
    );
    assert_eq!(
        update_artifact(&writer, "qoe", "1", "1.0.0").await.status,
        200
    );
}

async fn declared_artifacts_are_listed_as_external_and_not_downloadable(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.register(model("qoe", "1", 1)).await.unwrap();
    let declared = declare_over_grpc(&server, "qoe", "1", "1.0.0")
        .await
        .unwrap();
    assert!(declared.recorded);
    assert_eq!(
        declared.model.unwrap().model_id.unwrap().artifact_version,
        "1.0.0"
    );
    let again = declare_over_grpc(&server, "qoe", "1", "1.0.0")
        .await
        .unwrap();
    assert!(!again.recorded);

    let listed = server
        .artifacts
        .clone()
        .list_artifacts(pb::ListArtifactsRequest {
            model_id: declare("qoe", "1", "").model_id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .artifacts;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].external);
    assert_eq!(listed[0].artifact_version, "1.0.0");
    assert_eq!(listed[0].size_bytes, 0);

    let Err(status) = server
        .artifacts
        .clone()
        .download_artifact(pb::DownloadArtifactRequest {
            model_id: declare("qoe", "1", "").model_id,
            ..Default::default()
        })
        .await
    else {
        panic!("a download of bytes held elsewhere");
    };
    assert_error(&status, Code::FailedPrecondition, "ARTIFACT_NOT_HELD");
    let rest = Rest::of(&server);
    assert_problem(
        &rest
            .get(&crate::rest::download_path("qoe", "1", "1.0.0"))
            .await,
        409,
        "ARTIFACT_NOT_HELD",
    );
}

async fn uploads_after_a_declared_version_continue_after_it(backend: Backend) {
    let server = server(backend, RestProfile::Aimlfw).await;
    let rest = Rest::of(&server);
    rest.post(super::REGISTRATIONS, &agent_registration("qoe", "1"))
        .await;
    assert_eq!(
        update_artifact(&rest, "qoe", "1", "3.0.0").await.status,
        200
    );
    let uploaded = rest
        .upload(
            "qoe",
            "1",
            zip_form("model.zip", b"PK\x03\x04 trained".to_vec()),
        )
        .await;
    assert_eq!(
        uploaded.status,
        200,
        "{}",
        String::from_utf8_lossy(&uploaded.body)
    );
    assert_eq!(uploaded.json()["artifact"]["artifactVersion"], "3.1.0");
    let found = rest.get(&discovery_path("qoe", "1")).await.json();
    assert_eq!(found[0]["modelId"]["artifactVersion"], "3.1.0");
}
