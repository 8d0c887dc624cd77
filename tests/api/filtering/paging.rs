//! Keyset pagination under every order: while models are registered and updated, every model
//! that exists throughout and keeps its sort key is listed exactly once, pages follow the
//! order, and tokens are bound to the filter and order they were made for.

use std::collections::HashMap;

use modelreg::pb;

use crate::common::{Backend, TestServer, model, violated_fields};

const ORDERS: &[&str] = &[
    "",
    "model_id.model_name desc",
    "model_id.model_version",
    "model_id.model_version desc, model_id.model_name desc",
    "create_time",
    "create_time desc",
    "update_time",
    "update_time desc",
];

/// A model's sort keys as the API shows them.
fn keys(model: &pb::ModelRelatedInformation) -> (String, String, (i64, i32), (i64, i32)) {
    let id = model.model_id.as_ref().unwrap();
    let time = |t: &Option<prost_types::Timestamp>| {
        let t = t.as_ref().unwrap();
        (t.seconds, t.nanos)
    };
    (
        id.model_name.clone(),
        id.model_version.clone(),
        time(&model.create_time),
        time(&model.update_time),
    )
}

/// Whether `b` may follow `a` under `order`.
fn in_order(order: &str, a: &pb::ModelRelatedInformation, b: &pb::ModelRelatedInformation) -> bool {
    let (a, b) = (keys(a), keys(b));
    let by_name = (a.0.clone(), a.1.clone()) <= (b.0.clone(), b.1.clone());
    match order {
        "" => by_name,
        "model_id.model_name desc" => a.0 >= b.0,
        "model_id.model_version" => a.1 <= b.1,
        "model_id.model_version desc, model_id.model_name desc" => (&a.1, &a.0) >= (&b.1, &b.0),
        "create_time" => a.2 <= b.2,
        "create_time desc" => a.2 >= b.2,
        "update_time" => a.3 <= b.3,
        "update_time desc" => a.3 >= b.3,
        other => panic!("no oracle for {other}"),
    }
}

pub(super) async fn every_order_pages_without_gaps_or_duplicates_while_writes_happen(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    // Few names and versions, so that orders on one of them have many ties to break.
    let mut stable = Vec::new();
    for n in 0..40 {
        let name = format!("model-{}", n % 7);
        let version = format!("{}.{}", n % 3, n);
        let registered = server.register(model(&name, &version, 1)).await.unwrap();
        stable.push(registered.model_registration_id);
    }
    let mut churned = Vec::new();
    for n in 0..10 {
        let registered = server
            .register(model("churn", &n.to_string(), 1))
            .await
            .unwrap();
        churned.push(registered);
    }
    for order in ORDERS {
        // Writers run through the whole listing: new models, and updates that move the churned
        // ones in the update_time orders.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let writer = {
            let server_registration = server.registration.clone();
            let churned = churned.clone();
            let order = order.to_string();
            tokio::spawn(async move {
                let mut written = 0;
                while !*stopped.borrow() {
                    let mut client = server_registration.clone();
                    let new = model("late", &format!("{order}-{written}"), 1);
                    client
                        .register_model(pb::RegisterModelRequest {
                            model_related_information: Some(new),
                            request_id: String::new(),
                        })
                        .await
                        .expect("register while listing");
                    let mut change = churned[written % churned.len()].clone();
                    change.description = format!("changed {written}");
                    change.etag.clear();
                    client
                        .update_model_registration(pb::UpdateModelRegistrationRequest {
                            model_related_information: Some(change),
                            update_mask: Some(prost_types::FieldMask {
                                paths: vec!["description".into()],
                            }),
                        })
                        .await
                        .expect("update while listing");
                    written += 1;
                }
                written
            })
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut previous: Option<pb::ModelRelatedInformation> = None;
        let mut page_token = String::new();
        loop {
            let page = server
                .list(pb::ListModelsRequest {
                    order_by: order.to_string(),
                    page_size: 3,
                    page_token,
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|status| panic!("{order}: {status:?}"));
            for listed in &page.models {
                if let Some(before) = &previous
                    && !listed
                        .model_id
                        .as_ref()
                        .unwrap()
                        .model_name
                        .starts_with("churn")
                    && !before
                        .model_id
                        .as_ref()
                        .unwrap()
                        .model_name
                        .starts_with("churn")
                {
                    assert!(
                        in_order(order, before, listed),
                        "{order}: {before:?} then {listed:?}"
                    );
                }
                previous = Some(listed.clone());
                *seen
                    .entry(listed.model_registration_id.clone())
                    .or_default() += 1;
            }
            page_token = page.next_page_token;
            if page_token.is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
        stop.send(true).unwrap();
        let written = writer.await.unwrap();
        for id in &stable {
            assert_eq!(
                seen.get(id),
                Some(&1),
                "{order}: model {id} listed once, {written} writes"
            );
        }
        assert!(written > 0, "{order}: the listing ran beside writes");
    }
    server.stop().await;
}

pub(super) async fn page_tokens_are_bound_to_filter_and_order(backend: Backend) {
    let server = TestServer::start(backend).await;
    for n in 0..3 {
        server
            .register(model("qoe", &n.to_string(), 1))
            .await
            .unwrap();
    }
    let first = |filter: &str, order_by: &str| pb::ListModelsRequest {
        filter: filter.into(),
        order_by: order_by.into(),
        page_size: 1,
        ..Default::default()
    };
    let page = server
        .list(first("model_id.model_name = \"qoe\"", "create_time desc"))
        .await
        .unwrap();
    assert!(!page.next_page_token.is_empty());
    for (filter, order_by) in [
        ("model_id.model_name = \"qoe\"", "create_time"),
        ("model_id.model_name = \"q*\"", "create_time desc"),
        ("", ""),
    ] {
        let mut request = first(filter, order_by);
        request.page_token = page.next_page_token.clone();
        let status = server.list(request).await.unwrap_err();
        assert_eq!(
            violated_fields(&status),
            ["page_token"],
            "{filter} / {order_by}"
        );
    }
    // The same filter and order continue, whatever the page size.
    let mut request = first("model_id.model_name = \"qoe\"", "create_time desc");
    request.page_token = page.next_page_token;
    request.page_size = 10;
    let rest = server.list(request).await.unwrap();
    let versions: Vec<String> = rest
        .models
        .iter()
        .map(|m| m.model_id.as_ref().unwrap().model_version.clone())
        .collect();
    assert_eq!(versions, ["1", "0"]);
    server.stop().await;
}
