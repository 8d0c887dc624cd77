//! `modelreg import mme`, run as a user runs it, from a real PostgreSQL holding the Go
//! service's schema (created from the DDL GORM's AutoMigrate issues for its models, in
//! `go_schema.sql`) and seeded with the odd rows the field has, into each backend; then the
//! imported models served under the `aimlfw` profile.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use modelreg::pb;
use modelreg::pb::model_artifact_service_client::ModelArtifactServiceClient;
use modelreg::pb::model_event_service_client::ModelEventServiceClient;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::common::process::Serve;
use crate::common::trials::{Needs, name, trial};
use crate::common::{Backend, TestDatabase};
use crate::rest::Rest;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let test = "go_service_data_moves_over_once_with_ids_spellings_and_refusals";
    vec![
        trial(
            name(module_path!(), Some("sqlite"), test),
            &[Needs::Postgres],
            || moves_over(Backend::Sqlite),
        ),
        trial(
            name(module_path!(), Some("postgres"), test),
            &[Needs::Postgres],
            || moves_over(Backend::postgres()),
        ),
        trial(
            name(module_path!(), Some("mysql"), test),
            &[Needs::Postgres, Needs::MySql],
            || moves_over(Backend::mysql()),
        ),
    ]
}

const QOE: &str = "3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e01";
const SPACED: &str = "3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e02";
const TRAINED: &str = "3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e03";
const BARE: &str = "3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e04";

/// What the field's databases hold: an empty owner and location, `"c, d"` with its space,
/// duplicate environments, a name with a space, a trained model; and rows the Go service
/// accepted that the registry refuses (no data types, a padded name, an id that is no UUID).
const SEED: &str = "
INSERT INTO model_related_informations VALUES
 ('3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e01','qoe-predictor','1','0.0.0','QoE','someone','','pdcpBytesDl,pdcpBytesUl','c, d',''),
 ('3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e02','qoe predictor','2','0.0.0','a name with a space','someone','ops','a','b',''),
 ('3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e03','trained','1','1.1.0','trained twice','someone','','a','b','s3://models/trained.zip'),
 ('3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e04','bare','1','0.0.0','no environments','someone','','a','b',''),
 ('3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e05','no-types','1','0.0.0','empty data types','someone','','','b',''),
 ('3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e06',' padded','1','0.0.0','a padded name','someone','','a','b',''),
 ('not-a-uuid','bad-id','1','0.0.0','an id that is no UUID','someone','','a','b','');
INSERT INTO target_environments VALUES
 ('e1','3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e01','kserve','onnx','a,b,c'),
 ('e2','3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e01','triton','tf','x'),
 ('e3','3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e01','kserve','onnx','a,b,c'),
 ('e4','3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e02','kserve','onnx','a'),
 ('e5','3f1c2a9e-8d4b-4c7a-9e2f-0a1b2c3d4e03','kserve','onnx','a');
";

/// The Go service's database: a fresh PostgreSQL database with its tables and the seed.
async fn go_database() -> TestDatabase {
    let database = TestDatabase::create(&Backend::postgres()).await;
    let db = database.connect().await;
    let schema = include_str!("go_schema.sql");
    for statement in [schema, SEED]
        .iter()
        .flat_map(|text| text.split(";\n"))
        .filter(|statement| {
            statement
                .lines()
                .any(|line| !line.trim().is_empty() && !line.trim_start().starts_with("--"))
        })
    {
        db.execute_unprepared(statement)
            .await
            .unwrap_or_else(|err| panic!("{err}: {statement}"));
    }
    db.close().await.ok();
    database
}

