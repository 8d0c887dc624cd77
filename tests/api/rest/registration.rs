//! R1AP §10.1 over REST: status codes, headers, problem documents and JSON, checked against
//! what the gRPC API stores and answers.

use modelreg::pb;
use modelreg::pb::json::to_json_line;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Rest, assert_problem, registration_body};
use crate::common::credentials::{consumers_toml, write_file};
use crate::common::{Backend, TestServer, on_every_backend};

const REGISTRATIONS: &str = "/ai-ml-model-registration/v1/model-registrations";

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        register_answers_201_with_location_etag_and_the_json_of_grpc,
        comma_separated_data_types_are_read_as_arrays,
        every_invalid_field_is_listed_in_invalid_params,
        bodies_that_are_not_json_of_the_resource_are_refused,
        a_duplicate_name_and_version_is_409,
        unknown_and_malformed_ids_are_404,
        get_answers_304_to_a_current_if_none_match,
        put_replaces_the_resource_when_if_match_is_current,
        merge_patch_changes_only_its_members,
        delete_is_204_then_404_and_honours_if_match,
        an_idempotency_key_replays_the_first_registration,
        trailing_slashes_unknown_routes_and_methods,
        tokens_roles_and_scopes_apply_as_over_grpc,
    )
}

fn resource(id: &str) -> String {
    format!("{REGISTRATIONS}/{id}")
}

/// The proto3 JSON of the gRPC resource, as grpcurl would print it.
async fn grpc_json(server: &TestServer, id: &str) -> Value {
    let registered = server.get(id).await.unwrap();
    serde_json::from_str(&to_json_line(
        &registered,
        "modelregistry.v1.ModelRelatedInformation",
    ))
    .unwrap()
}

async fn register_answers_201_with_location_etag_and_the_json_of_grpc(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let mut body = registration_body("qoe-predictor", "1.0");
    body["labels"] = json!({"team": "ran"});
    let answer = rest.post(REGISTRATIONS, &body).await;
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let registered = answer.json();
    let id = registered["modelRegistrationId"].as_str().unwrap();
    assert_eq!(answer.header("location"), Some(resource(id).as_str()));
    let etag = registered["etag"].as_str().unwrap();
    assert_eq!(answer.header("etag"), Some(format!("\"{etag}\"").as_str()));
    assert_eq!(registered["modelId"]["artifactVersion"], "0.0.0");
    // The same document as gRPC's, byte for byte once parsed: one JSON for both front-ends.
    assert_eq!(registered, grpc_json(&server, id).await);
    let read = rest.get(&resource(id)).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), registered);
    assert_eq!(read.header("etag"), answer.header("etag"));
}

async fn comma_separated_data_types_are_read_as_arrays(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let mut body = registration_body("agent-model", "1");
    body["modelInformation"]["inputDataType"] = json!("pdcpBytesDl, pdcpBytesUl");
    body["modelInformation"]["outputDataType"] = json!("qoe");
    let registered = rest.register(&body).await;
    assert_eq!(
        registered["modelInformation"]["inputDataType"],
        json!(["pdcpBytesDl", "pdcpBytesUl"])
    );
    assert_eq!(
        registered["modelInformation"]["outputDataType"],
        json!(["qoe"])
    );
    let id = registered["modelRegistrationId"].as_str().unwrap();
    let stored = server.get(id).await.unwrap().model_information.unwrap();
    assert_eq!(stored.input_data_type, ["pdcpBytesDl", "pdcpBytesUl"]);
    // An id that holds a comma can still be sent in an array.
    let mut body = registration_body("agent-model", "2");
    body["modelInformation"]["inputDataType"] = json!(["a,b"]);
    let registered = rest.register(&body).await;
    assert_eq!(
        registered["modelInformation"]["inputDataType"],
        json!(["a,b"])
    );
}

async fn every_invalid_field_is_listed_in_invalid_params(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let body = json!({
        "modelId": {"modelName": "", "modelVersion": "1"},
        "modelInformation": {
            "metadata": {"author": ""},
            "inputDataType": [],
            "outputDataType": ["qoe"],
            "targetEnvironment": [{"platformName": "kserve"}]
        }
    });
    let answer = rest.post(REGISTRATIONS, &body).await;
    let problem = assert_problem(&answer, 400, "INVALID_ARGUMENT");
    let params: Vec<&str> = problem["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|param| {
            assert!(param["reason"].as_str().is_some_and(|r| !r.is_empty()));
            param["param"].as_str().unwrap()
        })
        .collect();
    for expected in [
        "modelId.modelName",
        "description",
        "modelInformation.metadata.author",
        "modelInformation.inputDataType",
        "modelInformation.targetEnvironment[0].environmentType",
        "modelInformation.targetEnvironment[0].dependencyList",
    ] {
        assert!(params.contains(&expected), "{expected} in {params:?}");
    }
    assert_eq!(problem["instance"], REGISTRATIONS);
    assert_eq!(
        server.list(Default::default()).await.unwrap().models.len(),
        0
    );
}

