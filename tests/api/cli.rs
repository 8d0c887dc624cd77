//! The `modelreg` client subcommands, run as a user runs them: the real binary (assert_cmd)
//! against a real server in this process.

use std::path::Path;

use assert_cmd::Command;
use modelreg::client::cli::json;
use modelreg::pb;

use crate::artifacts::random_bytes;
use crate::common::{Backend, TestServer, model, on_every_backend, plain_async, plain_sync};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let on_every_backend = on_every_backend!(
        models_are_registered_read_updated_and_deleted,
        list_all_follows_page_tokens,
        artifacts_are_uploaded_listed_downloaded_and_resumed,
        artifacts_stored_elsewhere_are_declared_and_listed_as_external,
        a_validation_failure_prints_the_code_and_every_field,
    );
    let plain = plain_async!(
        an_unreachable_server_is_named_with_the_way_to_change_it,
        completions_are_generated_for_each_shell,
    );
    let sync = plain_sync!(output_into_a_closed_pipe_ends_quietly);
    on_every_backend
        .into_iter()
        .chain(plain)
        .chain(sync)
        .collect()
}

/// The binary, aimed at `server`, with its output captured.
pub(crate) fn modelreg(server: &TestServer) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_modelreg"));
    command
        .env("MODELREG_SERVER", format!("http://{}", server.addr))
        .env_remove("RUST_LOG");
    command
}

/// Runs the command off the runtime's threads (the server runs on them) and returns its output.
pub(crate) async fn run(mut command: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || command.output().expect("run modelreg"))
        .await
        .unwrap()
}

pub(crate) fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "modelreg failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub(crate) fn stderr_of_failure(output: &std::process::Output) -> String {
    assert!(!output.status.success(), "modelreg succeeded unexpectedly");
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The R1AP body as an operator writes it: camelCase, as in the standard.
const R1AP_MODEL: &str = r#"{
  "modelId": {"modelName": "qoe-predictor", "modelVersion": "1"},
  "description": "QoE prediction",
  "modelInformation": {
    "metadata": {"author": "alice", "owner": "ran-team"},
    "inputDataType": ["pdcpBytesDl", "pdcpBytesUl"],
    "outputDataType": ["qoe"],
    "targetEnvironment": [
      {"platformName": "x86_64", "environmentType": "onnx", "dependencyList": "onnxruntime"},
      {"platformName": "gpu", "environmentType": "onnx", "dependencyList": "onnxruntime-gpu"}
    ]
  },
  "modelLocation": "s3://models/qoe-predictor/1.zip"
}"#;

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn parse_model(text: &str) -> pb::ModelRelatedInformation {
    json::from_json(text, json::MODEL).unwrap_or_else(|err| panic!("{err}: {text}"))
}

async fn models_are_registered_read_updated_and_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "model.json", R1AP_MODEL);

    // From a file, with JSON out: the output parses back into the proto type.
    let mut register = modelreg(&server);
    register
        .args(["models", "register", "-f"])
        .arg(&file)
        .args(["-o", "json"]);
    let registered = parse_model(&stdout(&run(register).await));
    let id = registered.model_registration_id.clone();
    assert!(!id.is_empty());
    assert_eq!(
        registered.model_id.as_ref().unwrap().model_name,
        "qoe-predictor"
    );
    assert_eq!(
        registered.model_id.as_ref().unwrap().artifact_version,
        "0.0.0"
    );
    assert_eq!(
        registered
            .model_information
            .as_ref()
            .unwrap()
            .target_environment
            .len(),
        2
    );
    assert_eq!(server.get(&id).await.unwrap(), registered);

    // From stdin, with proto field names (snake_case), as grpcurl also accepts.
    let snake = R1AP_MODEL
        .replace("modelId", "model_id")
        .replace("modelName", "model_name")
        .replace("modelVersion", "model_version")
        .replace("\"1\"", "\"2\"");
    let mut from_stdin = modelreg(&server);
    from_stdin
        .args(["models", "register", "-f", "-", "-o", "json"])
        .write_stdin(snake);
    let second = parse_model(&stdout(&run(from_stdin).await));
    assert_eq!(second.model_id.unwrap().model_version, "2");

    // --request-id makes a retry safe: the same registration comes back, not ALREADY_EXISTS.
    let version_3 = R1AP_MODEL.replace("\"modelVersion\": \"1\"", "\"modelVersion\": \"3\"");
    let with_request_id = || {
        let mut command = modelreg(&server);
        command
            .args([
                "models",
                "register",
                "-f",
                "-",
                "--request-id",
                "retry-1",
                "-o",
                "json",
            ])
            .write_stdin(version_3.clone());
        command
    };
    let first_try = parse_model(&stdout(&run(with_request_id()).await));
    let retry = parse_model(&stdout(&run(with_request_id()).await));
    assert_eq!(retry.model_registration_id, first_try.model_registration_id);
    assert_eq!(first_try.model_id.unwrap().model_version, "3");

    // A table for people.
    let mut get = modelreg(&server);
    get.args(["models", "get", &id]);
    let table = stdout(&run(get).await);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    for column in ["NAME", "VERSION", "ARTIFACT", "ID", "PLATFORMS", "UPDATED"] {
        assert!(lines[0].contains(column), "{table}");
    }
    for cell in ["qoe-predictor", "0.0.0", id.as_str(), "x86_64,gpu"] {
        assert!(lines[1].contains(cell), "{table}");
    }

    // An update with a mask changes only the masked field.
    let patch = write(
        dir.path(),
        "patch.json",
        r#"{"description": "QoE prediction, retrained", "modelLocation": "s3://elsewhere"}"#,
    );
    let mut update = modelreg(&server);
    update
        .args(["models", "update", &id, "-f"])
        .arg(&patch)
        .args([
            "--mask",
            "description",
            "--etag",
            &registered.etag,
            "-o",
            "json",
        ]);
    let updated = parse_model(&stdout(&run(update).await));
    assert_eq!(updated.description, "QoE prediction, retrained");
    assert_eq!(updated.model_location, registered.model_location);
    assert_ne!(updated.etag, registered.etag);

    // A stale etag is refused.
    let mut stale = modelreg(&server);
    stale.args(["models", "delete", &id, "--etag", &registered.etag]);
    assert!(stderr_of_failure(&run(stale).await).starts_with("error: ABORTED: "));

    let mut delete = modelreg(&server);
    delete.args(["models", "delete", &id]);
    assert_eq!(stdout(&run(delete).await), format!("deleted {id}\n"));
    let mut gone = modelreg(&server);
    gone.args(["models", "get", &id]);
    let error = stderr_of_failure(&run(gone).await);
    assert!(error.starts_with("error: NOT_FOUND: "), "{error}");
}

