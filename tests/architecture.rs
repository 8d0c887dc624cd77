//! The module graph of `src/`, read from the code: every `crate::…` path names the top-level
//! module it depends on. Arrows point one way (front-ends → core → store and objects → domain);
//! this test fails on any arrow the layering does not allow, and on any cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module of the library, and the modules it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    // The vocabulary: depends on nothing of ours.
    ("domain", &[]),
    // Background work: the supervisor and the periodic loop every layer's tasks use.
    ("tasks", &[]),
    ("config", &[]),
    ("pb", &[]),
    // Logs and traces: what a trace exports is set by the configuration.
    ("telemetry", &["config"]),
    // The connection a call arrived on (TLS, client certificates).
    ("transport", &["config", "tasks"]),
    // Who is calling: consumers, tokens and their keys (fetched over outbound TLS), made into
    // domain callers.
    ("auth", &["config", "domain", "tasks", "transport"]),
    // Persistence and artifact bytes: domain types in and out.
    // Statements are annotated in the spans that traces export.
    ("store", &["config", "domain", "tasks", "telemetry"]),
    ("objects", &["config", "domain"]),
    // The core (its tests open a store from a configuration).
    (
        "registry",
        &["config", "domain", "objects", "store", "tasks"],
    ),
    // Front-ends and their observability.
    (
        "grpc",
        &[
            "auth",
            "domain",
            "metrics",
            "pb",
            "registry",
            "telemetry",
            "transport",
        ],
    ),
    // The LLM agent: its tools are the gRPC handlers, called in-process under the caller.
    (
        "agent",
        &[
            "config",
            "domain",
            "grpc",
            "metrics",
            "pb",
            "registry",
            "transport",
        ],
    ),
    // The REST event stream sends the gRPC stream's messages (as proto3 JSON): their
    // conversion from domain events is gRPC's, used, not repeated.
    // Its profile (`--rest-profile`) decides the JSON it speaks.
    (
        "rest",
        &[
            "agent",
            "auth",
            "config",
            "domain",
            "grpc",
            "metrics",
            "pb",
            "registry",
            "telemetry",
            "transport",
        ],
    ),
    // Callbacks to subscribers: the log's events, through the core, as the gRPC watch stream
    // sends them (their conversion is gRPC's, used, not repeated).
    (
        "callbacks",
        &[
            "config", "domain", "grpc", "metrics", "pb", "registry", "tasks",
        ],
    ),
    // Describes what other modules record (tasks, watch streams, certificates, traces).
    (
        "metrics",
        &["pb", "registry", "store", "tasks", "telemetry", "transport"],
    ),
    // Clients of a running server: the generated code only.
    ("client", &["pb"]),
    // Wiring.
    (
        "server",
        &[
            "agent",
            "auth",
            "callbacks",
            "config",
            "grpc",
            "metrics",
            "objects",
            "pb",
            "registry",
            "rest",
            "store",
            "tasks",
            "telemetry",
            "transport",
        ],
    ),
];

/// Modules no core, store or domain code may reach, directly or not.
const FRONT_ENDS: &[&str] = &[
    "agent",
    "callbacks",
    "grpc",
    "rest",
    "client",
    "server",
    "metrics",
];
const INNER: &[&str] = &["domain", "store", "objects", "registry"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src()).expect("a file under src");
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        name => Some(name.trim_end_matches(".rs").to_owned()),
    }
}

/// The top-level modules named by `crate::x` paths, including `crate::{x, y::z}` groups.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (index, _) in code.match_indices("crate::") {
        // `$crate::` inside macros names another crate's root, not this one.
        if code[..index].ends_with('$') {
            continue;
        }
        let rest = &code[index + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    used.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            used.insert(name);
        }
    }
    used
}

/// Every arrow between top-level modules found in the code.
fn arrows() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&file) else {
            continue;
        };
        let code = std::fs::read_to_string(&file).expect("read a source file");
        let targets = graph.entry(module.clone()).or_default();
        targets.extend(
            crate_paths(&code)
                .into_iter()
                .filter(|target| *target != module),
        );
    }
    graph
}

#[test]
fn every_arrow_between_modules_is_allowed() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> = ALLOWED
        .iter()
        .map(|(module, targets)| (*module, targets.iter().copied().collect()))
        .collect();
    let mut forbidden = Vec::new();
    for (module, targets) in arrows() {
        let Some(may_use) = allowed.get(module.as_str()) else {
            forbidden.push(format!("{module}: a module the layering does not name"));
            continue;
        };
        for target in targets {
            if !may_use.contains(target.as_str()) {
                forbidden.push(format!("{module} -> {target}"));
            }
        }
    }
    assert!(
        forbidden.is_empty(),
        "arrows the layering forbids: {forbidden:#?}"
    );
}

#[test]
fn no_inner_module_reaches_a_front_end_and_nothing_is_cyclic() {
    let graph = arrows();
    // Everything reachable from each module, by a depth-first walk.
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.clone()];
        while let Some(module) = stack.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                assert_ne!(next, start, "{start} depends on itself through {module}");
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        if INNER.contains(&start.as_str()) {
            let reached: Vec<_> = seen
                .iter()
                .filter(|module| FRONT_ENDS.contains(&module.as_str()))
                .collect();
            assert!(reached.is_empty(), "{start} reaches {reached:?}");
        }
    }
}

#[test]
fn grouped_and_nested_paths_are_read() {
    let code = "use crate::{domain::Error, store};\nfn f() { crate::pb::code_name(); $crate::x }";
    assert_eq!(
        crate_paths(code),
        ["domain", "pb", "store"].map(String::from).into()
    );
}
