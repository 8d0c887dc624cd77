//! Which identity each combination of `--auth-tokens`, `--auth-jwks` and `--tls-client-ca`
//! accepts, as a table: every combination against every kind of credential, over gRPC and
//! over REST, on real TLS with generated CAs and a JWKS. No cell admits an identity that the
//! configuration does not list: a certificate is worth only what the configuration says.

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use modelreg::ServeConfig;
use modelreg::pb::{
    DeleteModelRegistrationRequest,
    model_registration_service_client::ModelRegistrationServiceClient,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Channel, ClientTlsConfig};
use tonic_types::StatusExt;

use crate::artifacts::sha256_hex;
use crate::common::certificates::{Authority, KeyAndCertificate};
use crate::common::credentials::write_file;
use crate::common::signing::{self, SigningKey, claims};
use crate::common::{Backend, TestServer, plain_async};
use crate::jwt::trust_jwks;
use crate::tls::ServerFiles;

const ADMIN_TOKEN: &str = "token-of-the-root-admin-consumer";
const OPS_TOKEN: &str = "token-of-the-ops-consumer";
const CERTIFIED_READER: &str = "spiffe://test.local/ns/qoe/sa/dashboard";
const OPS_CERTIFICATE: &str = "spiffe://test.local/ns/ops/sa/deployer";
const STRANGER: &str = "spiffe://test.local/ns/elsewhere/sa/unknown";
const JWT_SUBJECT: &str = "jwt-writer";

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    plain_async!(each_configuration_admits_exactly_the_identities_it_lists)
}

/// What a call was told.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// The TLS handshake refused a client without a certificate.
    NoConnection,
    /// Let in as an administrator (the Delete of a missing registration is NOT_FOUND).
    Admin,
    /// Let in as this principal, with a role below admin (ROLE_TOO_LOW names both).
    Below(&'static str, &'static str),
    /// Refused UNAUTHENTICATED (401) with this reason.
    Refused(&'static str),
}

use Outcome::{Admin, Below, NoConnection, Refused};

const MISSING: Outcome = Refused("CREDENTIALS_MISSING");
const INVALID: Outcome = Refused("CREDENTIALS_INVALID");
const UNKNOWN: Outcome = Refused("UNKNOWN_CONSUMER");
const READER: Outcome = Below(CERTIFIED_READER, "reader");
const OPS: Outcome = Below("ops", "writer");
const JWT: Outcome = Below(JWT_SUBJECT, "writer");

/// The credentials a call brings, in the table's order.
#[derive(Clone, Copy, Debug)]
enum Credential {
    Nothing,
    /// A certificate whose identity is a certificate consumer's name.
    CertifiedReader,
    /// A certificate whose CN is the name of the token consumer `root-admin`.
    CommonNameOfTokenConsumer,
    /// The certificate the `ops` token consumer's entry names.
    OpsCertificate,
    /// A certificate of the client CA that no entry names.
    Stranger,
    /// `root-admin`'s bearer token (with the stranger's certificate under mutual TLS).
    AdminToken,
    /// A JWT of a writer (with the stranger's certificate under mutual TLS).
    Jwt,
}

const CREDENTIALS: [Credential; 7] = [
    Credential::Nothing,
    Credential::CertifiedReader,
    Credential::CommonNameOfTokenConsumer,
    Credential::OpsCertificate,
    Credential::Stranger,
    Credential::AdminToken,
    Credential::Jwt,
];

