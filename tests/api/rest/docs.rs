//! The curl examples of `docs/rest.md`, run as a user would paste them, against a real server:
//! every `sh` block in order, in one shell (so `$ID` carries over), with `set -euo pipefail`.
//! A `json` block right after a `sh` block is what that block prints.
//! Runs when MODELREG_TEST_CURL is set (curl and jq on PATH); ignored otherwise.

use serde_json::Value;

use crate::common::trials::{Needs, name, trial};
use crate::common::{Backend, TestServer};

const DOC: &str = include_str!("../../../docs/rest.md");
/// The address the examples use: `cargo run --release -- serve`'s default.
const DOCUMENTED_ADDRESS: &str = "127.0.0.1:50051";

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    vec![trial(
        name(
            module_path!(),
            Some("sqlite"),
            "the_curl_examples_of_the_docs_work",
        ),
        &[Needs::Curl],
        the_curl_examples_of_the_docs_work,
    )]
}

/// The fenced blocks of a markdown text: (info string, text).
fn blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim().to_owned(), String::new())),
            (Some(_), Some("")) => blocks.extend(current.take()),
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

async fn the_curl_examples_of_the_docs_work() {
    let server = TestServer::start(Backend::Sqlite).await;
    let blocks = blocks(DOC);
    let mut script = String::from("set -euo pipefail\n");
    let mut expected = Vec::new();
    for (index, (info, text)) in blocks.iter().enumerate() {
        if info != "sh" {
            continue;
        }
        script.push_str(&format!("echo '::block {index}::'\n"));
        script.push_str(&text.replace(DOCUMENTED_ADDRESS, &server.addr.to_string()));
        if let Some((next_info, json)) = blocks.get(index + 1)
            && next_info == "json"
        {
            expected.push((index, serde_json::from_str::<Value>(json).unwrap()));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().to_owned();
    // The server runs on this runtime: the shell waits on a thread of its own.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(workdir)
            .output()
            .expect("bash runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the examples failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (index, document) in expected {
        let printed = stdout
            .split(&format!("::block {index}::\n"))
            .nth(1)
            .and_then(|rest| rest.split("::block ").next())
            .unwrap();
        let printed: Value = serde_json::from_str(printed)
            .unwrap_or_else(|err| panic!("block {index} prints JSON: {err}\n{printed}"));
        assert_eq!(printed, document, "the JSON after block {index}");
    }
    for shown in [
        "304",
        "ETAG_MISMATCH",
        "MODEL_REGISTERED",
        "identical",
        "204",
    ] {
        assert!(stdout.contains(shown), "{shown} in\n{stdout}");
    }
}
