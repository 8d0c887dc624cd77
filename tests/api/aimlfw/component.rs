//! The Go service's component tests (component-testing/tests/test_component.py) under the
//! `aimlfw` profile, with the Go service's answers: `201 {"modelInfo": {"id": …}}`, a resource
//! with `id`, and a GET after a PUT equal to what was PUT. Except where the Go service was
//! wrong: an unknown id is 404 (not 500 "record not found"), deleting one is 404 (not 204),
//! and a PUT cannot move the artifact version to `""`: sending the current one keeps it, a
//! higher one is recorded as by `updateArtifact`, a lower one is 409. (The same tests under
//! the standard's profile are in `rest::compat`.)

use modelreg::RestProfile;
use reqwest::Method;
use serde_json::{Value, json};

use super::REGISTRATIONS;
use crate::common::{Backend, on_every_backend};
use crate::rest::{Rest, assert_problem};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        registration_and_retrieval_by_model_info_id,
        deletion_then_retrieval_is_404,
        unknown_ids_are_404_for_get_put_and_delete,
        a_get_after_a_put_is_what_was_put,
        a_put_moves_the_artifact_version_only_forward,
    )
}

/// The component tests' payload: data types as strings, no owner, no location.
fn payload(name: &str, version: &str) -> Value {
    json!({
        "modelId": {"modelName": name, "modelVersion": version},
        "description": "hello world2",
        "modelInformation": {
            "metadata": {"author": "someone"},
            "inputDataType": "pdcpBytesDl,pdcpBytesUl",
            "outputDataType": "c, d",
            "targetEnvironment": [
                {"platformName": "abc", "environmentType": "env", "dependencyList": "a,b,c"}
            ]
        }
    })
}

/// `submit_model_registration`: to `model-registrations/`, reading `modelInfo.id`.
async fn submit(rest: &Rest, name: &str, version: &str) -> String {
    let answer = rest
        .post(&format!("{REGISTRATIONS}/"), &payload(name, version))
        .await;
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()["modelInfo"]["id"]
        .as_str()
        .expect("modelInfo.id")
        .to_owned()
}

async fn registration_and_retrieval_by_model_info_id(backend: Backend) {
    let server = super::server(backend, RestProfile::Aimlfw).await;
    let rest = Rest::of(&server);
    let id = submit(&rest, "test-model", "10003").await;
    let answer = rest.get(&format!("{REGISTRATIONS}/{id}")).await;
    assert_eq!(answer.status, 200);
    let model = answer.json();
    assert_eq!(model["id"], id);
    // Member for member the Go service's resource.
    assert_eq!(
        model,
        json!({
            "id": id,
            "modelId": {"modelName": "test-model", "modelVersion": "10003", "artifactVersion": "0.0.0"},
            "description": "hello world2",
            "modelInformation": {
                "metadata": {"author": "someone", "owner": ""},
                "inputDataType": "pdcpBytesDl,pdcpBytesUl",
                "outputDataType": "c, d",
                "targetEnvironment": [
                    {"platformName": "abc", "environmentType": "env", "dependencyList": "a,b,c"}
                ]
            },
            "modelLocation": ""
        })
    );
    assert!(answer.header("etag").is_some());
}

async fn deletion_then_retrieval_is_404(backend: Backend) {
    let server = super::server(backend, RestProfile::Aimlfw).await;
    let rest = Rest::of(&server);
    let id = submit(&rest, "test-model-deletion", "10006").await;
    let path = format!("{REGISTRATIONS}/{id}");
    assert_eq!(rest.get(&path).await.json()["id"], id);
    assert_eq!(rest.delete(&path).await.status, 204);
    assert_problem(&rest.get(&path).await, 404, "MODEL_REGISTRATION_NOT_FOUND");
}

async fn unknown_ids_are_404_for_get_put_and_delete(backend: Backend) {
    let server = super::server(backend, RestProfile::Aimlfw).await;
    let rest = Rest::of(&server);
    let path = format!("{REGISTRATIONS}/invalid");
    assert_problem(&rest.get(&path).await, 404, "MODEL_REGISTRATION_NOT_FOUND");
    assert_problem(
        &rest.delete(&path).await,
        404,
        "MODEL_REGISTRATION_NOT_FOUND",
    );
    let put = rest
        .json(Method::PUT, &path, "application/json", &json!({}))
        .await;
    assert_problem(&put, 404, "MODEL_REGISTRATION_NOT_FOUND");
}

/// `test_registered_model_updation`, with the artifact version the client read (the Go
/// service let `''` overwrite it).
async fn a_get_after_a_put_is_what_was_put(backend: Backend) {
    let server = super::server(backend, RestProfile::Aimlfw).await;
    let rest = Rest::of(&server);
    let (name, version) = ("test-model-updataion", "10001");
    let id = submit(&rest, name, version).await;
    let path = format!("{REGISTRATIONS}/{id}");
    let read = rest.get(&path).await.json();
    let update = json!({
        "id": id,
        "modelId": {
            "modelName": name,
            "modelVersion": version,
            "artifactVersion": read["modelId"]["artifactVersion"],
        },
        "description": "new-hello world",
        "modelInformation": {
            "metadata": {"author": "new-someone", "owner": ""},
            "inputDataType": "new-pdcpBytesDl,pdcpBytesUl",
            "outputDataType": "new-c, d",
            "targetEnvironment": [
                {"platformName": "abc", "environmentType": "env", "dependencyList": "a,b,c"}
            ]
        },
        "modelLocation": ""
    });
    let answer = rest
        .json(Method::PUT, &path, "application/json", &update)
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.json()["modelinfo"], update);
    let after = rest.get(&path).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.json(), update);
}

async fn a_put_moves_the_artifact_version_only_forward(backend: Backend) {
    let server = super::server(backend, RestProfile::Aimlfw).await;
    let rest = Rest::of(&server);
    let id = submit(&rest, "qoe", "1").await;
    let path = format!("{REGISTRATIONS}/{id}");
    let put = |artifact_version: &str| {
        let mut body = payload("qoe", "1");
        body["modelId"]["artifactVersion"] = json!(artifact_version);
        body
    };
    // `''`, as the component test sends it: kept.
    let kept = rest
        .json(Method::PUT, &path, "application/json", &put(""))
        .await;
    assert_eq!(
        kept.json()["modelinfo"]["modelId"]["artifactVersion"],
        "0.0.0"
    );
    // Higher: recorded, as updateArtifact records it.
    let moved = rest
        .json(Method::PUT, &path, "application/json", &put("2.0.0"))
        .await;
    assert_eq!(
        moved.status,
        200,
        "{}",
        String::from_utf8_lossy(&moved.body)
    );
    assert_eq!(
        moved.json()["modelinfo"]["modelId"]["artifactVersion"],
        "2.0.0"
    );
    // Lower: refused before anything changes.
    let mut lower = put("1.0.0");
    lower["description"] = json!("never stored");
    let refused = rest
        .json(Method::PUT, &path, "application/json", &lower)
        .await;
    let problem = assert_problem(&refused, 409, "ARTIFACT_VERSION_BACKWARDS");
    assert_eq!(problem["metadata"]["current_artifact_version"], "2.0.0");
    let read = rest.get(&path).await.json();
    assert_eq!(read["modelId"]["artifactVersion"], "2.0.0");
    assert_eq!(read["description"], "hello world2");
}
