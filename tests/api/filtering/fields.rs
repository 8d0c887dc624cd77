//! Filters over every field and operator, the same results on every backend; literals that
//! look like SQL are data; malformed filters are rejected with the position and what was
//! expected.

use modelreg::pb;
use tonic_types::StatusExt;

use crate::common::{Backend, TestServer, model, violated_fields};

use super::dataset::{cached_and_uncached, find_all, register_examples};

/// Filters over the example models and what each finds, in the default order.
const CASES: &[(&str, &[&str])] = &[
    (
        "model_id.model_name = \"qoe-predictor\"",
        &["qoe-predictor 1.0", "qoe-predictor 1.1"],
    ),
    (
        "model_id.model_name != \"qoe-predictor\"",
        &["anomaly-detector 0.9", "traffic-forecaster 2.0"],
    ),
    ("model_id.model_name < \"qoe\"", &["anomaly-detector 0.9"]),
    (
        "model_id.model_name <= \"anomaly-detector\"",
        &["anomaly-detector 0.9"],
    ),
    (
        "model_id.model_name > \"qoe-predictor\"",
        &["traffic-forecaster 2.0"],
    ),
    (
        "model_id.model_name >= \"traffic\"",
        &["traffic-forecaster 2.0"],
    ),
    (
        "model_id.model_version = \"1.*\"",
        &["qoe-predictor 1.0", "qoe-predictor 1.1"],
    ),
    (
        "model_id.model_version > \"1.0\"",
        &["qoe-predictor 1.1", "traffic-forecaster 2.0"],
    ),
    (
        "model_id.artifact_version = \"0.0.0\"",
        &[
            "anomaly-detector 0.9",
            "qoe-predictor 1.0",
            "qoe-predictor 1.1",
            "traffic-forecaster 2.0",
        ],
    ),
    ("model_id.artifact_version > \"0.0.0\"", &[]),
    ("description = \"*1.1\"", &["qoe-predictor 1.1"]),
    (
        "description = \"*predictor*\"",
        &["qoe-predictor 1.0", "qoe-predictor 1.1"],
    ),
    (
        "description != \"*predictor*\"",
        &["anomaly-detector 0.9", "traffic-forecaster 2.0"],
    ),
    (
        "model_information.metadata.author = \"alice\"",
        &["qoe-predictor 1.0", "qoe-predictor 1.1"],
    ),
    (
        "model_information.metadata.owner = \"\"",
        &["traffic-forecaster 2.0"],
    ),
    (
        "model_information.metadata.owner != \"ran-team\"",
        &["anomaly-detector 0.9", "traffic-forecaster 2.0"],
    ),
    (
        "model_information.input_data_type:\"pdcpBytesUl\"",
        &["anomaly-detector 0.9", "qoe-predictor 1.0"],
    ),
    (
        "model_information.output_data_type:\"qoe\"",
        &["qoe-predictor 1.0", "qoe-predictor 1.1"],
    ),
    // An element, not a part of one.
    ("model_information.input_data_type:\"pdcp\"", &[]),
    (
        "model_information.target_environment.platform_name = \"kserve\"",
        &[
            "qoe-predictor 1.0",
            "qoe-predictor 1.1",
            "traffic-forecaster 2.0",
        ],
    ),
    (
        "model_information.target_environment.platform_name:\"docker\"",
        &["anomaly-detector 0.9"],
    ),
    (
        "model_information.target_environment.environment_type != \"onnx\"",
        &[
            "anomaly-detector 0.9",
            "qoe-predictor 1.0",
            "qoe-predictor 1.1",
        ],
    ),
    (
        "NOT model_information.target_environment.environment_type = \"onnx\"",
        &["anomaly-detector 0.9", "qoe-predictor 1.1"],
    ),
    (
        "model_information.target_environment.dependency_list = \"tensorrt*\"",
        &["qoe-predictor 1.0", "qoe-predictor 1.1"],
    ),
    (
        "model_information.target_environment(platform_name = \"triton\" AND environment_type = \"onnx\")",
        &[],
    ),
    (
        "model_information.target_environment(platform_name = \"triton\" OR environment_type = \"python\")",
        &["anomaly-detector 0.9", "qoe-predictor 1.0"],
    ),
    (
        "model_information.target_environment(platform_name = \"kserve\" AND NOT environment_type = \"onnx\")",
        &["qoe-predictor 1.1"],
    ),
    (
        "labels.team = \"ran\"",
        &[
            "anomaly-detector 0.9",
            "qoe-predictor 1.0",
            "qoe-predictor 1.1",
        ],
    ),
    ("labels.team != \"ran\"", &["traffic-forecaster 2.0"]),
    ("labels.stage = \"*a*\"", &["qoe-predictor 1.1"]),
    (
        "labels.stage != \"prod*\"",
        &[
            "anomaly-detector 0.9",
            "qoe-predictor 1.1",
            "traffic-forecaster 2.0",
        ],
    ),
    (
        "labels.stage:*",
        &["qoe-predictor 1.0", "qoe-predictor 1.1"],
    ),
    (
        "labels:\"app.kubernetes.io/part-of\"",
        &["anomaly-detector 0.9"],
    ),
    (
        "labels.app.kubernetes.io/part-of = \"aimlfw\"",
        &["anomaly-detector 0.9"],
    ),
    ("aliases:\"canary\"", &["qoe-predictor 1.1"]),
    ("aliases:\"champion\"", &[]),
    (
        "-aliases:\"production\" AND model_id.model_name = \"qoe-predictor\"",
        &["qoe-predictor 1.1"],
    ),
    (
        "create_time > \"2000-01-01T00:00:00Z\"",
        &[
            "anomaly-detector 0.9",
            "qoe-predictor 1.0",
            "qoe-predictor 1.1",
            "traffic-forecaster 2.0",
        ],
    ),
    ("create_time <= \"2000-01-01T00:00:00+02:00\"", &[]),
    (
        "update_time < \"9999-12-31T23:59:59Z\" AND update_time >= \"1970-01-01T00:00:00.5Z\"",
        &[
            "anomaly-detector 0.9",
            "qoe-predictor 1.0",
            "qoe-predictor 1.1",
            "traffic-forecaster 2.0",
        ],
    ),
    // OR binds more tightly than AND (AIP-160).
    (
        "labels.team = \"sme\" AND model_id.model_version = \"2.0\" OR model_id.model_version = \"0.9\"",
        &["traffic-forecaster 2.0"],
    ),
    (
        "labels.team = \"sme\" model_id.model_version = \"2.0\"",
        &["traffic-forecaster 2.0"],
    ),
];

