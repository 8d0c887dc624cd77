//! Every path of the repository that the README and the documents in `docs/` name exists: a
//! file split or moved is a sentence to fix, and this test says which.

use std::path::{Path, PathBuf};

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
