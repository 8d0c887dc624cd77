//! The example models of docs/filtering.md, registered as the page describes them.

use std::collections::BTreeMap;

use modelreg::{CacheMode, pb};

use crate::common::{Backend, TestServer};

struct Example {
    name: &'static str,
    version: &'static str,
    author: &'static str,
    owner: &'static str,
    inputs: &'static [&'static str],
    outputs: &'static [&'static str],
    environments: &'static [(&'static str, &'static str, &'static str)],
    labels: &'static [(&'static str, &'static str)],
    alias: Option<&'static str>,
}

const EXAMPLES: [Example; 4] = [
    Example {
        name: "qoe-predictor",
        version: "1.0",
        author: "alice",
        owner: "ran-team",
        inputs: &["pdcpBytesDl", "pdcpBytesUl"],
        outputs: &["qoe"],
        environments: &[
            ("kserve", "onnx", "onnxruntime"),
            ("triton", "tensorrt", "tensorrt-8"),
        ],
        labels: &[("team", "ran"), ("stage", "production")],
        alias: Some("production"),
    },
    Example {
        name: "qoe-predictor",
        version: "1.1",
        author: "alice",
        owner: "ran-team",
        inputs: &["pdcpBytesDl", "rsrp"],
        outputs: &["qoe"],
        environments: &[("kserve", "tensorrt", "tensorrt-8")],
        labels: &[("team", "ran"), ("stage", "canary")],
        alias: Some("canary"),
    },
    Example {
        name: "traffic-forecaster",
        version: "2.0",
        author: "bob",
        owner: "",
        inputs: &["prbUsageDl"],
        outputs: &["trafficForecast"],
        environments: &[("kserve", "onnx", "onnxruntime")],
        labels: &[("team", "sme")],
        alias: None,
    },
    Example {
        name: "anomaly-detector",
        version: "0.9",
        author: "carol",
        owner: "ops",
        inputs: &["pdcpBytesUl"],
        outputs: &["anomalyScore"],
        environments: &[("docker", "python", "scikit-learn")],
        labels: &[("team", "ran"), ("app.kubernetes.io/part-of", "aimlfw")],
        alias: None,
    },
];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// Registers the example models in the page's order (so their create times follow it) and
/// sets their aliases.
pub(crate) async fn register_examples(server: &TestServer) {
    for example in &EXAMPLES {
        let labels: BTreeMap<String, String> = example
            .labels
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let info = pb::ModelRelatedInformation {
            model_id: Some(pb::ModelId {
                model_name: example.name.into(),
                model_version: example.version.into(),
                artifact_version: String::new(),
            }),
            description: format!("{} {}", example.name, example.version),
            model_information: Some(pb::ModelInformation {
                metadata: Some(pb::Metadata {
                    author: example.author.into(),
                    owner: example.owner.into(),
                }),
                input_data_type: strings(example.inputs),
                output_data_type: strings(example.outputs),
                target_environment: example
                    .environments
                    .iter()
                    .map(|(platform, kind, dependencies)| pb::TargetEnvironment {
                        platform_name: platform.to_string(),
                        environment_type: kind.to_string(),
                        dependency_list: dependencies.to_string(),
                    })
                    .collect(),
            }),
            labels,
            ..Default::default()
        };
        server.register(info).await.expect("register an example");
        if let Some(alias) = example.alias {
            server
                .registration
                .clone()
                .set_model_alias(pb::SetModelAliasRequest {
                    model_name: example.name.into(),
                    alias: alias.into(),
                    model_version: example.version.into(),
                })
                .await
                .expect("set an example's alias");
        }
    }
}

/// "name version" of every model of a listing, in its order.
pub(crate) fn listed(response: &pb::ListModelsResponse) -> Vec<String> {
    response
        .models
        .iter()
        .map(|model| {
            let id = model.model_id.as_ref().unwrap();
            format!("{} {}", id.model_name, id.model_version)
        })
        .collect()
}

/// Every model that `filter` (in `order_by`) finds, following page tokens.
pub(crate) async fn find_all(
    server: &TestServer,
    filter: &str,
    order_by: &str,
    page_size: i32,
) -> Result<Vec<String>, tonic::Status> {
    let mut found = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = server
            .list(pb::ListModelsRequest {
                filter: filter.into(),
                order_by: order_by.into(),
                page_size,
                page_token,
                ..Default::default()
            })
            .await?;
        found.extend(listed(&page));
        page_token = page.next_page_token;
        if page_token.is_empty() {
            return Ok(found);
        }
    }
}

/// A server that answers discovery from its read cache, and one that asks its database: a
/// filter must find the same models through both.
pub(crate) async fn cached_and_uncached(backend: &Backend) -> [TestServer; 2] {
    let cached = TestServer::start(backend.clone()).await;
    let uncached = TestServer::start_with(backend.clone(), |config| {
        config.cache.read_cache = CacheMode::Off;
    })
    .await;
    [cached, uncached]
}
