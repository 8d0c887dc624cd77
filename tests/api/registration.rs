//! RegisterModel and GetModelRegistration.

use std::collections::HashSet;

use modelreg::pb;
use tonic::Code;

use crate::common::{
    Backend, TestServer, assert_error, environments_of, model, on_every_backend, violated_fields,
};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        register_assigns_the_output_fields,
        registration_round_trips_through_get,
        every_invalid_field_is_reported_at_once,
        a_duplicate_name_and_version_already_exists,
        exactly_one_of_racing_duplicates_wins,
        a_repeated_request_id_returns_the_first_registration,
        get_tells_malformed_from_unknown_ids,
        names_that_differ_only_in_case_are_two_models_in_byte_order,
    )
}

/// Every backend compares names byte by byte (PostgreSQL `COLLATE "C"`, MySQL
/// `utf8mb4_nopad_bin`): `Model` and `model` are two models, and upper case sorts first.
async fn names_that_differ_only_in_case_are_two_models_in_byte_order(backend: Backend) {
    let server = TestServer::start(backend).await;
    for name in ["model", "Model", "MODEL", "modél", "mode"] {
        server.register(model(name, "1", 1)).await.unwrap();
    }
    let duplicate = server.register(model("Model", "1", 1)).await.unwrap_err();
    assert_error(&duplicate, Code::AlreadyExists, "MODEL_ALREADY_REGISTERED");
    let names = |request: pb::ListModelsRequest| async {
        let page = server.list(request).await.unwrap();
        page.models
            .into_iter()
            .map(|found| found.model_id.unwrap().model_name)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(pb::ListModelsRequest::default()).await,
        ["MODEL", "Model", "mode", "model", "modél"]
    );
    let exact = pb::ListModelsRequest {
        model_name: "Model".into(),
        ..Default::default()
    };
    assert_eq!(names(exact).await, ["Model"]);
    let prefix = pb::ListModelsRequest {
        filter: "model_id.model_name = \"mod*\"".into(),
        ..Default::default()
    };
    assert_eq!(names(prefix).await, ["mode", "model", "modél"]);
}

async fn register_assigns_the_output_fields(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut info = model("qoe", "1.0", 2);
    // Output-only values sent by a client are ignored.
    info.model_registration_id = "00000000-0000-0000-0000-000000000001".into();
    info.model_id.as_mut().unwrap().artifact_version = "9.9.9".into();
    info.etag = "client-etag".into();
    info.create_time = Some(prost_types::Timestamp {
        seconds: 1,
        nanos: 0,
    });

    let registered = server.register(info).await.unwrap();

    let id = uuid::Uuid::parse_str(&registered.model_registration_id).expect("a UUID id");
    assert_ne!(id.to_string(), "00000000-0000-0000-0000-000000000001");
    assert_eq!(
        registered.model_id.as_ref().unwrap().artifact_version,
        "0.0.0"
    );
    assert!(!registered.etag.is_empty() && registered.etag != "client-etag");
    let created = registered.create_time.expect("create_time");
    assert!(
        created.seconds > 1_700_000_000,
        "create_time is now, not the client's"
    );
    assert_eq!(registered.update_time, Some(created));
    server.stop().await;
}

async fn registration_round_trips_through_get(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut info = model("qoe", "1.0", 3);
    let information = info.model_information.as_mut().unwrap();
    information.target_environment.reverse();
    information.output_data_type = vec!["a,b".into(), "c, d".into(), "ü".into()];

    let registered = server.register(info.clone()).await.unwrap();
    let read = server.get(&registered.model_registration_id).await.unwrap();

    assert_eq!(read, registered, "get answers what register answered");
    assert_eq!(
        read.model_information, info.model_information,
        "lists keep order and commas"
    );
    assert_eq!(
        environments_of(&read),
        ["platform-2", "platform-1", "platform-0"]
    );
    assert_eq!(read.model_location, info.model_location);
    server.stop().await;
}

