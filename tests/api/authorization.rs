//! Authorization end to end: every RPC against every kind of caller answers the code its
//! credentials and role give; a scoped consumer sees only its models, in full pages, and a
//! model outside its scope answers exactly as a missing one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use jsonwebtoken::Algorithm;
use jsonwebtoken::get_current_timestamp;
use modelreg::pb;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request};
use tonic_types::StatusExt;

use crate::artifacts::{by_id, chunk_message, header_for, header_message, sha256_hex};
use crate::common::signing::{AUDIENCE, ISSUER, SigningKey, claims, jwks};
use crate::common::{Backend, TestServer, model, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        every_rpc_answers_each_kind_of_caller_as_its_credentials_and_role_allow,
        a_scoped_consumer_lists_full_pages_of_its_own_models,
        a_model_outside_the_scope_answers_exactly_as_a_missing_one,
    )
}

/// The kinds of callers of the matrix, with the token each sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Anonymous,
    BadToken,
    ExpiredJwt,
    WrongAudience,
    Reader,
    Writer,
    Admin,
    /// An admin confined to `qoe-*`, calling on a model outside it.
    Scoped,
}

const KINDS: [Kind; 8] = [
    Kind::Anonymous,
    Kind::BadToken,
    Kind::ExpiredJwt,
    Kind::WrongAudience,
    Kind::Reader,
    Kind::Writer,
    Kind::Admin,
    Kind::Scoped,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rpc {
    Register,
    Get,
    Update,
    Delete,
    List,
    Upload,
    Download,
    ListArtifacts,
}

const RPCS: [Rpc; 8] = [
    Rpc::Register,
    Rpc::Get,
    Rpc::Update,
    Rpc::Delete,
    Rpc::List,
    Rpc::Upload,
    Rpc::Download,
    Rpc::ListArtifacts,
];

/// The code and ErrorInfo reason a kind of caller gets from an RPC on a model outside any
/// scope (named `other-…`).
fn expected(kind: Kind, rpc: Rpc) -> (Code, &'static str) {
    let ok = (Code::Ok, "");
    let too_low = (Code::PermissionDenied, "ROLE_TOO_LOW");
    match kind {
        Kind::Anonymous => (Code::Unauthenticated, "CREDENTIALS_MISSING"),
        Kind::BadToken => (Code::Unauthenticated, "CREDENTIALS_INVALID"),
        Kind::ExpiredJwt => (Code::Unauthenticated, "TOKEN_EXPIRED"),
        Kind::WrongAudience => (Code::Unauthenticated, "TOKEN_AUDIENCE_MISMATCH"),
        Kind::Reader => match rpc {
            Rpc::Get | Rpc::List | Rpc::Download | Rpc::ListArtifacts => ok,
            Rpc::Register | Rpc::Update | Rpc::Delete | Rpc::Upload => too_low,
        },
        Kind::Writer => match rpc {
            Rpc::Delete => too_low,
            _ => ok,
        },
        Kind::Admin => ok,
        Kind::Scoped => match rpc {
            Rpc::Register => (Code::PermissionDenied, "MODEL_OUT_OF_SCOPE"),
            // Listing works; the model is simply not in it (checked below).
            Rpc::List => ok,
            _ => (Code::NotFound, "MODEL_REGISTRATION_NOT_FOUND"),
        },
    }
}

/// A server that knows a reader, a writer, an admin and a scoped admin by their bearer tokens,
/// and trusts JWTs of one ES256 key.
struct Secured {
    server: TestServer,
    tokens: BTreeMap<Kind, String>,
    _files: tempfile::TempDir,
}

/// A consumers-file entry for `token`.
fn consumer(name: &str, token: &str, role: &str, scopes: &[&str]) -> String {
    let digest = sha256_hex(token.as_bytes());
    let mut entry = format!(
        "[[consumer]]\nname = \"{name}\"\ntoken_sha256 = \"{digest}\"\nrole = \"{role}\"\n"
    );
    if !scopes.is_empty() {
        let quoted: Vec<String> = scopes.iter().map(|s| format!("\"{s}\"")).collect();
        writeln!(entry, "scopes = [{}]", quoted.join(", ")).unwrap();
    }
    entry
}

impl Secured {
    async fn start(backend: Backend) -> Self {
        let files = tempfile::tempdir().unwrap();
        let key = SigningKey::new(Algorithm::ES256, "matrix");
        let jwks_file: PathBuf = files.path().join("jwks.json");
        std::fs::write(&jwks_file, jwks(&[&key])).unwrap();

        let token = |kind: Kind| format!("token-of-{kind:?}-{}", uuid::Uuid::new_v4().simple());
        let mut tokens = BTreeMap::new();
        let mut consumers = String::new();
        for (kind, role, scopes) in [
            (Kind::Reader, "reader", &[][..]),
            (Kind::Writer, "writer", &[][..]),
            (Kind::Admin, "admin", &[][..]),
            (Kind::Scoped, "admin", &["qoe-*"][..]),
        ] {
            let secret = token(kind);
            consumers.push_str(&consumer(&format!("{kind:?}"), &secret, role, scopes));
            tokens.insert(kind, secret);
        }
        tokens.insert(Kind::BadToken, token(Kind::BadToken));
        let mut expired = claims("expired");
        expired["exp"] = (get_current_timestamp() - 3600).into();
        tokens.insert(Kind::ExpiredJwt, key.sign(&expired));
        let mut elsewhere = claims("elsewhere");
        elsewhere["aud"] = "another-service".into();
        tokens.insert(Kind::WrongAudience, key.sign(&elsewhere));

        let consumers_file = files.path().join("consumers.toml");
        std::fs::write(&consumers_file, consumers).unwrap();
        let server = TestServer::start_with(backend, |config| {
            config.auth.auth_tokens = Some(consumers_file);
            config.auth.auth_jwks = Some(jwks_file.display().to_string());
            config.auth.auth_issuer = Some(ISSUER.into());
            config.auth.auth_audience = Some(AUDIENCE.into());
        })
        .await;
        Self {
            server,
            tokens,
            _files: files,
        }
    }

    /// `message` with the credentials of `kind`.
    fn request<T>(&self, kind: Kind, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(token) = self.tokens.get(&kind) {
            let value = MetadataValue::try_from(format!("Bearer {token}")).unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// Registers `name` with one artifact, as the admin.
    async fn registered(&self, name: &str) -> pb::ModelRelatedInformation {
        let registered = self
            .server
            .registration
            .clone()
            .register_model(self.request(
                Kind::Admin,
                pb::RegisterModelRequest {
                    model_related_information: Some(model(name, "1", 1)),
                    request_id: String::new(),
                },
            ))
            .await
            .expect("the admin registers")
            .into_inner();
        let content = b"weights";
        let messages = vec![
            header_message(header_for(&registered.model_registration_id, content)),
            chunk_message(content),
        ];
        self.server
            .artifacts
            .clone()
            .upload_artifact(self.request(Kind::Admin, futures::stream::iter(messages)))
            .await
            .expect("the admin uploads");
        registered
    }

    /// Calls `rpc` as `kind` on `target`; `fresh` names a model to register.
    async fn call(
        &self,
        kind: Kind,
        rpc: Rpc,
        target: &pb::ModelRelatedInformation,
        fresh: &str,
    ) -> Result<(), tonic::Status> {
        let id = target.model_registration_id.clone();
        let server = &self.server;
        match rpc {
            Rpc::Register => {
                let message = pb::RegisterModelRequest {
                    model_related_information: Some(model(fresh, "1", 1)),
                    request_id: String::new(),
                };
                let mut call = server.registration.clone();
                call.register_model(self.request(kind, message))
                    .await
                    .map(drop)
            }
            Rpc::Get => {
                let message = pb::GetModelRegistrationRequest {
                    model_registration_id: id,
                    model: None,
                };
                let mut call = server.registration.clone();
                call.get_model_registration(self.request(kind, message))
                    .await
                    .map(drop)
            }
            Rpc::Update => {
                let mut changed = target.clone();
                changed.description = format!("changed by {kind:?}");
                // The upload after the registration changed the etag; no check is asked for.
                changed.etag = String::new();
                let message = pb::UpdateModelRegistrationRequest {
                    model_related_information: Some(changed),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["description".into()],
                    }),
                };
                let mut call = server.registration.clone();
                call.update_model_registration(self.request(kind, message))
                    .await
                    .map(drop)
            }
            Rpc::Delete => {
                let message = pb::DeleteModelRegistrationRequest {
                    model_registration_id: id,
                    etag: String::new(),
                };
                let mut call = server.registration.clone();
                call.delete_model_registration(self.request(kind, message))
                    .await
                    .map(drop)
            }
            Rpc::List => {
                let mut call = server.discovery.clone();
                let listed = call
                    .list_models(self.request(kind, pb::ListModelsRequest::default()))
                    .await?
                    .into_inner();
                let seen = listed
                    .models
                    .iter()
                    .any(|m| m.model_registration_id == target.model_registration_id);
                assert_eq!(
                    seen,
                    kind != Kind::Scoped,
                    "{kind:?} lists the model: {seen}"
                );
                Ok(())
            }
            Rpc::Upload => {
                let content = b"more weights";
                let messages = vec![
                    header_message(header_for(&id, content)),
                    chunk_message(content),
                ];
                let mut call = server.artifacts.clone();
                call.upload_artifact(self.request(kind, futures::stream::iter(messages)))
                    .await
                    .map(drop)
            }
            Rpc::Download => {
                let mut call = server.artifacts.clone();
                let mut stream = call
                    .download_artifact(self.request(kind, by_id(&id)))
                    .await?
                    .into_inner();
                while stream.message().await?.is_some() {}
                Ok(())
            }
            Rpc::ListArtifacts => {
                let message = pb::ListArtifactsRequest {
                    model_registration_id: id,
                    ..Default::default()
                };
                let mut call = server.artifacts.clone();
                call.list_artifacts(self.request(kind, message))
                    .await
                    .map(drop)
            }
        }
    }
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

async fn every_rpc_answers_each_kind_of_caller_as_its_credentials_and_role_allow(backend: Backend) {
    let secured = Secured::start(backend).await;
    let mut table = String::new();
    let mut wrong = Vec::new();
    for kind in KINDS {
        write!(table, "\n  {kind:>13?}:").unwrap();
        for rpc in RPCS {
            // A model of its own for every call, so that a delete or an update by one caller
            // changes nothing the next one sees.
            let target = secured
                .registered(&format!("other-{kind:?}-{rpc:?}").to_lowercase())
                .await;
            let fresh = format!("other-new-{kind:?}-{rpc:?}").to_lowercase();
            let answer = secured.call(kind, rpc, &target, &fresh).await;
            let got = match &answer {
                Ok(()) => (Code::Ok, String::new()),
                Err(status) => (status.code(), reason(status)),
            };
            write!(table, " {rpc:?}={:?}", got.0).unwrap();
            let (code, why) = expected(kind, rpc);
            if got != (code, why.to_owned()) {
                wrong.push(format!(
                    "{kind:?} × {rpc:?}: expected {code:?} {why}, got {answer:?}"
                ));
            }
        }
    }
    println!("authorization matrix:{table}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn a_scoped_consumer_lists_full_pages_of_its_own_models(backend: Backend) {
    let secured = Secured::start(backend).await;
    for i in 0..6 {
        for name in [
            format!("qoe-{i}"),
            format!("other-{i}"),
            format!("QOE-{i}"),
            format!("qoe_{i}"),
        ] {
            secured.registered(&name).await;
        }
    }
    let mut discovery = secured.server.discovery.clone();
    let (mut pages, mut token) = (Vec::new(), String::new());
    loop {
        let message = pb::ListModelsRequest {
            page_size: 4,
            page_token: token.clone(),
            ..Default::default()
        };
        let page = discovery
            .list_models(secured.request(Kind::Scoped, message))
            .await
            .expect("the scoped consumer lists")
            .into_inner();
        let names: Vec<String> = page
            .models
            .iter()
            .map(|m| m.model_id.as_ref().unwrap().model_name.clone())
            .collect();
        pages.push(names);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [4, 2], "{pages:?}");
    assert!(
        pages.concat().iter().all(|name| name.starts_with("qoe-")),
        "{pages:?}"
    );
}

async fn a_model_outside_the_scope_answers_exactly_as_a_missing_one(backend: Backend) {
    let secured = Secured::start(backend).await;
    let unseen = secured.registered("other").await;
    let missing = uuid::Uuid::now_v7().to_string();
    let mut registration = secured.server.registration.clone();
    let get = |id: String| {
        let request = secured.request(
            Kind::Scoped,
            pb::GetModelRegistrationRequest {
                model_registration_id: id,
                model: None,
            },
        );
        let mut registration = registration.clone();
        async move {
            registration
                .get_model_registration(request)
                .await
                .unwrap_err()
        }
    };
    let seen_status = get(unseen.model_registration_id.clone()).await;
    let missing_status = get(missing.clone()).await;
    assert_eq!(seen_status.code(), Code::NotFound);
    assert_eq!(seen_status.code(), missing_status.code());
    assert_eq!(
        seen_status
            .message()
            .replace(&unseen.model_registration_id, "ID"),
        missing_status.message().replace(&missing, "ID")
    );
    let details = |status: &tonic::Status, id: &str| {
        let info = status.get_error_details().error_info().cloned().unwrap();
        (
            info.reason,
            info.metadata
                .into_iter()
                .map(|(k, v)| (k, v.replace(id, "ID")))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    assert_eq!(
        details(&seen_status, &unseen.model_registration_id),
        details(&missing_status, &missing)
    );
    // The admin still sees it.
    let request = secured.request(
        Kind::Admin,
        pb::GetModelRegistrationRequest {
            model_registration_id: unseen.model_registration_id.clone(),
            model: None,
        },
    );
    registration
        .get_model_registration(request)
        .await
        .expect("the admin sees the model");
}
