//! Client certificates as consumers: over mutual TLS, the identity of a client certificate
//! names a consumer of the consumers file, which gives its role and scopes; a certified client
//! that no consumer names is refused; a bearer token decides over the certificate.

use std::time::Duration;

use modelreg::pb::{self, model_registration_service_client::ModelRegistrationServiceClient};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};

use crate::artifacts::sha256_hex;
use crate::common::certificates::{Authority, write_atomically};
use crate::common::{Backend, TestServer, assert_error, model, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(a_client_certificate_is_the_consumer_its_identity_names)
}

const ADMIN: &str = "spiffe://test.local/ns/ran/sa/deployer";
const READER: &str = "spiffe://test.local/ns/qoe/sa/dashboard";
const STRANGER: &str = "spiffe://test.local/ns/elsewhere/sa/unknown";
const WRITER_TOKEN: &str = "writer-token-for-the-certificate-test";

async fn a_client_certificate_is_the_consumer_its_identity_names(backend: Backend) {
    let authority = Authority::new("registry CA");
    let clients = Authority::new("client CA");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = authority.server_certificate().write(dir.path(), "server");
    let client_ca = dir.path().join("client-ca.pem");
    write_atomically(&client_ca, &clients.pem());
    let consumers = dir.path().join("consumers.toml");
    std::fs::write(
        &consumers,
        format!(
            "[[consumer]]\nname = \"{ADMIN}\"\nrole = \"admin\"\n\n\
             [[consumer]]\nname = \"{READER}\"\nrole = \"reader\"\nscopes = [\"qoe-*\"]\n\n\
             [[consumer]]\nname = \"token-writer\"\ntoken_sha256 = \"{}\"\nrole = \"writer\"\n",
            sha256_hex(WRITER_TOKEN.as_bytes())
        ),
    )
    .unwrap();
    // The test server's own clients present the admin's certificate.
    let server = TestServer::start_tls(
        backend,
        |config| {
            config.tls.tls_cert = Some(cert);
            config.tls.tls_key = Some(key);
            config.tls.tls_client_ca = Some(client_ca);
            config.auth.auth_tokens = Some(consumers);
        },
        authority
            .trusted_by_client()
            .identity(clients.client_certificate(ADMIN).identity()),
    )
    .await;
    let in_scope = server.registered_id("qoe-predictor").await;
    let out_of_scope = server.registered_id("energy-saver").await;

    let client = |identity: &str| {
        let tls = authority
            .trusted_by_client()
            .identity(clients.client_certificate(identity).identity());
        let channel = Channel::from_shared(server.url.clone())
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .tls_config(tls)
            .unwrap()
            .connect_lazy();
        ModelRegistrationServiceClient::new(channel)
    };
    let get = |id: &str| pb::GetModelRegistrationRequest {
        model_registration_id: id.into(),
        model: None,
    };
    let register = |name: &str| pb::RegisterModelRequest {
        model_related_information: Some(model(name, "1", 1)),
        request_id: String::new(),
    };

    // The reader's certificate: its role and its scope.
    let mut reader = client(READER);
    reader
        .get_model_registration(get(&in_scope))
        .await
        .expect("the reader sees a model of its scope");
    let unseen = reader
        .get_model_registration(get(&out_of_scope))
        .await
        .unwrap_err();
    assert_error(&unseen, Code::NotFound, "MODEL_REGISTRATION_NOT_FOUND");
    let refused = reader
        .register_model(register("qoe-new"))
        .await
        .unwrap_err();
    assert_error(&refused, Code::PermissionDenied, "ROLE_TOO_LOW");

    // A certificate of the client CA whose identity no consumer names.
    let refused = client(STRANGER)
        .get_model_registration(get(&in_scope))
        .await
        .unwrap_err();
    assert_error(&refused, Code::Unauthenticated, "UNKNOWN_CONSUMER");

    // A bearer token decides over the certificate it travels with.
    let mut request = Request::new(register("qoe-by-token"));
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {WRITER_TOKEN}")).unwrap(),
    );
    reader
        .register_model(request)
        .await
        .expect("the token's writer role, not the certificate's reader role");
    server.stop().await;
}