async fn list_all_follows_page_tokens(backend: Backend) {
    let server = TestServer::start(backend).await;
    for i in 0..5 {
        server
            .register(model(&format!("m{i}"), "1", 1))
            .await
            .unwrap();
    }
    let list = |all: bool| {
        let mut command = modelreg(&server);
        command.args(["models", "list", "--page-size", "2", "-o", "json"]);
        if all {
            command.arg("--all");
        }
        command
    };
    let page: pb::ListModelsResponse =
        json::from_json(&stdout(&run(list(false)).await), json::LIST_MODELS).unwrap();
    assert_eq!(page.models.len(), 2);
    assert!(!page.next_page_token.is_empty());

    let everything: pb::ListModelsResponse =
        json::from_json(&stdout(&run(list(true)).await), json::LIST_MODELS).unwrap();
    let names: Vec<String> = everything
        .models
        .iter()
        .map(|m| m.model_id.as_ref().unwrap().model_name.clone())
        .collect();
    assert_eq!(names, ["m0", "m1", "m2", "m3", "m4"]);
    assert!(everything.next_page_token.is_empty());

    let mut filtered = modelreg(&server);
    filtered.args(["models", "list", "--name", "m3"]);
    let table = stdout(&run(filtered).await);
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(table.contains("m3"));
}

async fn artifacts_stored_elsewhere_are_declared_and_listed_as_external(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.register(model("detector", "3", 1)).await.unwrap();
    let declare = |version: &str| {
        let mut command = modelreg(&server);
        command.args([
            "artifacts",
            "declare",
            "--name",
            "detector",
            "--version",
            "3",
        ]);
        command.args(["--artifact-version", version]);
        command
    };
    let printed = stdout(&run(declare("2.0.0")).await);
    assert_eq!(printed, "detector 3: artifact version 2.0.0 (recorded)\n");
    let printed = stdout(&run(declare("2.0.0")).await);
    assert!(printed.contains("already the current version"), "{printed}");
    let refused = stderr_of_failure(&run(declare("1.0.0")).await);
    assert!(
        refused.contains("FAILED_PRECONDITION") && refused.contains("\"2.0.0\""),
        "{refused}"
    );

    let mut list = modelreg(&server);
    list.args(["artifacts", "list", "--name", "detector", "--version", "3"]);
    let table = stdout(&run(list).await);
    let row = table.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("2.0.0") && row.contains("external"),
        "{table}"
    );
}

