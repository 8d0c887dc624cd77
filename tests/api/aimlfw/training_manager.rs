//! The training manager (aiml-fw-awmf-tm 282df1c): `MmeMgr.get_modelInfo_by_modelId` asks
//! discovery for a name and version (trailing slash, the version as an integer), takes 404 as
//! "not registered" and otherwise indexes `[0]`, reading `modelId.artifactVersion`,
//! `modelLocation` and `modelInformation.inputDataType` (compared, as a string, with its
//! feature groups' stored strings). Its agent's `register_model` checks only the status.

use modelreg::RestProfile;
use serde_json::json;

use super::{REGISTRATIONS, agent_registration, discovery_path};
use crate::common::process::Serve;
use crate::common::prometheus::{free_address, sample, scrape};
use crate::common::{Backend, TestDatabase, on_every_backend};
use crate::rest::{Rest, assert_problem};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        an_unregistered_name_and_version_is_404_under_aimlfw_and_empty_under_r1ap,
        the_fields_the_training_manager_reads_are_there_under_both_profiles,
        unknown_members_are_ignored_and_counted_under_aimlfw_and_refused_under_r1ap,
    )
}

async fn an_unregistered_name_and_version_is_404_under_aimlfw_and_empty_under_r1ap(
    backend: Backend,
) {
    let server = super::server(backend.clone(), RestProfile::Aimlfw).await;
    let rest = Rest::of(&server);
    let problem = assert_problem(
        &rest.get(&discovery_path("qoe", "1")).await,
        404,
        "MODEL_NOT_FOUND",
    );
    assert_eq!(problem["metadata"]["model_name"], "qoe");
    // A name alone, or nothing, is a list that may be empty, as the Go service answered.
    let by_name = rest
        .get("/ai-ml-model-discovery/v1/models/?model-name=qoe")
        .await;
    assert_eq!((by_name.status, by_name.json()), (200, json!([])));
    // Registered: found.
    rest.post(REGISTRATIONS, &agent_registration("qoe", "1"))
        .await;
    assert_eq!(rest.get(&discovery_path("qoe", "1")).await.status, 200);

    let server = super::server(backend, RestProfile::R1ap).await;
    let answer = Rest::of(&server).get(&discovery_path("qoe", "1")).await;
    assert_eq!((answer.status, answer.json()), (200, json!([])));
}

async fn the_fields_the_training_manager_reads_are_there_under_both_profiles(backend: Backend) {
    for profile in [RestProfile::Aimlfw, RestProfile::R1ap] {
        let server = super::server(backend.clone(), profile).await;
        let rest = Rest::of(&server);
        // The agent checks only the status.
        let registered = rest
            .post(REGISTRATIONS, &agent_registration("qoe", "1"))
            .await;
        assert_eq!(registered.status, 201, "{profile:?}");
        let found = rest.get(&discovery_path("qoe", "1")).await;
        assert_eq!(found.status, 200);
        let model = &found.json()[0];
        assert_eq!(model["modelId"]["artifactVersion"], "0.0.0");
        match profile {
            RestProfile::Aimlfw => {
                // trainingmgr_main.py: `if d["modelLocation"] == ""`.
                assert_eq!(model["modelLocation"], "");
                // Compared byte for byte with the feature groups' strings.
                assert_eq!(
                    model["modelInformation"]["inputDataType"],
                    "pdcpBytesDl,pdcpBytesUl"
                );
                assert_eq!(model["modelInformation"]["outputDataType"], "c, d");
                assert_eq!(model["modelInformation"]["metadata"]["owner"], "");
            }
            RestProfile::R1ap => {
                assert!(model.get("modelLocation").is_none());
                assert_eq!(
                    model["modelInformation"]["inputDataType"],
                    json!(["pdcpBytesDl", "pdcpBytesUl"])
                );
                assert_eq!(
                    model["modelInformation"]["outputDataType"],
                    json!(["c", "d"])
                );
            }
        }
    }
}

async fn unknown_members_are_ignored_and_counted_under_aimlfw_and_refused_under_r1ap(
    backend: Backend,
) {
    let mut registration = agent_registration("qoe", "1");
    registration["modelInformation"]["metadata"]["algorithm"] = json!("lstm");
    registration["feature"] = json!("pdcpBytesDl");

    // A process of its own: the metrics recorder is process-wide.
    let database = TestDatabase::create(&backend).await;
    let artifacts = tempfile::tempdir().unwrap();
    let metrics = free_address();
    let server = Serve::new()
        .args(["--rest-profile", "aimlfw", "--database-url", &database.url])
        .args(["--metrics-listen", &metrics.to_string()])
        .args([
            "--artifact-store",
            url::Url::from_directory_path(artifacts.path())
                .unwrap()
                .as_str(),
        ])
        .start()
        .await;
    let answer = Rest::with_url(&server.url())
        .post(REGISTRATIONS, &registration)
        .await;
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let model = &answer.json()["modelInfo"];
    assert!(
        model["modelInformation"]["metadata"]
            .get("algorithm")
            .is_none()
    );
    let scraped = scrape(metrics).await;
    assert_eq!(
        sample(
            &scraped,
            "modelreg_rest_ignored_members_total",
            Some(("route", "register"))
        ),
        2.0
    );

    let server = super::server(backend, RestProfile::R1ap).await;
    let problem = assert_problem(
        &Rest::of(&server).post(REGISTRATIONS, &registration).await,
        400,
        "INVALID_ARGUMENT",
    );
    let mut params: Vec<&str> = problem["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|param| param["param"].as_str().unwrap())
        .collect();
    params.sort();
    assert_eq!(params, ["feature", "modelInformation.metadata.algorithm"]);
}