/// (tokens file, JWKS, client CA) and what each credential of `CREDENTIALS` gets.
#[rustfmt::skip]
const TABLE: [((bool, bool, bool), [Outcome; 7]); 8] = [
    //            nothing       reader  CN=root-admin ops      stranger admin token JWT
    ((false, false, false), [Admin,        Admin,  Admin,        Admin,   Admin,   Admin,   Admin]),
    ((true,  false, false), [MISSING,      MISSING, MISSING,     MISSING, MISSING, Admin,   INVALID]),
    ((false, true,  false), [MISSING,      MISSING, MISSING,     MISSING, MISSING, INVALID, JWT]),
    ((true,  true,  false), [MISSING,      MISSING, MISSING,     MISSING, MISSING, Admin,   JWT]),
    ((false, false, true),  [NoConnection, Admin,  Admin,        Admin,   Admin,   INVALID, INVALID]),
    ((true,  false, true),  [NoConnection, READER, UNKNOWN,      OPS,     UNKNOWN, Admin,   INVALID]),
    ((false, true,  true),  [NoConnection, MISSING, MISSING,     MISSING, MISSING, INVALID, JWT]),
    ((true,  true,  true),  [NoConnection, READER, UNKNOWN,      OPS,     UNKNOWN, Admin,   JWT]),
];