pub(super) async fn every_field_and_operator_finds_the_same_models(backend: Backend) {
    for server in cached_and_uncached(&backend).await {
        register_examples(&server).await;
        for (filter, expected) in CASES {
            let found = find_all(&server, filter, "", 0)
                .await
                .unwrap_or_else(|status| panic!("{filter}: {status:?}"));
            assert_eq!(found, *expected, "{filter}");
        }
        server.stop().await;
    }
}

/// Names that hold what SQL, LIKE or GLOB would read as syntax: each is found by its own
/// exact value and by a wildcard around it, and nothing else is.
const AWKWARD: &[&str] = &[
    "x' OR '1'='1",
    "a%b",
    "a_b",
    "a\\b",
    "a*b",
    "a?b[c]",
    "x; DROP TABLE model_related_information; --",
    "/* comment */",
    "ünïcödé 模型 😀",
    "\"quoted\"",
];

/// A filter literal for `text`: quotes, backslashes and stars escaped.
fn literal(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '*') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

pub(super) async fn literals_that_look_like_sql_are_data(backend: Backend) {
    for server in cached_and_uncached(&backend).await {
        literals_are_data_to(&server).await;
        server.stop().await;
    }
}

async fn literals_are_data_to(server: &TestServer) {
    for name in AWKWARD {
        server.register(model(name, "1", 1)).await.expect(name);
    }
    server.register(model("ab", "1", 1)).await.unwrap();
    for name in AWKWARD {
        let exact = format!("model_id.model_name = {}", literal(name));
        let found = find_all(server, &exact, "", 0).await.expect(&exact);
        assert_eq!(found, [format!("{name} 1")], "{exact}");
        let quoted = literal(name);
        let around = format!(
            "model_id.model_name = \"*{}*\"",
            &quoted[1..quoted.len() - 1]
        );
        let found = find_all(server, &around, "", 0).await.expect(&around);
        assert_eq!(found, [format!("{name} 1")], "{around}");
    }
    // Wildcards of LIKE and GLOB in a literal stand for themselves.
    for pattern in ["%", "_", "?", "[a]"] {
        let filter = format!("description = \"{pattern}\"");
        assert_eq!(
            find_all(server, &filter, "", 0).await.unwrap(),
            Vec::<String>::new()
        );
    }
    // Everything is still there.
    assert_eq!(
        find_all(server, "", "", 0).await.unwrap().len(),
        AWKWARD.len() + 1
    );
}

/// The rejection of `filter` (or `order_by`): its one violated field and its description.
async fn rejection(server: &TestServer, filter: &str, order_by: &str) -> (String, String) {
    let status = server
        .list(pb::ListModelsRequest {
            filter: filter.into(),
            order_by: order_by.into(),
            ..Default::default()
        })
        .await
        .expect_err("rejected");
    let fields = violated_fields(&status);
    assert_eq!(fields.len(), 1, "{filter}: {status:?}");
    let details = status.get_error_details();
    let description = details.bad_request().unwrap().field_violations[0]
        .description
        .clone();
    (fields[0].clone(), description)
}

pub(super) async fn malformed_filters_name_the_position_and_what_was_expected(backend: Backend) {
    let server = TestServer::start(backend).await;
    let cases: &[(&str, &str, &str)] = &[
        (
            "model_id.nmae = \"x\"",
            "filter",
            "at character 1: unknown field",
        ),
        ("description < \"x\"", "filter", "at character 13"),
        ("labels.team = ", "filter", "at character 15"),
        ("(aliases:\"a\"", "filter", "at character"),
        ("create_time > \"yesterday\"", "filter", "RFC 3339"),
        ("model_id.model_name = \"a*b\"", "filter", "at character"),
        ("labels.-bad = \"x\"", "filter", "key"),
    ];
    for (filter, field, expected) in cases {
        let (violated, description) = rejection(&server, filter, "").await;
        assert_eq!(&violated, field, "{filter}");
        assert!(description.contains(expected), "{filter}: {description}");
    }
    let (violated, description) = rejection(&server, "", "create_time sideways").await;
    assert_eq!(violated, "order_by");
    assert!(description.contains("at character"), "{description}");

    // The limits: 2000 characters, 50 comparisons.
    let long = format!("description = \"{}\"", "x".repeat(2_000));
    let (_, description) = rejection(&server, &long, "").await;
    assert!(description.contains("2001"), "{description}");
    let terms = vec!["aliases:\"a\""; 51].join(" OR ");
    let (_, description) = rejection(&server, &terms, "").await;
    assert!(description.contains("50"), "{description}");
    let fifty = vec!["aliases:\"a\""; 50].join(" OR ");
    assert!(find_all(&server, &fifty, "", 0).await.unwrap().is_empty());
    server.stop().await;
}
