//! The Go model management service's black-box component tests and handler tests, ported to
//! the REST front-end: the same requests, with the standard's answers where the Go service's
//! were wrong (404, not 500, for an unknown id; 404, not 204, for deleting one; the resource,
//! not `{"modelInfo": …}`, from a registration). Then its artifact routes: multipart uploads,
//! downloads with ranges, and `getModelInfo`.

use reqwest::Method;
use reqwest::multipart::Form;
use serde_json::{Value, json};

use super::{Rest, assert_problem, download_path, only_artifact_version, zip_form};
use crate::common::{Backend, Objects, TestServer, on_every_backend, on_every_store};

const REGISTRATIONS: &str = "/ai-ml-model-registration/v1/model-registrations";

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let mut trials = on_every_backend!(
        component_registration_and_retrieval,
        component_retrieval_of_an_unknown_id_is_404,
        component_registered_model_deletion,
        component_deletion_of_an_unknown_id_is_404,
        component_registered_model_update,
        component_update_of_an_unknown_id_is_404,
        handler_registration_failures,
        handler_discovery_by_name_and_version,
        upload_of_an_unregistered_model_or_a_non_zip_is_refused,
        model_info_lists_every_version_of_a_name,
    );
    trials.extend(on_every_store!(
        uploads_bump_the_artifact_version_and_downloads_resume,
    ));
    trials
}

/// The component tests' registration, with data types as comma-separated strings.
fn go_registration(name: &str, version: &str) -> Value {
    json!({
        "modelId": {"modelName": name, "modelVersion": version},
        "description": "hello world2",
        "modelInformation": {
            "metadata": {"author": "someone"},
            "inputDataType": "pdcpBytesDl,pdcpBytesUl",
            "outputDataType": "c, d",
            "targetEnvironment": [{"platformName": "abc", "environmentType": "env", "dependencyList": "a,b,c"}]
        }
    })
}

/// Registers as the component tests' helper does: to `model-registrations/`, with a slash.
async fn register(rest: &Rest, name: &str, version: &str) -> Value {
    rest.register_at(
        &format!("{REGISTRATIONS}/"),
        &go_registration(name, version),
    )
    .await
}