async fn each_configuration_admits_exactly_the_identities_it_lists() {
    let authority = Authority::new("registry CA");
    let clients = Authority::new("client CA");
    let dir = tempfile::tempdir().unwrap();
    let files = ServerFiles::new(&authority, Some(&clients));
    let consumers = write_file(
        dir.path(),
        "consumers.toml",
        &format!(
            "[[consumer]]\nname = \"root-admin\"\ntoken_sha256 = \"{}\"\nrole = \"admin\"\n\n\
             [[consumer]]\nname = \"{CERTIFIED_READER}\"\nrole = \"reader\"\n\n\
             [[consumer]]\nname = \"ops\"\ntoken_sha256 = \"{}\"\nrole = \"writer\"\n\
             certificate = \"{OPS_CERTIFICATE}\"\n",
            sha256_hex(ADMIN_TOKEN.as_bytes()),
            sha256_hex(OPS_TOKEN.as_bytes()),
        ),
    );
    let key = SigningKey::new(Algorithm::ES256, "idp");
    let jwks = write_file(dir.path(), "jwks.json", &signing::jwks(&[&key]));
    let mut jwt_claims = claims(JWT_SUBJECT);
    jwt_claims["role"] = "writer".into();
    let jwt = key.sign(&jwt_claims);
    let certificates = Certificates {
        reader: clients.client_certificate(CERTIFIED_READER),
        common_name: clients.client_certificate_with_common_name("root-admin"),
        ops: clients.client_certificate(OPS_CERTIFICATE),
        stranger: clients.client_certificate(STRANGER),
    };

    let mut mismatches = Vec::new();
    for ((tokens, jwts, client_ca), expected) in TABLE {
        let configure = |config: &mut ServeConfig| {
            files.configure(config);
            if !client_ca {
                config.tls.tls_client_ca = None;
            }
            if tokens {
                config.auth.auth_tokens = Some(consumers.clone());
            }
            if jwts {
                trust_jwks(config, jwks.display().to_string());
            }
        };
        let own_client = authority
            .trusted_by_client()
            .identity(certificates.stranger.identity());
        let server = TestServer::start_tls(Backend::Sqlite, configure, own_client).await;
        for (credential, expected) in CREDENTIALS.into_iter().zip(expected) {
            let (certificate, token) = certificates.of(credential, client_ca, &jwt);
            let grpc = over_grpc(&server, &authority, certificate, token).await;
            let rest = over_rest(&server, &authority, certificate, token).await;
            for (front_end, outcome) in [("gRPC", grpc), ("REST", rest)] {
                if outcome != expected {
                    mismatches.push(format!(
                        "tokens={tokens} jwks={jwts} client_ca={client_ca} {credential:?} over \
                         {front_end}: expected {expected:?}, got {outcome:?}"
                    ));
                }
            }
        }
        server.stop().await;
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

struct Certificates {
    reader: KeyAndCertificate,
    common_name: KeyAndCertificate,
    ops: KeyAndCertificate,
    stranger: KeyAndCertificate,
}

impl Certificates {
    /// The certificate and the bearer token a credential sends. Under mutual TLS, a token
    /// travels with a certificate, as it must to connect at all.
    fn of<'a>(
        &'a self,
        credential: Credential,
        client_ca: bool,
        jwt: &'a str,
    ) -> (Option<&'a KeyAndCertificate>, Option<&'a str>) {
        let stranger = client_ca.then_some(&self.stranger);
        match credential {
            Credential::Nothing => (None, None),
            Credential::CertifiedReader => (Some(&self.reader), None),
            Credential::CommonNameOfTokenConsumer => (Some(&self.common_name), None),
            Credential::OpsCertificate => (Some(&self.ops), None),
            Credential::Stranger => (Some(&self.stranger), None),
            Credential::AdminToken => (stranger, Some(ADMIN_TOKEN)),
            Credential::Jwt => (stranger, Some(jwt)),
        }
    }
}

/// A Delete of a registration that does not exist: NOT_FOUND for an admin, ROLE_TOO_LOW
/// (naming the principal) below, UNAUTHENTICATED when refused.
async fn over_grpc(
    server: &TestServer,
    authority: &Authority,
    certificate: Option<&KeyAndCertificate>,
    token: Option<&str>,
) -> Outcome {
    let mut tls: ClientTlsConfig = authority.trusted_by_client();
    if let Some(certificate) = certificate {
        tls = tls.identity(certificate.identity());
    }
    let channel = Channel::from_shared(server.url.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap();
    let Ok(channel) = channel.connect().await else {
        return NoConnection;
    };
    let mut request = tonic::Request::new(DeleteModelRegistrationRequest {
        model_registration_id: uuid::Uuid::new_v4().to_string(),
        etag: String::new(),
    });
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let status = match ModelRegistrationServiceClient::new(channel)
        .delete_model_registration(request)
        .await
    {
        Ok(_) => panic!("a registration that does not exist was deleted"),
        Err(status) => status,
    };
    // With TLS 1.3 a handshake the server refused shows on the first call, as a transport
    // error; every answer of the server itself carries an ErrorInfo.
    match status.get_error_details().error_info() {
        Some(info) => outcome(&info.reason, status.message()),
        None => NoConnection,
    }
}

async fn over_rest(
    server: &TestServer,
    authority: &Authority,
    certificate: Option<&KeyAndCertificate>,
    token: Option<&str>,
) -> Outcome {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(authority.pem().as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut tls = match certificate {
        Some(certificate) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(certificate.cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(certificate.key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .build()
        .unwrap();
    let mut request = client.delete(format!(
        "{}/ai-ml-model-registration/v1/model-registrations/{}",
        server.url,
        uuid::Uuid::new_v4()
    ));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let Ok(response) = request.send().await else {
        return NoConnection;
    };
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("an answer");
    let problem: serde_json::Value = serde_json::from_slice(&body).expect("a problem document");
    let reason = problem["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no reason in {problem}"));
    match (status, reason) {
        (401, _) | (403, _) | (404, _) => {}
        other => panic!("unexpected answer {other:?}: {problem}"),
    }
    outcome(reason, problem["detail"].as_str().unwrap_or_default())
}

fn outcome(reason: &str, message: &str) -> Outcome {
    match reason {
        "MODEL_REGISTRATION_NOT_FOUND" => Admin,
        "ROLE_TOO_LOW" => {
            for below in [READER, OPS, JWT] {
                let Below(principal, role) = below else {
                    unreachable!()
                };
                if message.contains(principal) && message.contains(&format!("role {role}")) {
                    return below;
                }
            }
            panic!("an unexpected principal or role: {message}")
        }
        "CREDENTIALS_MISSING" => MISSING,
        "CREDENTIALS_INVALID" => INVALID,
        "UNKNOWN_CONSUMER" => UNKNOWN,
        other => panic!("unexpected reason {other}: {message}"),
    }
}