fn import(from: &str, into: &str, dry_run: bool) -> (Output, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_modelreg"));
    command
        .args(["import", "mme", "--from", from, "--database-url", into])
        .args(["--batch-size", "2"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    if dry_run {
        command.arg("--dry-run");
    }
    let output = command.output().expect("run modelreg import mme");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

async fn moves_over(backend: Backend) {
    let source = go_database().await;
    let target = TestDatabase::create(&backend).await;

    // A database without the Go service's tables: a failure that names what is missing.
    let empty = TestDatabase::create(&Backend::postgres()).await;
    let (output, _) = import(&empty.url, &target.url, false);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("model_related_informations") && stderr.contains("does not exist"),
        "{stderr}"
    );

    let (output, stdout) = import(&source.url, &target.url, true);
    // Refusals make the exit status a failure, each listed with its reasons.
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("would import 4, skipped 0 already present, refused 3 (dry run"),
        "{stdout}"
    );
    assert_eq!(
        target
            .count("SELECT count(*) FROM model_related_information")
            .await,
        0
    );

    let (_, stdout) = import(&source.url, &target.url, false);
    assert!(
        stdout.contains("imported 4, skipped 0 already present, refused 3"),
        "{stdout}"
    );
    for refusal in [
        "refused model \"no-types\" version \"1\": model_information.input_data_type must list at least one data type",
        "refused model \" padded\" version \"1\": model_id.model_name must not start or end with white space",
        "refused model \"bad-id\" version \"1\": id \"not-a-uuid\" is not a UUID",
    ] {
        assert!(stdout.contains(refusal), "{refusal}\n{stdout}");
    }
    // Idempotent: a re-run adds nothing and says so.
    let (_, stdout) = import(&source.url, &target.url, false);
    assert!(
        stdout.contains("imported 0, skipped 4 already present, refused 3"),
        "{stdout}"
    );

    let artifacts = tempfile::tempdir().unwrap();
    let server = Serve::new()
        .args(["--rest-profile", "aimlfw", "--database-url", &target.url])
        .args([
            "--artifact-store",
            url::Url::from_directory_path(artifacts.path())
                .unwrap()
                .as_str(),
        ])
        .start()
        .await;
    let rest = Rest::with_url(&server.url());
    let registrations = "/ai-ml-model-registration/v1/model-registrations";
    // The ids clients stored stay valid; the spelling and the environments' order are kept.
    let qoe = rest.get(&format!("{registrations}/{QOE}")).await;
    assert_eq!(qoe.status, 200);
    assert_eq!(
        qoe.json(),
        json!({
            "id": QOE,
            "modelId": {"modelName": "qoe-predictor", "modelVersion": "1", "artifactVersion": "0.0.0"},
            "description": "QoE",
            "modelInformation": {
                "metadata": {"author": "someone", "owner": ""},
                "inputDataType": "pdcpBytesDl,pdcpBytesUl",
                "outputDataType": "c, d",
                "targetEnvironment": [
                    {"platformName": "kserve", "environmentType": "onnx", "dependencyList": "a,b,c"},
                    {"platformName": "triton", "environmentType": "tf", "dependencyList": "x"},
                    {"platformName": "kserve", "environmentType": "onnx", "dependencyList": "a,b,c"}
                ]
            },
            "modelLocation": ""
        })
    );
    let spaced = rest
        .get("/ai-ml-model-discovery/v1/models?model-name=qoe%20predictor&model-version=2")
        .await;
    assert_eq!(spaced.json()[0]["id"], SPACED);
    assert_eq!(
        spaced.json()[0]["modelInformation"]["metadata"]["owner"],
        "ops"
    );
    let bare = rest.get(&format!("{registrations}/{BARE}")).await.json();
    assert!(bare["modelInformation"].get("targetEnvironment").is_none());
    let trained = rest.get(&format!("{registrations}/{TRAINED}")).await.json();
    assert_eq!(trained["modelId"]["artifactVersion"], "1.1.0");
    assert_eq!(trained["modelLocation"], "s3://models/trained.zip");

    // The trained model's artifact is recorded as held elsewhere.
    let mut artifacts_client = ModelArtifactServiceClient::connect(server.url())
        .await
        .unwrap();
    let listed = artifacts_client
        .list_artifacts(pb::ListArtifactsRequest {
            model_registration_id: TRAINED.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .artifacts;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].external);
    assert_eq!(listed[0].artifact_version, "1.1.0");

    // One MODEL_REGISTERED event per imported model, by `import` (numbered by the server on
    // PostgreSQL, after its start).
    let mut events = ModelEventServiceClient::connect(server.url())
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..50 {
        seen = events
            .list_events(pb::ListEventsRequest {
                actor: "import".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .events;
        if seen.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(
        seen.iter()
            .all(|event| event.r#type == pb::EventType::ModelRegistered as i32)
    );
}