async fn artifacts_are_uploaded_listed_downloaded_and_resumed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("detector", "3", 1)).await.unwrap();
    let id = registered.model_registration_id;
    let dir = tempfile::tempdir().unwrap();
    let first = random_bytes(3 * 1024 * 1024 + 17, 1);
    let second = random_bytes(1000, 2);
    let first_file = write(dir.path(), "first.onnx", &first);
    let second_file = write(dir.path(), "second.onnx", &second);

    // By id; the CLI computes the SHA-256 and the server verifies it.
    let mut upload = modelreg(&server);
    upload
        .args(["artifacts", "upload", &id])
        .arg(&first_file)
        .args(["-o", "json"]);
    let info: pb::ArtifactInfo =
        json::from_json(&stdout(&run(upload).await), json::ARTIFACT).unwrap();
    assert_eq!(info.artifact_version, "1.0.0");
    assert_eq!(info.size_bytes, first.len() as u64);
    assert_eq!(
        info.sha256,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&first))
    );
    assert_eq!(info.filename, "first.onnx");

    // By name and version.
    let mut by_name = modelreg(&server);
    by_name
        .args([
            "artifacts",
            "upload",
            "--name",
            "detector",
            "--version",
            "3",
        ])
        .arg(&second_file);
    let table = stdout(&run(by_name).await);
    assert!(
        table.contains("1.1.0") && table.contains("second.onnx"),
        "{table}"
    );

    let mut list = modelreg(&server);
    list.args(["artifacts", "list", &id, "-o", "json"]);
    let listed: pb::ListArtifactsResponse =
        json::from_json(&stdout(&run(list).await), json::LIST_ARTIFACTS).unwrap();
    let versions: Vec<&str> = listed
        .artifacts
        .iter()
        .map(|a| a.artifact_version.as_str())
        .collect();
    assert_eq!(versions, ["1.1.0", "1.0.0"]);

    // A whole download, verified, and no partial file left.
    let dest = dir.path().join("out.onnx");
    let download = |dest: &Path, resume: bool| {
        let mut command = modelreg(&server);
        command
            .args([
                "artifacts",
                "download",
                &id,
                "--artifact-version",
                "1.0.0",
                "--dest",
            ])
            .arg(dest);
        if resume {
            command.arg("--resume");
        }
        command
    };
    stdout(&run(download(&dest, false)).await);
    assert_eq!(std::fs::read(&dest).unwrap(), first);
    assert!(!dir.path().join("out.onnx.partial").exists());

    // A truncated download resumes from the length of its partial file.
    let resumed = dir.path().join("resumed.onnx");
    write(dir.path(), "resumed.onnx.partial", &first[..1024 * 1024]);
    stdout(&run(download(&resumed, true)).await);
    assert_eq!(std::fs::read(&resumed).unwrap(), first);
    assert!(!dir.path().join("resumed.onnx.partial").exists());

    // A partial file that is not a prefix of the artifact fails verification and is kept.
    let corrupt = dir.path().join("corrupt.onnx");
    write(dir.path(), "corrupt.onnx.partial", vec![0u8; 4096]);
    let error = stderr_of_failure(&run(download(&corrupt, true)).await);
    assert!(error.contains("does not match artifact 1.0.0"), "{error}");
    assert!(dir.path().join("corrupt.onnx.partial").exists());
    assert!(!corrupt.exists());

    // By name and version, the latest artifact.
    let latest = dir.path().join("latest.onnx");
    let mut by_name = modelreg(&server);
    by_name
        .args([
            "artifacts",
            "download",
            "--name",
            "detector",
            "--version",
            "3",
            "--dest",
        ])
        .arg(&latest);
    stdout(&run(by_name).await);
    assert_eq!(std::fs::read(&latest).unwrap(), second);
}

async fn a_validation_failure_prints_the_code_and_every_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut register = modelreg(&server);
    register
        .args(["models", "register", "-f", "-"])
        .write_stdin(
            r#"{"modelId": {"modelName": "", "modelVersion": "1"}, "description": "",
                "modelInformation": {"metadata": {}, "inputDataType": ["a"], "outputDataType": ["b"]}}"#,
        );
    let error = stderr_of_failure(&run(register).await);
    let lines: Vec<&str> = error.lines().collect();
    assert!(lines[0].starts_with("error: INVALID_ARGUMENT: "), "{error}");
    let fields: Vec<&str> = lines[1..]
        .iter()
        .map(|line| line.trim_start().split(':').next().unwrap())
        .collect();
    for field in ["model_name", "description", "author"] {
        assert!(
            fields.iter().any(|f| f.contains(field)),
            "no line for {field}:\n{error}"
        );
    }

    // JSON that is not a ModelRelatedInformation never reaches the server.
    let mut garbage = modelreg(&server);
    garbage
        .args(["models", "register", "-f", "-"])
        .write_stdin(r#"{"modelName": "flat"}"#);
    let error = stderr_of_failure(&run(garbage).await);
    assert!(
        error.contains("is not a ModelRelatedInformation"),
        "{error}"
    );
}

async fn an_unreachable_server_is_named_with_the_way_to_change_it() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_modelreg"));
    command
        .env("MODELREG_SERVER", format!("http://{addr}"))
        .args(["models", "list"]);
    let error = stderr_of_failure(&run(command).await);
    assert!(
        error.starts_with(&format!("error: cannot connect to http://{addr}")),
        "{error}"
    );
    assert!(
        error.contains("--server") && error.contains("MODELREG_SERVER"),
        "{error}"
    );
}

async fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_modelreg"));
        command.args(["completions", shell]);
        let script = stdout(&run(command).await);
        assert!(
            script.contains("modelreg") && script.contains("artifacts"),
            "{shell}"
        );
    }
}

/// `modelreg … | head`: the reader goes away; the client ends by SIGPIPE, as other tools do,
/// without a panic message. The completion script is longer than a pipe's buffer (64 KiB).
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_modelreg"))
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is closed here, with most of the script unwritten.
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}",
        output.status
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