async fn bodies_that_are_not_json_of_the_resource_are_refused(backend: Backend) {
    // A small limit: a body just over it fits the socket's buffers, so the client has sent it
    // all when the early 413 comes (a body of megabytes would race the closing connection).
    let server = TestServer::start_with(backend, |config| {
        config.limits.max_message_bytes = bytesize::ByteSize::kib(64);
    })
    .await;
    let rest = Rest::of(&server);
    let mut body = registration_body("m", "1");
    body["colour"] = json!("red");
    let problem = assert_problem(
        &rest.post(REGISTRATIONS, &body).await,
        400,
        "INVALID_ARGUMENT",
    );
    let reason = problem["invalidParams"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("colour"), "{reason}");

    body = registration_body("m", "1");
    body["modelInformation"]["targetEnvironment"][0]["platformName"] = json!(7);
    let problem = assert_problem(
        &rest.post(REGISTRATIONS, &body).await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_eq!(
        problem["invalidParams"][0]["param"],
        "modelInformation.targetEnvironment[0].platformName"
    );

    let truncated = rest
        .send(
            rest.request(Method::POST, REGISTRATIONS)
                .header("content-type", "application/json")
                .body("{\"modelId\": {"),
        )
        .await;
    assert_problem(&truncated, 400, "INVALID_ARGUMENT");

    let form = rest
        .send(
            rest.request(Method::POST, REGISTRATIONS)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(registration_body("m", "1").to_string()),
        )
        .await;
    assert_problem(&form, 415, "UNSUPPORTED_MEDIA_TYPE");

    let huge = json!({"description": "x".repeat(65 * 1024)});
    assert_problem(
        &rest.post(REGISTRATIONS, &huge).await,
        413,
        "BODY_TOO_LARGE",
    );
    assert_eq!(
        server.list(Default::default()).await.unwrap().models.len(),
        0
    );
}

async fn a_duplicate_name_and_version_is_409(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    rest.register(&registration_body("qoe", "1")).await;
    let answer = rest
        .post(REGISTRATIONS, &registration_body("qoe", "1"))
        .await;
    let problem = assert_problem(&answer, 409, "MODEL_ALREADY_REGISTERED");
    assert_eq!(problem["metadata"]["model_name"], "qoe");
}

async fn unknown_and_malformed_ids_are_404(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    for id in ["0190a6b2-0000-7000-8000-000000000000", "invalid"] {
        assert_problem(
            &rest.get(&resource(id)).await,
            404,
            "MODEL_REGISTRATION_NOT_FOUND",
        );
        assert_problem(
            &rest.delete(&resource(id)).await,
            404,
            "MODEL_REGISTRATION_NOT_FOUND",
        );
        let put = rest
            .json(Method::PUT, &resource(id), "application/json", &json!({}))
            .await;
        assert_problem(&put, 404, "MODEL_REGISTRATION_NOT_FOUND");
    }
}

async fn get_answers_304_to_a_current_if_none_match(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let registered = rest.register(&registration_body("qoe", "1")).await;
    let path = resource(registered["modelRegistrationId"].as_str().unwrap());
    let etag = format!("\"{}\"", registered["etag"].as_str().unwrap());
    let cached = rest
        .send(
            rest.request(Method::GET, &path)
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    assert_eq!(cached.header("etag"), Some(etag.as_str()));
    let stale = rest
        .send(
            rest.request(Method::GET, &path)
                .header("if-none-match", "\"old\""),
        )
        .await;
    assert_eq!(stale.status, 200);
}

async fn put_replaces_the_resource_when_if_match_is_current(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let registered = rest.register(&registration_body("qoe", "1")).await;
    let id = registered["modelRegistrationId"].as_str().unwrap();
    let etag = format!("\"{}\"", registered["etag"].as_str().unwrap());
    let put = |body: Value, if_match: Option<String>| {
        let mut request = rest
            .request(Method::PUT, &resource(id))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        rest.send(request)
    };
    // The whole resource as read, changed, and sent back: output-only fields are ignored.
    let mut changed = registered.clone();
    changed["description"] = json!("retrained");
    changed["modelInformation"]
        .as_object_mut()
        .unwrap()
        .remove("targetEnvironment");
    changed["modelId"]["artifactVersion"] = json!("9.9.9");
    changed.as_object_mut().unwrap().remove("etag");

    let stale = put(changed.clone(), Some("\"not-the-etag\"".into())).await;
    assert_problem(&stale, 412, "ETAG_MISMATCH");

    let mut renamed = changed.clone();
    renamed["modelId"]["modelName"] = json!("other");
    let problem = assert_problem(
        &put(renamed, Some(etag.clone())).await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_eq!(problem["invalidParams"][0]["param"], "modelId.modelName");

    let replaced = put(changed.clone(), Some(etag.clone())).await;
    assert_eq!(
        replaced.status,
        200,
        "{}",
        String::from_utf8_lossy(&replaced.body)
    );
    let answer = replaced.json();
    assert_eq!(answer["description"], "retrained");
    assert_eq!(answer["modelId"]["artifactVersion"], "0.0.0");
    assert!(
        answer["modelInformation"]
            .get("targetEnvironment")
            .is_none()
    );
    assert_ne!(replaced.header("etag"), Some(etag.as_str()));
    assert_eq!(server.environment_rows(id).await, 0);
    assert_eq!(answer, grpc_json(&server, id).await);

    // The etag read before the change is now stale, in If-Match or in the body.
    assert_problem(
        &put(changed.clone(), Some(etag.clone())).await,
        412,
        "ETAG_MISMATCH",
    );
    let mut with_old_etag = changed;
    with_old_etag["etag"] = registered["etag"].clone();
    assert_problem(&put(with_old_etag, None).await, 412, "ETAG_MISMATCH");
}

async fn merge_patch_changes_only_its_members(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let mut body = registration_body("qoe", "1");
    body["labels"] = json!({"team": "ran", "stage": "dev"});
    let registered = rest.register(&body).await;
    let id = registered["modelRegistrationId"].as_str().unwrap();
    let patch = json!({
        "modelInformation": {"metadata": {"owner": null}, "inputDataType": "rsrp,rsrq"},
        "labels": {"stage": null, "tier": "gold"}
    });
    let patched = rest
        .json(
            Method::PATCH,
            &resource(id),
            "application/merge-patch+json",
            &patch,
        )
        .await;
    assert_eq!(
        patched.status,
        200,
        "{}",
        String::from_utf8_lossy(&patched.body)
    );
    let answer = patched.json();
    assert!(
        answer["modelInformation"]["metadata"]
            .get("owner")
            .is_none()
    );
    assert_eq!(answer["modelInformation"]["metadata"]["author"], "alice");
    assert_eq!(
        answer["modelInformation"]["inputDataType"],
        json!(["rsrp", "rsrq"])
    );
    assert_eq!(answer["labels"], json!({"team": "ran", "tier": "gold"}));
    assert_eq!(answer["description"], registered["description"]);
    assert_eq!(
        answer["modelInformation"]["targetEnvironment"],
        registered["modelInformation"]["targetEnvironment"]
    );
    assert_eq!(answer, grpc_json(&server, id).await);

    // Clearing a mandatory field is refused with its name; nothing changes.
    let refused = rest
        .json(
            Method::PATCH,
            &resource(id),
            "application/merge-patch+json",
            &json!({"description": null, "modelId": {"artifactVersion": "2.0.0"}, "size": 1}),
        )
        .await;
    let problem = assert_problem(&refused, 400, "INVALID_ARGUMENT");
    let params: Vec<_> = problem["invalidParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["param"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        params.contains(&"modelId.artifactVersion".to_owned()),
        "{params:?}"
    );
    assert!(params.contains(&"size".to_owned()), "{params:?}");
    assert_eq!(grpc_json(&server, id).await, answer);

    let as_json = rest
        .json(Method::PATCH, &resource(id), "application/json", &patch)
        .await;
    assert_problem(&as_json, 415, "UNSUPPORTED_MEDIA_TYPE");
    let stale = rest
        .send(
            rest.request(Method::PATCH, &resource(id))
                .header("content-type", "application/merge-patch+json")
                .header(
                    "if-match",
                    format!("\"{}\"", registered["etag"].as_str().unwrap()),
                )
                .body(json!({"description": "x"}).to_string()),
        )
        .await;
    assert_problem(&stale, 412, "ETAG_MISMATCH");
}

async fn delete_is_204_then_404_and_honours_if_match(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let registered = rest.register(&registration_body("qoe", "1")).await;
    let path = resource(registered["modelRegistrationId"].as_str().unwrap());
    let stale = rest
        .send(
            rest.request(Method::DELETE, &path)
                .header("if-match", "\"old\""),
        )
        .await;
    assert_problem(&stale, 412, "ETAG_MISMATCH");
    let etag = format!("\"{}\"", registered["etag"].as_str().unwrap());
    let deleted = rest
        .send(rest.request(Method::DELETE, &path).header("if-match", etag))
        .await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    assert_problem(&rest.get(&path).await, 404, "MODEL_REGISTRATION_NOT_FOUND");
    assert_problem(
        &rest.delete(&path).await,
        404,
        "MODEL_REGISTRATION_NOT_FOUND",
    );
}

async fn an_idempotency_key_replays_the_first_registration(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let send = |body: Value| {
        rest.send(
            rest.request(Method::POST, REGISTRATIONS)
                .header("content-type", "application/json")
                .header("idempotency-key", "a1b2")
                .body(body.to_string()),
        )
    };
    let first = send(registration_body("qoe", "1")).await;
    assert_eq!(first.status, 201);
    let retry = send(registration_body("qoe", "1")).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.json(), first.json());
    assert_eq!(
        server.list(Default::default()).await.unwrap().models.len(),
        1
    );
}

async fn trailing_slashes_unknown_routes_and_methods(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    // The Go service's clients post to `model-registrations/` and list `models/`.
    let answer = rest
        .post(&format!("{REGISTRATIONS}/"), &registration_body("qoe", "1"))
        .await;
    assert_eq!(answer.status, 201);
    let listed = rest
        .get("/ai-ml-model-discovery/v1/models/?model-name=qoe")
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    assert_problem(
        &rest.get("/ai-ml-model-registration/v2/nothing").await,
        404,
        "NOT_FOUND",
    );
    let patch_collection = rest
        .json(
            Method::PATCH,
            REGISTRATIONS,
            "application/merge-patch+json",
            &json!({}),
        )
        .await;
    assert_problem(&patch_collection, 405, "METHOD_NOT_ALLOWED");
    assert!(
        patch_collection
            .header("allow")
            .is_some_and(|allow| allow.contains("POST"))
    );
}

async fn tokens_roles_and_scopes_apply_as_over_grpc(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let consumers = consumers_toml(&[
        ("viewer", "read-token", "reader"),
        ("ci", "write-token", "writer"),
    ]) + "[[consumer]]\nname = \"scoped\"\ntoken_sha256 = \""
        + &hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"scoped-token"))
        + "\"\nrole = \"writer\"\nscopes = [\"qoe-*\"]\n";
    let path = write_file(dir.path(), "consumers.toml", &consumers);
    let server = TestServer::start_with(backend, |config| {
        config.auth.auth_tokens = Some(path);
    })
    .await;
    let anonymous = Rest::of(&server);
    let missing = anonymous
        .post(REGISTRATIONS, &registration_body("qoe-a", "1"))
        .await;
    assert_problem(&missing, 401, "CREDENTIALS_MISSING");
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    let wrong = anonymous
        .with_token("nope")
        .get("/ai-ml-model-discovery/v1/models")
        .await;
    assert_problem(&wrong, 401, "CREDENTIALS_INVALID");

    let reader = anonymous.with_token("read-token");
    let refused = reader
        .post(REGISTRATIONS, &registration_body("qoe-a", "1"))
        .await;
    assert_problem(&refused, 403, "ROLE_TOO_LOW");
    let writer = anonymous.with_token("write-token");
    let energy = writer.register(&registration_body("energy", "1")).await;
    writer.register(&registration_body("qoe-a", "1")).await;

    let scoped = anonymous.with_token("scoped-token");
    let outside = scoped
        .post(REGISTRATIONS, &registration_body("energy-2", "1"))
        .await;
    assert_problem(&outside, 403, "MODEL_OUT_OF_SCOPE");
    // A model outside the scope answers exactly as a missing one.
    let hidden = scoped
        .get(&resource(energy["modelRegistrationId"].as_str().unwrap()))
        .await;
    assert_problem(&hidden, 404, "MODEL_REGISTRATION_NOT_FOUND");
    let seen = scoped.get("/ai-ml-model-discovery/v1/models").await;
    let names: Vec<_> = seen
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|model| model["modelId"]["modelName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["qoe-a"]);
    // The API's description is open to all.
    assert_eq!(anonymous.get("/openapi.json").await.status, 200);
    let _ = pb::ModelRelatedInformation::default();
}
