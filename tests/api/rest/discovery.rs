//! R1AP §10.2 over REST: `GET /ai-ml-model-discovery/v1/models`, the standard's parameters and
//! the registry's filter, order and pages.

use serde_json::Value;

use super::{Rest, assert_problem, registration_body};
use crate::common::{Backend, TestServer, model, on_every_backend};

const MODELS: &str = "/ai-ml-model-discovery/v1/models";

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        name_and_version_are_optional_and_combined_with_and,
        unknown_and_malformed_parameters_are_400,
        filter_and_order_work_as_over_grpc,
        pages_follow_link_headers_to_the_end,
        every_match_is_one_array_across_internal_pages,
    )
}

fn names(models: &Value) -> Vec<String> {
    models
        .as_array()
        .unwrap()
        .iter()
        .map(|model| {
            format!(
                "{}/{}",
                model["modelId"]["modelName"].as_str().unwrap(),
                model["modelId"]["modelVersion"].as_str().unwrap()
            )
        })
        .collect()
}

async fn listed(rest: &Rest, query: &str) -> Vec<String> {
    let answer = rest.get(&format!("{MODELS}{query}")).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
    names(&answer.json())
}

async fn name_and_version_are_optional_and_combined_with_and(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    for (name, version) in [("qoe", "1"), ("qoe", "2"), ("energy", "1")] {
        rest.register(&registration_body(name, version)).await;
    }
    assert_eq!(listed(&rest, "").await, ["energy/1", "qoe/1", "qoe/2"]);
    assert_eq!(listed(&rest, "?model-name=qoe").await, ["qoe/1", "qoe/2"]);
    assert_eq!(
        listed(&rest, "?model-version=1").await,
        ["energy/1", "qoe/1"]
    );
    assert_eq!(
        listed(&rest, "?model-name=qoe&model-version=2").await,
        ["qoe/2"]
    );
    assert!(listed(&rest, "?model-name=none").await.is_empty());
    assert!(
        listed(&rest, "?model-name=energy&model-version=2")
            .await
            .is_empty()
    );
    // The answers are what gRPC's ListModels holds.
    let sequence = rest
        .get(MODELS)
        .await
        .header("modelreg-sequence")
        .map(str::to_owned);
    let grpc = server.list(Default::default()).await.unwrap();
    assert_eq!(sequence, Some(grpc.sequence.to_string()));
}

async fn unknown_and_malformed_parameters_are_400(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let problem = assert_problem(
        &rest.get(&format!("{MODELS}?model-me=qoe2")).await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_eq!(problem["invalidParams"][0]["param"], "model-me");
    let twice = rest
        .get(&format!("{MODELS}?model-name=a&model-name=b"))
        .await;
    assert_eq!(
        assert_problem(&twice, 400, "INVALID_ARGUMENT")["invalidParams"][0]["param"],
        "model-name"
    );
    let size = rest.get(&format!("{MODELS}?page-size=ten")).await;
    assert_eq!(
        assert_problem(&size, 400, "INVALID_ARGUMENT")["invalidParams"][0]["param"],
        "page-size"
    );
    let negative = rest.get(&format!("{MODELS}?page-size=-1")).await;
    assert_eq!(
        assert_problem(&negative, 400, "INVALID_ARGUMENT")["invalidParams"][0]["param"],
        "page-size"
    );
    let filter = rest
        .get(&format!("{MODELS}?filter=colour%20%3D%20%22red%22"))
        .await;
    assert_eq!(
        assert_problem(&filter, 400, "INVALID_ARGUMENT")["invalidParams"][0]["param"],
        "filter"
    );
    let token = rest.get(&format!("{MODELS}?page-token=forged")).await;
    assert_eq!(
        assert_problem(&token, 400, "INVALID_ARGUMENT")["invalidParams"][0]["param"],
        "page-token"
    );
}

async fn filter_and_order_work_as_over_grpc(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    for (name, platform) in [("a", "kserve"), ("b", "triton"), ("c", "kserve")] {
        let mut body = registration_body(name, "1");
        body["modelInformation"]["targetEnvironment"][0]["platformName"] = platform.into();
        rest.register(&body).await;
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "filter",
            "model_information.target_environment.platform_name = \"kserve\"",
        )
        .append_pair("order-by", "model_id.model_name desc")
        .finish();
    assert_eq!(listed(&rest, &format!("?{query}")).await, ["c/1", "a/1"]);
}

async fn pages_follow_link_headers_to_the_end(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    for i in 0..5 {
        server
            .register(model(&format!("m{i}"), "1", 1))
            .await
            .unwrap();
    }
    let mut path = format!("{MODELS}?page-size=2&model-version=1");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let answer = rest.get(&path).await;
        assert_eq!(answer.status, 200);
        seen.extend(names(&answer.json()));
        pages += 1;
        let Some(link) = answer.header("link") else {
            break;
        };
        let target = link
            .strip_prefix('<')
            .and_then(|rest| rest.split_once(">; rel=\"next\""))
            .map(|(target, _)| target.to_owned())
            .unwrap_or_else(|| panic!("a next link: {link}"));
        assert!(
            target.contains("model-version=1") && target.contains("page-size=2"),
            "{target}"
        );
        path = target;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["m0/1", "m1/1", "m2/1", "m3/1", "m4/1"]);
}

async fn every_match_is_one_array_across_internal_pages(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    // More than the largest page (1000): the answer is written in two.
    let total = 1003;
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let client = server.registration.clone();
            tokio::spawn(async move {
                for i in (writer..total).step_by(4) {
                    client
                        .clone()
                        .register_model(modelreg::pb::RegisterModelRequest {
                            model_related_information: Some(model(&format!("m{i:05}"), "1", 0)),
                            request_id: String::new(),
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let all = listed(&rest, "").await;
    assert_eq!(all.len(), total);
    let expected: Vec<_> = (0..total).map(|i| format!("m{i:05}/1")).collect();
    assert_eq!(all, expected);
}
