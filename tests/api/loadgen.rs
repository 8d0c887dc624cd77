//! The load generator behind `modelreg bench`, run briefly against a real server: every
//! scenario is measured, ratios are taken against `health`, and the seeded and registered
//! models really exist afterwards.

use std::time::Duration;

use modelreg::client::ConnectionArgs;
use modelreg::client::bench::{self as loadgen, BenchConfig, LoadError, Scenario};
use modelreg::pb;

use crate::common::{Backend, TestServer, on_every_backend, plain_async, plain_sync};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    [
        on_every_backend!(every_scenario_is_measured_against_health),
        plain_async!(an_unreachable_server_is_named_in_the_error),
        plain_sync!(scenarios_parse_from_their_names),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn config(server: String) -> BenchConfig {
    BenchConfig {
        connection: ConnectionArgs::new(server),
        scenarios: Scenario::ALL.to_vec(),
        concurrency: 4,
        connections: 2,
        duration: Duration::from_secs(1),
        requests: Some(40),
        warmup: Duration::ZERO,
        seed: 20,
    }
}

async fn every_scenario_is_measured_against_health(backend: Backend) {
    let server = TestServer::start(backend).await;
    let report = loadgen::run(&config(format!("http://{}", server.addr)))
        .await
        .expect("the load run");

    let names: Vec<String> = report
        .measurements
        .iter()
        .map(|m| m.scenario.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "health",
            "get",
            "list-10",
            "list-100",
            "list-1000",
            "update",
            "register",
            "mixed"
        ]
    );
    for m in &report.measurements {
        assert_eq!(m.requests, 40, "{}", m.scenario);
        assert_eq!(m.errors, 0, "{}: {:?}", m.scenario, m.first_error);
        assert!(m.elapsed > Duration::ZERO);
        assert!(m.max() > Duration::ZERO);
    }
    assert!(report.ratio_to_health(Scenario::Get).unwrap() > 0.0);
    let table = report.to_string();
    assert!(
        table.contains("vs health") && table.contains("list-1000"),
        "{table}"
    );

    // 20 seeded, 40 from `register`, and about 4 of every 40 `mixed` requests register.
    let listed = server
        .list(pb::ListModelsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(listed.models.len() >= 60, "{} models", listed.models.len());
    assert!(listed.models.iter().all(|m| {
        m.model_information
            .as_ref()
            .unwrap()
            .target_environment
            .len()
            == 3
    }));
}

async fn an_unreachable_server_is_named_in_the_error() {
    // A port that was free a moment ago: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = format!("http://{addr}");
    let error = loadgen::run(&config(server.clone())).await.unwrap_err();
    assert!(matches!(error, LoadError::Connect { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&server) && message.contains("--server"),
        "{message}"
    );
}

fn scenarios_parse_from_their_names() {
    for scenario in Scenario::ALL {
        assert_eq!(scenario.to_string().parse::<Scenario>(), Ok(scenario));
    }
    assert_eq!("list-250".parse::<Scenario>(), Ok(Scenario::List(250)));
    for bad in ["list-0", "list-1001", "lists", "GET"] {
        assert!(bad.parse::<Scenario>().is_err(), "{bad}");
    }
}
