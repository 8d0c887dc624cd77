//! What a grpcurl user does, with no proto files at hand: reflection, describe, and R1AP JSON,
//! in plaintext and over TLS.
//! Runs when MODELREG_TEST_GRPCURL names the grpcurl binary (or is 1 for `grpcurl` on PATH);
//! ignored otherwise.

use std::process::Command;

use serde_json::{Value, json};

use crate::common::certificates::{Authority, write_atomically};
use crate::common::credentials::{consumers_toml, write_file};
use crate::common::trials::{Needs, name, trial};
use crate::common::{Backend, TestServer};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let test = "grpcurl_registers_and_discovers_with_r1ap_json";
    vec![
        trial(
            name(module_path!(), Some("sqlite"), test),
            &[Needs::Grpcurl],
            grpcurl_registers_and_discovers_with_r1ap_json,
        ),
        trial(
            name(
                module_path!(),
                Some("sqlite"),
                "grpcurl_lists_and_calls_over_tls",
            ),
            &[Needs::Grpcurl],
            grpcurl_lists_and_calls_over_tls,
        ),
    ]
}

/// The binary that `MODELREG_TEST_GRPCURL` names; its trial checked that it is set.
fn grpcurl_binary() -> String {
    match Needs::Grpcurl
        .value()
        .expect("MODELREG_TEST_GRPCURL is set")
    {
        value if value == "1" => "grpcurl".into(),
        value => value,
    }
}

/// Runs `grpcurl -plaintext FLAGS ADDRESS COMMAND` and returns its standard output.
fn grpcurl(binary: &str, server: &TestServer, flags: &[String], command: &[&str]) -> String {
    let plaintext = ["-plaintext".to_owned()];
    grpcurl_with(binary, server, &[&plaintext, flags].concat(), command)
}