fn id_of(registration: &Value) -> String {
    registration["modelRegistrationId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn component_registration_and_retrieval(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let id = id_of(&register(&rest, "test-model", "10003").await);
    let answer = rest.get(&format!("{REGISTRATIONS}/{id}")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["modelRegistrationId"], id);
}

async fn component_retrieval_of_an_unknown_id_is_404(backend: Backend) {
    let server = TestServer::start(backend).await;
    let answer = Rest::of(&server)
        .get(&format!("{REGISTRATIONS}/invalid"))
        .await;
    assert_problem(&answer, 404, "MODEL_REGISTRATION_NOT_FOUND");
}

async fn component_registered_model_deletion(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let id = id_of(&register(&rest, "test-model-deletion", "10006").await);
    let path = format!("{REGISTRATIONS}/{id}");
    assert_eq!(rest.get(&path).await.status, 200);
    assert_eq!(rest.delete(&path).await.status, 204);
    assert_problem(&rest.get(&path).await, 404, "MODEL_REGISTRATION_NOT_FOUND");
}

async fn component_deletion_of_an_unknown_id_is_404(backend: Backend) {
    let server = TestServer::start(backend).await;
    let answer = Rest::of(&server)
        .delete(&format!("{REGISTRATIONS}/invalid"))
        .await;
    assert_problem(&answer, 404, "MODEL_REGISTRATION_NOT_FOUND");
}

/// The component test sends the Go service's document back with every field, `id` included.
/// The registry keeps what it owns (the artifact version), and answers arrays.
async fn component_registered_model_update(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let (name, version) = ("test-model-updataion", "10001");
    let id = id_of(&register(&rest, name, version).await);
    let path = format!("{REGISTRATIONS}/{id}");
    assert_eq!(rest.get(&path).await.status, 200);
    let update = json!({
        "id": id,
        "modelId": {"modelName": name, "modelVersion": version, "artifactVersion": ""},
        "description": "new-hello world",
        "modelInformation": {
            "metadata": {"author": "new-someone", "owner": ""},
            "inputDataType": "new-pdcpBytesDl,pdcpBytesUl",
            "outputDataType": "new-c, d",
            "targetEnvironment": [{"platformName": "abc", "environmentType": "env", "dependencyList": "a,b,c"}]
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
    let read = rest.get(&path).await.json();
    assert_eq!(read["modelRegistrationId"], id);
    assert_eq!(
        read["modelId"],
        json!({"modelName": name, "modelVersion": version, "artifactVersion": "0.0.0"})
    );
    assert_eq!(read["description"], "new-hello world");
    assert_eq!(
        read["modelInformation"],
        json!({
            "metadata": {"author": "new-someone"},
            "inputDataType": ["new-pdcpBytesDl", "pdcpBytesUl"],
            "outputDataType": ["new-c", "d"],
            "targetEnvironment": [{"platformName": "abc", "environmentType": "env", "dependencyList": "a,b,c"}]
        })
    );
    assert!(read.get("modelLocation").is_none());
    assert_eq!(read, answer.json());
}

async fn component_update_of_an_unknown_id_is_404(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let answer = rest
        .json(
            Method::PUT,
            &format!("{REGISTRATIONS}/invalid"),
            "application/json",
            &json!({}),
        )
        .await;
    assert_problem(&answer, 404, "MODEL_REGISTRATION_NOT_FOUND");
}

/// TestRegisterModel, …FailInvalidJson, …FailInvalidRequest, …FailCreateDuplicateModel.
async fn handler_registration_failures(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let body = r#"{"id":"id","modelId":{"modelName":"model3","modelVersion":"2"},"description":"hello world2",
        "modelInformation":{"metadata":{"author":"someone"},"inputDataType":"pdcpBytesDl,pdcpBytesUl,kpi","outputDataType":"c, d"}}"#;
    let post = |text: String| {
        rest.send(
            rest.request(Method::POST, REGISTRATIONS)
                .header("content-type", "application/json")
                .body(text),
        )
    };
    let created = post(body.to_owned()).await;
    assert_eq!(created.status, 201);
    assert_ne!(created.json()["modelRegistrationId"], "id");
    assert_eq!(
        created.json()["modelInformation"]["inputDataType"],
        json!(["pdcpBytesDl", "pdcpBytesUl", "kpi"])
    );
    let truncated = post(body[..body.len() - 1].to_owned()).await;
    assert_problem(&truncated, 400, "INVALID_ARGUMENT");
    let misspelt = post(body.replace("modelVersion", "modelsion")).await;
    let problem = assert_problem(&misspelt, 400, "INVALID_ARGUMENT");
    assert!(
        problem["invalidParams"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("modelsion")
    );
    let duplicate = post(body.to_owned()).await;
    assert_problem(&duplicate, 409, "MODEL_ALREADY_REGISTERED");
}

/// TestWhenSuccessGetModelInfoList, TestGetModelInfoParamsInvalid, TestGetModelInfoByName…,
/// and the training manager's `models/?model-name=…&model-version=…`.
async fn handler_discovery_by_name_and_version(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let id = id_of(&register(&rest, "test", "1").await);
    let all = rest.get("/ai-ml-model-discovery/v1/models").await;
    assert_eq!(all.json().as_array().unwrap().len(), 1);
    let invalid = rest
        .get("/ai-ml-model-discovery/v1/models?model-me=qoe2")
        .await;
    assert_problem(&invalid, 400, "INVALID_ARGUMENT");
    let by_name = rest
        .get("/ai-ml-model-discovery/v1/models?model-name=test")
        .await;
    assert_eq!(by_name.json()[0]["modelRegistrationId"], id);
    let exact = rest
        .get("/ai-ml-model-discovery/v1/models/?model-name=test&model-version=1")
        .await;
    assert_eq!(exact.status, 200);
    let found = exact.json();
    assert_eq!(found[0]["modelRegistrationId"], id);
    assert_eq!(found[0]["modelId"]["artifactVersion"], "0.0.0");
    // Not registered: an empty array (the Go service answered 500).
    let none = rest
        .get("/ai-ml-model-discovery/v1/models?model-name=test&model-version=2")
        .await;
    assert_eq!((none.status, none.json()), (200, json!([])));
}

/// TestUploadModelSuccess, then downloads whole, in ranges, resumed and out of range.
async fn uploads_bump_the_artifact_version_and_downloads_resume(
    backend: Backend,
    objects: Objects,
) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let rest = Rest::of(&server);
    register(&rest, "test-model", "1").await;
    let first: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let answer = rest
        .upload("test-model", "1", zip_form("Model.zip", first.clone()))
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let uploaded = answer.json();
    assert_eq!(uploaded["modelinfo"]["modelId"]["artifactVersion"], "1.0.0");
    assert_eq!(uploaded["artifact"]["sizeBytes"], first.len());
    let second = b"fake zip file content".to_vec();
    let answer = rest
        .upload("test-model", "1", zip_form("model.ZIP", second.clone()))
        .await;
    assert_eq!(
        answer.json()["modelinfo"]["modelId"]["artifactVersion"],
        "1.1.0"
    );

    let whole = rest.get(&download_path("test-model", "1", "1.0.0")).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, first);
    assert_eq!(whole.header("content-type"), Some("application/zip"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let etag = whole.header("etag").unwrap().to_owned();
    assert_eq!(
        rest.get(&download_path("test-model", "1", "1.1.0"))
            .await
            .body,
        second
    );

    let ranged = |range: &str, if_range: Option<&str>| {
        let mut request = rest
            .request(Method::GET, &download_path("test-model", "1", "1.0.0"))
            .header("range", range);
        if let Some(tag) = if_range {
            request = request.header("if-range", tag);
        }
        rest.send(request)
    };
    let part = ranged("bytes=1000-1999", None).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, first[1000..2000]);
    assert_eq!(part.header("content-range"), Some("bytes 1000-1999/300000"));
    // `curl -C -` asks for the rest from where it stopped.
    let resumed = ranged("bytes=123456-", Some(&etag)).await;
    assert_eq!(resumed.status, 206);
    assert_eq!(resumed.body, first[123_456..]);
    let changed = ranged("bytes=10-", Some("\"another\"")).await;
    assert_eq!((changed.status, changed.body.len()), (200, first.len()));
    let beyond = ranged("bytes=300000-", None).await;
    assert_problem(&beyond, 416, "RANGE_NOT_SATISFIABLE");
    assert_eq!(beyond.header("content-range"), Some("bytes */300000"));

    let unknown = rest.get(&download_path("test-model", "1", "7.0.0")).await;
    assert_problem(&unknown, 404, "ARTIFACT_NOT_FOUND");
    let unregistered = rest.get(&download_path("test-model", "2", "1.0.0")).await;
    assert_problem(&unregistered, 404, "MODEL_NOT_FOUND");
}

/// TestUploadModelFailureModelNotRegistered (404, as the Go test expected; the Go service
/// answered 500), and the Go service's 415 for a file that is not a .zip.
async fn upload_of_an_unregistered_model_or_a_non_zip_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let missing = rest
        .upload("test-model", "1", zip_form("Model.zip", b"zip".to_vec()))
        .await;
    assert_problem(&missing, 404, "MODEL_NOT_FOUND");
    register(&rest, "test-model", "1").await;
    let text = rest
        .upload("test-model", "1", zip_form("model.txt", b"text".to_vec()))
        .await;
    assert_problem(&text, 415, "UNSUPPORTED_MEDIA_TYPE");
    let no_file = rest
        .upload("test-model", "1", Form::new().text("note", "no file"))
        .await;
    let problem = assert_problem(&no_file, 400, "INVALID_ARGUMENT");
    assert_eq!(problem["invalidParams"][0]["param"], "file");
    let not_a_form = rest
        .post(
            "/ai-ml-model-registration/v1/uploadModel/test-model/1",
            &json!({}),
        )
        .await;
    assert_problem(&not_a_form, 415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(only_artifact_version(&server).await, "0.0.0");
}

async fn model_info_lists_every_version_of_a_name(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    register(&rest, "qoe", "1").await;
    register(&rest, "qoe", "2").await;
    register(&rest, "other", "1").await;
    let answer = rest
        .get("/ai-ml-model-registration/v1/getModelInfo/qoe")
        .await;
    assert_eq!(answer.status, 200);
    let versions: Vec<_> = answer
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|model| {
            model["modelId"]["modelVersion"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(versions, ["1", "2"]);
    let none = rest
        .get("/ai-ml-model-registration/v1/getModelInfo/none")
        .await;
    assert_problem(&none, 404, "MODEL_NOT_FOUND");
}
