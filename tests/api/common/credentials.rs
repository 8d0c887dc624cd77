//! Calls as an authenticated client makes them: a Get of a registration that does not exist,
//! with an `authorization` header of the test's choice. Past authentication it answers
//! NOT_FOUND; that is how the tests tell "let in" from "refused". And the consumers files the
//! server reads.

use std::path::{Path, PathBuf};

use modelreg::pb::{
    GetModelRegistrationRequest, model_registration_service_client::ModelRegistrationServiceClient,
};
use sha2::{Digest, Sha256};
use tonic::transport::Channel;

use super::{TestServer, assert_error};

/// A Get of a registration that does not exist, with this `authorization` header.
pub async fn get(server: &TestServer, authorization: Option<String>) -> tonic::Status {
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .expect("connect to the server");
    let mut client = ModelRegistrationServiceClient::with_interceptor(
        channel,
        move |mut request: tonic::Request<()>| {
            if let Some(value) = &authorization {
                request
                    .metadata_mut()
                    .insert("authorization", value.parse().unwrap());
            }
            Ok(request)
        },
    );
    client
        .get_model_registration(GetModelRegistrationRequest {
            model_registration_id: uuid::Uuid::new_v4().to_string(),
            model: None,
        })
        .await
        .expect_err("no such registration exists")
}

pub async fn get_with_token(server: &TestServer, token: &str) -> tonic::Status {
    get(server, Some(format!("Bearer {token}"))).await
}

pub fn assert_let_in(status: &tonic::Status) {
    assert_error(
        status,
        tonic::Code::NotFound,
        "MODEL_REGISTRATION_NOT_FOUND",
    );
}

pub fn assert_refused(status: &tonic::Status, reason: &str) {
    assert_error(status, tonic::Code::Unauthenticated, reason);
}

/// A consumers file of (name, token, role) entries.
pub fn consumers_toml(consumers: &[(&str, &str, &str)]) -> String {
    consumers
        .iter()
        .map(|(name, token, role)| {
            let digest = hex::encode(Sha256::digest(token.as_bytes()));
            format!(
                "[[consumer]]\nname = \"{name}\"\ntoken_sha256 = \"{digest}\"\nrole = \"{role}\"\n"
            )
        })
        .collect()
}

pub fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}
