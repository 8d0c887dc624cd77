//! ListModels: filters, order and keyset pagination.

use modelreg::pb;

use crate::common::{
    Backend, TestServer, environments_of, model, on_every_backend, violated_fields,
};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        filters_combine_by_and_and_no_match_is_empty,
        pagination_visits_every_model_once_in_order,
        page_tokens_are_bound_to_their_filters,
        page_sizes_follow_aip_158,
    )
}

fn request(name: &str, version: &str) -> pb::ListModelsRequest {
    pb::ListModelsRequest {
        model_name: name.into(),
        model_version: version.into(),
        ..Default::default()
    }
}

fn keys(response: &pb::ListModelsResponse) -> Vec<(String, String)> {
    response
        .models
        .iter()
        .map(|m| {
            let id = m.model_id.as_ref().unwrap();
            (id.model_name.clone(), id.model_version.clone())
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

async fn filters_combine_by_and_and_no_match_is_empty(backend: Backend) {
    let server = TestServer::start(backend).await;
    for (name, version) in [
        ("qoe", "2"),
        ("qoe", "1"),
        ("traffic", "1"),
        ("Qoe", "1"),
        ("qoe-x", "1"),
    ] {
        server.register(model(name, version, 2)).await.unwrap();
    }

    let all = server.list(request("", "")).await.unwrap();
    assert_eq!(
        keys(&all),
        pairs(&[
            ("Qoe", "1"),
            ("qoe", "1"),
            ("qoe", "2"),
            ("qoe-x", "1"),
            ("traffic", "1")
        ]),
        "ordered by name, then version, in byte order on every backend"
    );
    assert!(all.next_page_token.is_empty());
    assert!(
        all.models
            .iter()
            .all(|m| environments_of(m) == ["platform-0", "platform-1"])
    );

    assert_eq!(
        keys(&server.list(request("qoe", "")).await.unwrap()),
        pairs(&[("qoe", "1"), ("qoe", "2")])
    );
    assert_eq!(
        keys(&server.list(request("", "1")).await.unwrap()),
        pairs(&[("Qoe", "1"), ("qoe", "1"), ("qoe-x", "1"), ("traffic", "1")]),
        "version alone is a filter"
    );
    assert_eq!(
        keys(&server.list(request("qoe", "2")).await.unwrap()),
        pairs(&[("qoe", "2")])
    );
    let none = server
        .list(request("qoe", "3"))
        .await
        .expect("no match is not an error");
    assert!(none.models.is_empty() && none.next_page_token.is_empty());
    server.stop().await;
}

async fn pagination_visits_every_model_once_in_order(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut expected = Vec::new();
    for i in 0..300 {
        // Names repeat across versions so that pages break inside a name too.
        let (name, version) = (format!("model-{:03}", i / 3), format!("v{}", i % 3));
        server
            .register(model(&name, &version, i % 3))
            .await
            .unwrap();
        expected.push((name, version));
    }
    expected.sort();

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = server
            .list(pb::ListModelsRequest {
                page_size: 7,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        pages += 1;
        assert!(page.models.len() <= 7);
        for m in &page.models {
            let id = m.model_id.as_ref().unwrap();
            let index: usize = id.model_name[6..].parse::<usize>().unwrap() * 3
                + id.model_version[1..].parse::<usize>().unwrap();
            assert_eq!(
                environments_of(m).len(),
                index % 3,
                "each model has its own environments"
            );
        }
        seen.extend(keys(&page));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, expected, "no gaps, no duplicates, in order");
    assert_eq!(pages, 300usize.div_ceil(7));

    let default_page = server.list(request("", "")).await.unwrap();
    assert_eq!(default_page.models.len(), 50, "page_size 0 means 50");
    assert!(!default_page.next_page_token.is_empty());
    server.stop().await;
}

async fn page_tokens_are_bound_to_their_filters(backend: Backend) {
    let server = TestServer::start(backend).await;
    for version in ["1", "2", "3"] {
        server.register(model("qoe", version, 0)).await.unwrap();
    }
    let first = server
        .list(pb::ListModelsRequest {
            page_size: 1,
            ..request("qoe", "")
        })
        .await
        .unwrap();
    assert!(!first.next_page_token.is_empty());

    let reused = server
        .list(pb::ListModelsRequest {
            page_token: first.next_page_token.clone(),
            ..request("traffic", "")
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&reused), ["page_token"]);

    let garbage = server
        .list(pb::ListModelsRequest {
            page_token: "garbage!".into(),
            ..request("qoe", "")
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&garbage), ["page_token"]);

    // The page size may change between pages.
    let rest = server
        .list(pb::ListModelsRequest {
            page_size: 10,
            page_token: first.next_page_token,
            ..request("qoe", "")
        })
        .await
        .unwrap();
    assert_eq!(keys(&rest), pairs(&[("qoe", "2"), ("qoe", "3")]));
    assert!(rest.next_page_token.is_empty());
    server.stop().await;
}

async fn page_sizes_follow_aip_158(backend: Backend) {
    let server = TestServer::start(backend).await;
    for version in ["1", "2"] {
        server.register(model("qoe", version, 1)).await.unwrap();
    }
    let negative = server
        .list(pb::ListModelsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&negative), ["page_size"]);

    let huge = server
        .list(pb::ListModelsRequest {
            page_size: i32::MAX,
            ..Default::default()
        })
        .await
        .expect("a huge page size is coerced, not refused");
    assert_eq!(huge.models.len(), 2);

    let exact = server
        .list(pb::ListModelsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        exact.next_page_token.is_empty(),
        "no token when nothing follows"
    );
    server.stop().await;
}
