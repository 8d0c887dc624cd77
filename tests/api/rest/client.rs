//! A REST client of a test server: requests with reqwest, answers read whole.

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::common::TestServer;

pub(crate) struct Rest {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// An answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "{err}: {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

impl Rest {
    pub(crate) fn of(server: &TestServer) -> Self {
        Self::with_client(server, reqwest::Client::new())
    }

    /// A client of the server at `base` (`http://ADDRESS`), such as a `modelreg serve` process.
    pub(crate) fn with_url(base: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: base.to_owned(),
            token: None,
        }
    }

    /// A client of its own making (TLS, HTTP versions) for `server`.
    pub(crate) fn with_client(server: &TestServer, client: reqwest::Client) -> Self {
        Self {
            client,
            base: server.url.clone(),
            token: None,
        }
    }

    /// The same client, sending `Authorization: Bearer TOKEN`.
    pub(crate) fn with_token(&self, token: &str) -> Self {
        Self {
            client: self.client.clone(),
            base: self.base.clone(),
            token: Some(token.to_owned()),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("the body").to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(self.request(Method::GET, path)).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Answer {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// `method` with a JSON body of `content_type`.
    pub(crate) async fn json(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: &Value,
    ) -> Answer {
        self.send(
            self.request(method, path)
                .header(CONTENT_TYPE, content_type)
                .body(body.to_string()),
        )
        .await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Answer {
        self.json(Method::POST, path, "application/json", body)
            .await
    }

    /// The Go service's upload: `form` sent to `uploadModel/{name}/{version}`.
    pub(crate) async fn upload(&self, name: &str, version: &str, form: Form) -> Answer {
        self.send(
            self.request(
                Method::POST,
                &format!("/ai-ml-model-registration/v1/uploadModel/{name}/{version}"),
            )
            .multipart(form),
        )
        .await
    }

    /// Registers `body`, which must succeed; the registration as answered.
    pub(crate) async fn register(&self, body: &Value) -> Value {
        self.register_at("/ai-ml-model-registration/v1/model-registrations", body)
            .await
    }

    /// Registers `body` by a POST to `path`, which must succeed; the registration as answered.
    pub(crate) async fn register_at(&self, path: &str, body: &Value) -> Value {
        let answer = self.post(path, body).await;
        assert_eq!(
            answer.status,
            201,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()
    }
}

/// The form of an upload: `bytes` as the `file` part, named `filename`.
pub(crate) fn zip_form(filename: &str, bytes: Vec<u8>) -> Form {
    Form::new().part(
        "file",
        Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str("application/zip")
            .unwrap(),
    )
}

/// The Go service's download path of one artifact version.
pub(crate) fn download_path(name: &str, version: &str, artifact: &str) -> String {
    format!("/ai-ml-model-registration/v1/downloadModel/{name}/{version}/{artifact}/model.zip")
}

/// A valid registration of R1AP's example, with data types as arrays.
pub(crate) fn registration_body(name: &str, version: &str) -> Value {
    json!({
        "modelId": {"modelName": name, "modelVersion": version},
        "description": "QoE prediction for video streaming",
        "modelInformation": {
            "metadata": {"author": "alice", "owner": "ran-team"},
            "inputDataType": ["pdcpBytesDl", "pdcpBytesUl"],
            "outputDataType": ["qoe"],
            "targetEnvironment": [
                {"platformName": "kserve", "environmentType": "onnx", "dependencyList": "numpy,onnxruntime"}
            ]
        },
        "modelLocation": "s3://models/qoe-predictor/1.0.zip"
    })
}

/// An RFC 7807 answer of `status` with the reason of gRPC's ErrorInfo; returns the document.
#[track_caller]
pub(crate) fn assert_problem(answer: &Answer, status: u16, reason: &str) -> Value {
    assert_eq!(
        answer.status,
        status,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
    let problem = answer.json();
    assert_eq!(problem["status"], status);
    assert_eq!(problem["reason"], reason, "{problem}");
    assert_eq!(problem["type"], format!("urn:modelreg:problem:{reason}"));
    assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(
        problem["instance"]
            .as_str()
            .is_some_and(|i| i.starts_with('/'))
    );
    problem
}

/// The artifact version of the server's only model: "0.0.0" until an upload is stored.
pub(crate) async fn only_artifact_version(server: &TestServer) -> String {
    let mut models = server.list(Default::default()).await.unwrap().models;
    assert_eq!(models.len(), 1, "{models:?}");
    models.remove(0).model_id.unwrap().artifact_version
}