/// Runs `grpcurl FLAGS ADDRESS COMMAND` and returns its standard output.
fn grpcurl_with(binary: &str, server: &TestServer, flags: &[String], command: &[&str]) -> String {
    let output = Command::new(binary)
        .args(flags)
        .arg(server.addr.to_string())
        .args(command)
        .output()
        .expect("run grpcurl");
    let args = (flags, command);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "grpcurl {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

async fn grpcurl_registers_and_discovers_with_r1ap_json() {
    let binary = grpcurl_binary();
    let server = TestServer::start(Backend::Sqlite).await;
    // grpcurl blocks; run it off the runtime that serves.
    let run = |flags: &[String], command: &[&str]| {
        tokio::task::block_in_place(|| grpcurl(&binary, &server, flags, command))
    };

    let listed = run(&[], &["list"]);
    let mut services: Vec<&str> = listed.lines().collect();
    services.sort();
    assert_eq!(
        services,
        [
            "grpc.health.v1.Health",
            "modelregistry.v1.AgentService",
            "modelregistry.v1.ModelArtifactService",
            "modelregistry.v1.ModelDiscoveryService",
            "modelregistry.v1.ModelEventService",
            "modelregistry.v1.ModelRegistrationService",
            "modelregistry.v1.ModelSubscriptionService",
        ]
    );

    let described = run(
        &[],
        &["describe", "modelregistry.v1.ModelRegistrationService"],
    );
    assert!(described.contains("rpc RegisterModel"), "{described}");
    let message = run(&[], &["describe", "modelregistry.v1.TargetEnvironment"]);
    assert!(message.contains("dependency_list"), "{message}");

    // The R1AP body, as the standard's JSON names it.
    let body = json!({"modelRelatedInformation": r1ap_model("qoe-predictor")});
    let registered: Value = serde_json::from_str(&run(
        &["-d".into(), body.to_string()],
        &["modelregistry.v1.ModelRegistrationService/RegisterModel"],
    ))
    .unwrap();
    assert_eq!(registered["modelId"]["artifactVersion"], "0.0.0");
    assert_eq!(
        registered["modelInformation"], body["modelRelatedInformation"]["modelInformation"],
        "the standard's JSON comes back as sent"
    );

    let discovered: Value = serde_json::from_str(&run(
        &[
            "-d".into(),
            json!({"modelName": "qoe-predictor", "modelVersion": "1.0"}).to_string(),
        ],
        &["modelregistry.v1.ModelDiscoveryService/ListModels"],
    ))
    .unwrap();
    assert_eq!(discovered["models"][0], registered);

    let health = run(&[], &["grpc.health.v1.Health/Check"]);
    assert!(health.contains("SERVING"), "{health}");
    server.stop().await;
}

/// A model in the R1AP body's JSON, as the standard names its fields.
fn r1ap_model(name: &str) -> Value {
    json!({
        "modelId": {"modelName": name, "modelVersion": "1.0"},
        "description": "QoE prediction for video streaming",
        "modelInformation": {
            "metadata": {"author": "alice", "owner": "ran-team"},
            "inputDataType": ["pdcpBytesDl", "pdcpBytesUl"],
            "outputDataType": ["qoe"],
            "targetEnvironment": [
                {"platformName": "kserve", "environmentType": "onnx", "dependencyList": "a,b,c"}
            ]
        },
        "modelLocation": "s3://models/qoe-predictor/1.0.zip"
    })
}

/// Over TLS with `-cacert`, and with a bearer token (`-H 'authorization: Bearer …'`) for the
/// registry's services; reflection answers without one.
async fn grpcurl_lists_and_calls_over_tls() {
    let binary = grpcurl_binary();
    let authority = Authority::new("registry CA");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = authority.server_certificate().write(dir.path(), "server");
    let ca = dir.path().join("ca.pem");
    write_atomically(&ca, &authority.pem());
    let token = "a-writer-token-for-grpcurl";
    let consumers = write_file(
        dir.path(),
        "consumers.toml",
        &consumers_toml(&[("grpcurl-user", token, "writer")]),
    );
    let server = TestServer::start_tls(
        Backend::Sqlite,
        |config| {
            config.tls.tls_cert = Some(cert);
            config.tls.tls_key = Some(key);
            config.auth.auth_tokens = Some(consumers);
        },
        authority.trusted_by_client(),
    )
    .await;
    let tls = ["-cacert".to_owned(), ca.display().to_string()];
    let bearer = ["-H".to_owned(), format!("authorization: Bearer {token}")];
    let run = |flags: &[String], command: &[&str]| {
        let flags = [&tls, flags].concat();
        tokio::task::block_in_place(|| grpcurl_with(&binary, &server, &flags, command))
    };

    let listed = run(&[], &["list"]);
    assert!(
        listed.contains("modelregistry.v1.ModelRegistrationService"),
        "{listed}"
    );
    let registered: Value = serde_json::from_str(&run(
        &[
            bearer.to_vec(),
            vec![
                "-d".into(),
                json!({"modelRelatedInformation": r1ap_model("qoe-predictor")}).to_string(),
            ],
        ]
        .concat(),
        &["modelregistry.v1.ModelRegistrationService/RegisterModel"],
    ))
    .unwrap();
    let id = registered["modelRegistrationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = [
        "-d".to_owned(),
        json!({"modelRegistrationId": id}).to_string(),
    ];
    let got: Value = serde_json::from_str(&run(
        &[bearer.to_vec(), get.to_vec()].concat(),
        &["modelregistry.v1.ModelRegistrationService/GetModelRegistration"],
    ))
    .unwrap();
    assert_eq!(got["modelId"]["modelName"], "qoe-predictor");

    // Without the token, the same call is refused.
    let refused = tokio::task::block_in_place(|| {
        Command::new(&binary)
            .args(&tls)
            .args(&get)
            .arg(server.addr.to_string())
            .arg("modelregistry.v1.ModelRegistrationService/GetModelRegistration")
            .output()
            .expect("run grpcurl")
    });
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("Unauthenticated"), "{stderr}");
    assert!(stderr.contains("CREDENTIALS_MISSING"), "{stderr}");
    server.stop().await;
}
