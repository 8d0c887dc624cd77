//! What the documents say of the code holds: every path of the repository that the README and
//! `docs/` name exists (a file split or moved is a sentence to fix, and this says which), and
//! the configuration tables give every flag of `modelreg serve` with its variable and the
//! default the code has.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

/// Where the repository's own paths start; anything else in the text (URLs, paths on a
/// server such as `/etc/modelreg/…`) is not checked.
const ROOTS: &[&str] = &[
    "src/",
    "tests/",
    "benches/",
    "migration/",
    "proto/",
    "docs/",
    "deploy/",
    ".ci/",
    ".cargo/",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository paths a text names: runs of path characters that start with one of `ROOTS`
/// at a word boundary, without trailing punctuation.
fn named_paths(text: &str) -> Vec<String> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_-./".contains(c);
    let mut paths = Vec::new();
    for (index, _) in text.char_indices() {
        let before = text[..index].chars().next_back();
        if before.is_some_and(|c| is_path_char(c) || c == ':') {
            continue;
        }
        let rest = &text[index..];
        if !ROOTS.iter().any(|root| rest.starts_with(root)) {
            continue;
        }
        let end = rest.find(|c: char| !is_path_char(c)).unwrap_or(rest.len());
        let path = rest[..end].trim_end_matches(['.', '-']);
        // `docs/…` in a document's own links is relative to docs/; handled by the caller.
        if !path.contains("…") {
            paths.push(path.to_owned());
        }
    }
    paths
}

fn missing_in(file: &Path, base: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).expect("read the document");
    named_paths(&text)
        .into_iter()
        .filter(|path| !root().join(path).exists() && !base.join(path).exists())
        .map(|path| format!("{}: {path}", file.display()))
        .collect()
}

#[test]
fn every_path_the_documents_name_exists() {
    let mut missing = missing_in(&root().join("README.md"), &root());
    for entry in std::fs::read_dir(root().join("docs")).expect("docs/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|ext| ext == "md") {
            missing.extend(missing_in(&path, &root().join("docs")));
        }
    }
    assert!(
        missing.is_empty(),
        "paths that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn paths_are_read_whole_and_urls_are_not_paths() {
    assert_eq!(
        named_paths("see `src/rest/problem.rs`, then docs/agent.md. And tests/api/."),
        ["src/rest/problem.rs", "docs/agent.md", "tests/api/"]
    );
    assert!(named_paths("https://example.org/src/x.rs and /etc/src/y").is_empty());
}

/// A flag as `modelreg serve` defines it: its variable and its default.
struct Flag {
    env: Option<String>,
    default: Option<String>,
    switch: bool,
}

fn serve_flags() -> BTreeMap<String, Flag> {
    let command = modelreg::ServeConfig::augment_args(clap::Command::new("serve"));
    command
        .get_arguments()
        .filter(|arg| !arg.is_hide_set())
        .filter_map(|arg| {
            let long = arg.get_long()?;
            let default: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|value| value.to_string_lossy().into_owned())
                .collect();
            let flag = Flag {
                env: arg.get_env().map(|env| env.to_string_lossy().into_owned()),
                default: (!default.is_empty()).then(|| default.join(",")),
                switch: matches!(arg.get_action(), clap::ArgAction::SetTrue),
            };
            Some((format!("--{long}"), flag))
        })
        .collect()
}

/// The rows `| `--flag` | `VARIABLE` | default | meaning |` of a document's tables.
fn table_rows(document: &str) -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(root().join(document)).expect("read the document");
    text.lines()
        .filter(|line| line.starts_with("| `--"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            let unquote = |cell: &str| cell.trim_matches('`').to_owned();
            (
                document.to_owned(),
                unquote(cells[0]),
                unquote(cells[1]),
                cells[2].to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_configuration_tables_give_every_flag_its_variable_and_its_default() {
    let flags = serve_flags();
    let rows: Vec<_> = ["README.md", "docs/agent.md", "docs/operations.md"]
        .into_iter()
        .flat_map(table_rows)
        .collect();
    let mut wrong = Vec::new();
    for (document, name, env, default) in &rows {
        let Some(flag) = flags.get(name) else {
            wrong.push(format!(
                "{document}: {name} is not a flag of modelreg serve"
            ));
            continue;
        };
        if flag.env.as_deref() != Some(env.as_str()) {
            wrong.push(format!(
                "{document}: {name}'s variable is {:?}, not {env}",
                flag.env
            ));
        }
        // A default in backticks is the code's exactly; "none" and "off" say there is none.
        let code = flag.default.as_deref();
        let documented_ok = match default.as_str() {
            "none" => code.is_none(),
            "off" => flag.switch,
            quoted
                if quoted.starts_with('`')
                    && quoted.ends_with('`')
                    && quoted.matches('`').count() == 2 =>
            {
                code == Some(quoted.trim_matches('`'))
            }
            // Described in words (where the default depends on another setting).
            _ => true,
        };
        if !documented_ok {
            wrong.push(format!(
                "{document}: {name} is documented with the default {default}, the code has {code:?}"
            ));
        }
    }
    for name in flags.keys() {
        if !rows.iter().any(|(_, documented, ..)| documented == name) {
            wrong.push(format!("{name} is in no configuration table"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