async fn every_invalid_field_is_reported_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut info = model("qoe", "1.0", 2);
    info.model_id.as_mut().unwrap().model_version = "1.0 ".into();
    info.description = String::new();
    info.model_location = "not a uri".into();
    let information = info.model_information.as_mut().unwrap();
    information.metadata.as_mut().unwrap().author = String::new();
    information.input_data_type.clear();
    information.target_environment[1].platform_name = String::new();

    let status = server.register(info).await.unwrap_err();

    assert_eq!(
        violated_fields(&status),
        [
            "model_related_information.model_id.model_version",
            "model_related_information.description",
            "model_related_information.model_location",
            "model_related_information.model_information.metadata.author",
            "model_related_information.model_information.input_data_type",
            "model_related_information.model_information.target_environment[1].platform_name",
        ]
    );
    let missing = server
        .registration
        .clone()
        .register_model(pb::RegisterModelRequest::default())
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&missing), ["model_related_information"]);
    let listed = server.list(pb::ListModelsRequest::default()).await.unwrap();
    assert!(listed.models.is_empty(), "nothing was stored");
    server.stop().await;
}

async fn a_duplicate_name_and_version_already_exists(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.register(model("qoe", "1.0", 1)).await.unwrap();

    let status = server.register(model("qoe", "1.0", 2)).await.unwrap_err();

    let details = assert_error(&status, Code::AlreadyExists, "MODEL_ALREADY_REGISTERED");
    let metadata = &details.error_info().unwrap().metadata;
    assert_eq!(metadata["model_name"], "qoe");
    assert_eq!(metadata["model_version"], "1.0");
    // Another version of the same name is a different model.
    server.register(model("qoe", "1.1", 0)).await.unwrap();
    server.stop().await;
}

async fn exactly_one_of_racing_duplicates_wins(backend: Backend) {
    let server = TestServer::start(backend).await;
    let attempts = (0..24).map(|i| {
        let server = &server;
        async move { server.register(model("contended", "1", i % 4)).await }
    });

    let results = futures::future::join_all(attempts).await;

    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "exactly one registration wins: {results:?}");
    for status in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_error(status, Code::AlreadyExists, "MODEL_ALREADY_REGISTERED");
    }
    let winner = results.into_iter().find_map(Result::ok).unwrap();
    let listed = server.list(pb::ListModelsRequest::default()).await.unwrap();
    assert_eq!(listed.models, std::slice::from_ref(&winner));
    let expected_rows = environments_of(&winner).len() as i64;
    assert_eq!(
        server
            .database
            .count("SELECT COUNT(*) FROM target_environments")
            .await,
        expected_rows,
        "the losers left no environment rows behind"
    );
    server.stop().await;
}

async fn a_repeated_request_id_returns_the_first_registration(backend: Backend) {
    let server = TestServer::start(backend).await;
    let request = pb::RegisterModelRequest {
        model_related_information: Some(model("qoe", "1.0", 2)),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let client = server.registration.clone();

    // Concurrent retries of one request all get the one registration.
    let retries = (0..8).map(|_| {
        let (mut client, request) = (client.clone(), request.clone());
        async move {
            client
                .register_model(request)
                .await
                .map(tonic::Response::into_inner)
        }
    });
    let answers = futures::future::join_all(retries).await;
    let ids: HashSet<_> = answers
        .iter()
        .map(|a| {
            a.as_ref()
                .expect("a retry succeeds")
                .model_registration_id
                .clone()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");

    let again = client
        .clone()
        .register_model(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(&again, answers[0].as_ref().unwrap());

    // Without the request id, the same body is a duplicate.
    let status = server.register(model("qoe", "1.0", 2)).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);

    let too_long = pb::RegisterModelRequest {
        request_id: "x".repeat(256),
        ..request
    };
    let status = client.clone().register_model(too_long).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["request_id"]);
    server.stop().await;
}

async fn get_tells_malformed_from_unknown_ids(backend: Backend) {
    let server = TestServer::start(backend).await;

    let status = server.get("not-a-uuid").await.unwrap_err();
    assert_eq!(violated_fields(&status), ["model_registration_id"]);
    let status = server.get("").await.unwrap_err();
    assert_eq!(violated_fields(&status), ["model_registration_id"]);

    let unknown = uuid::Uuid::new_v4().to_string();
    let status = server.get(&unknown).await.unwrap_err();
    let details = assert_error(&status, Code::NotFound, "MODEL_REGISTRATION_NOT_FOUND");
    assert_eq!(
        details.error_info().unwrap().metadata["model_registration_id"],
        unknown
    );
    server.stop().await;
}
