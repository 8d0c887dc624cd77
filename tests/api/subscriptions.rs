//! Model change subscriptions: notifications POSTed to a real HTTP receiver (axum on
//! 127.0.0.1:0, its range opened with --callback-allow), every event once and in order,
//! signed so that the Standard Webhooks project's own library verifies them; a receiver that
//! fails for a while gets everything afterwards, in order; internal destinations are refused
//! without the flag, also when a name resolves to one; a consumer is told only of its scope.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use modelreg::pb::{self, model_subscription_service_client::ModelSubscriptionServiceClient};
use tonic::transport::Channel;
use tonic::{Code, Request};

use crate::common::{Backend, TestServer, assert_error, model, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let mut trials = vec![crate::common::trials::on_postgres(
        module_path!(),
        "another_replica_continues_when_the_deliverer_is_killed",
        another_replica_continues_when_the_deliverer_is_killed,
    )];
    trials.extend(on_every_backend!(
        every_event_once_in_order_and_verified,
        batches_carry_several_events_in_order,
        a_receiver_that_fails_for_a_while_gets_everything_in_order,
        redirects_are_not_followed,
        events_pruned_while_the_receiver_was_away_are_reported_lost,
        internal_destinations_are_refused_without_the_flag,
        a_name_that_resolves_to_an_internal_address_is_refused,
        subscriptions_are_their_owners_and_bounded_by_scope,
        bad_requests_list_every_violation,
        the_rest_resource_speaks_the_same_json,
        the_cli_creates_lists_shows_and_deletes,
    ));
    trials
}

/// What a receiver got: each POST's headers and body.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Answer this many POSTs with 503 first.
    failures_left: Arc<Mutex<u32>>,
}

impl Receiver {
    /// Serves on 127.0.0.1:0; returns its URL.
    async fn start(&self) -> String {
        let state = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    let mut failures = state.failures_left.lock().unwrap();
                    if *failures > 0 {
                        *failures -= 1;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    state.received.lock().unwrap().push((headers, body));
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/hook")
    }

    fn received(&self) -> Vec<(HeaderMap, Bytes)> {
        self.received.lock().unwrap().clone()
    }

    /// The CloudEvents received so far, in order (batches flattened).
    fn events(&self) -> Vec<serde_json::Value> {
        self.received()
            .into_iter()
            .flat_map(|(_, body)| match serde_json::from_slice(&body).unwrap() {
                serde_json::Value::Array(events) => events,
                event => vec![event],
            })
            .collect()
    }

    /// Waits until `count` events arrived (at most 20 s).
    async fn wait_for(&self, count: usize) -> Vec<serde_json::Value> {
        for _ in 0..400 {
            let events = self.events();
            if events.len() >= count {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("only {} of {count} events arrived", self.events().len());
    }
}

async fn server_allowing_loopback(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |config| {
        config.callbacks.callback_allow = vec!["127.0.0.0/8".parse().unwrap()];
        config.callbacks.callback_retry_max = Duration::from_millis(200);
        config.callbacks.callback_lease = Duration::from_secs(3);
    })
    .await
}

async fn client(server: &TestServer) -> ModelSubscriptionServiceClient<Channel> {
    ModelSubscriptionServiceClient::connect(server.url.clone())
        .await
        .unwrap()
}

fn subscription(destination: &str) -> pb::Subscription {
    pb::Subscription {
        notification_destination: destination.into(),
        ..Default::default()
    }
}

async fn create(
    server: &TestServer,
    subscription: pb::Subscription,
) -> Result<pb::CreateSubscriptionResponse, tonic::Status> {
    client(server)
        .await
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(subscription),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Registers `name` version 1, updates it twice and deletes it: 4 events.
async fn four_changes(server: &TestServer, name: &str) {
    let registered = server.register(model(name, "1", 1)).await.unwrap();
    let id = registered.model_registration_id.clone();
    let mut etag = registered.etag.clone();
    for round in 0..2 {
        let patch = pb::ModelRelatedInformation {
            model_registration_id: id.clone(),
            description: format!("round {round}"),
            ..Default::default()
        };
        etag = server.update(patch, &["description"]).await.unwrap().etag;
    }
    server.delete(&id, &etag).await.unwrap();
}

/// The subscription `id` as GetSubscription shows it.
async fn current(server: &TestServer, id: &str) -> pb::Subscription {
    client(server)
        .await
        .get_subscription(pb::GetSubscriptionRequest {
            subscription_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// The subscription once `until` holds of it, or as it is after 4 s.
async fn shown_once(
    server: &TestServer,
    id: &str,
    until: impl Fn(&pb::Subscription) -> bool,
) -> pb::Subscription {
    for _ in 0..200 {
        let subscription = current(server, id).await;
        if until(&subscription) {
            return subscription;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    current(server, id).await
}

fn types_of(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| event["data"]["type"].as_str().unwrap().to_owned())
        .collect()
}

fn sequences_of(events: &[serde_json::Value]) -> Vec<i64> {
    events
        .iter()
        .map(|event| event["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn every_event_once_in_order_and_verified(backend: Backend) {
    let server = server_allowing_loopback(backend).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let created = create(&server, subscription(&url)).await.unwrap();
    assert!(created.secret.starts_with("whsec_"), "{}", created.secret);
    four_changes(&server, "qoe").await;

    let events = receiver.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events_now = receiver.events();
    assert_eq!(events_now.len(), 4, "each event exactly once");
    assert_eq!(
        types_of(&events),
        [
            "MODEL_REGISTERED",
            "MODEL_UPDATED",
            "MODEL_UPDATED",
            "MODEL_DEREGISTERED"
        ]
    );
    let sequences = sequences_of(&events);
    assert!(
        sequences.windows(2).all(|pair| pair[0] < pair[1]),
        "{sequences:?}"
    );
    let verifier = standardwebhooks::Webhook::new(&created.secret).unwrap();
    for ((headers, body), event) in receiver.received().iter().zip(&events) {
        verifier
            .verify(body, headers)
            .expect("the Standard Webhooks library verifies the notification");
        assert_eq!(headers["content-type"], "application/cloudevents+json");
        assert_eq!(headers["webhook-id"], event["id"].as_str().unwrap());
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["data"]["modelId"]["modelName"], "qoe");
    }
    // A forged body does not verify.
    let (headers, _) = &receiver.received()[0];
    assert!(verifier.verify(b"{\"forged\":true}", headers).is_err());

    let subscription_id = created.subscription.unwrap().subscription_id;
    let shown = current(&server, &subscription_id).await;
    assert_eq!(shown.acknowledged_sequence, *sequences.last().unwrap());
    assert_eq!(shown.lag_events, 0);
    assert_eq!(shown.state, pb::DeliveryState::Healthy as i32);
    assert!(shown.last_error.is_empty());
}

async fn batches_carry_several_events_in_order(backend: Backend) {
    let server = server_allowing_loopback(backend).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    // Nothing is delivered while the receiver refuses, so the changes pile up into batches.
    *receiver.failures_left.lock().unwrap() = 1;
    let mut asked = subscription(&url);
    asked.max_batch = 10;
    asked.filter = Some(pb::SubscriptionFilter {
        types: vec![pb::EventType::ModelUpdated as i32],
        ..Default::default()
    });
    let created = create(&server, asked).await.unwrap();
    four_changes(&server, "batched").await;
    let events = receiver.wait_for(2).await;
    assert_eq!(types_of(&events), ["MODEL_UPDATED", "MODEL_UPDATED"]);
    let verifier = standardwebhooks::Webhook::new(&created.secret).unwrap();
    for (headers, body) in receiver.received() {
        assert_eq!(
            headers["content-type"],
            "application/cloudevents-batch+json"
        );
        verifier.verify(&body, &headers).unwrap();
    }
}

async fn a_receiver_that_fails_for_a_while_gets_everything_in_order(backend: Backend) {
    use crate::common::prometheus::{free_address, sample, scrape};
    let metrics = free_address();
    let server = TestServer::start_with(backend, |config| {
        config.callbacks.callback_allow = vec!["127.0.0.0/8".parse().unwrap()];
        config.callbacks.callback_retry_max = Duration::from_millis(100);
        config.callbacks.callback_failing_after = Duration::from_millis(300);
        config.metrics_listen = Some(metrics);
    })
    .await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    *receiver.failures_left.lock().unwrap() = 12;
    let created = create(&server, subscription(&url)).await.unwrap();
    let id = created.subscription.unwrap().subscription_id;
    four_changes(&server, "flaky").await;

    // While it fails, the subscription shows why.
    let failing = |shown: &pb::Subscription| {
        shown.last_error.contains("503") && shown.state == pb::DeliveryState::Failing as i32
    };
    let shown = shown_once(&server, &id, failing).await;
    assert!(
        failing(&shown),
        "the failure (and then FAILING) was never shown: {shown:?}"
    );
    assert!(shown.last_error_time.is_some());
    assert!(shown.lag_events > 0);

    let events = receiver.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.events().len(),
        4,
        "nothing twice once acknowledged"
    );
    assert_eq!(
        types_of(&events),
        [
            "MODEL_REGISTERED",
            "MODEL_UPDATED",
            "MODEL_UPDATED",
            "MODEL_DEREGISTERED"
        ]
    );
    let shown = current(&server, &id).await;
    assert!(shown.last_error.is_empty(), "{}", shown.last_error);
    assert_eq!(shown.lag_events, 0);
    assert_eq!(shown.state, pb::DeliveryState::Healthy as i32);

    let scraped = scrape(metrics).await;
    let delivered = |outcome| {
        sample(
            &scraped,
            "modelreg_callback_deliveries_total",
            Some(("outcome", outcome)),
        )
    };
    // The recorder is the process's: other tests' deliveries count too.
    assert!(delivered("ok") >= 4.0, "{scraped}");
    assert!(delivered("http_error") >= 12.0, "{scraped}");
    assert!(sample(&scraped, "modelreg_callback_retries_total", None) >= 12.0);
    // A gauge of the process: the same test on other backends may be failing right now.
    assert!(scraped.contains("modelreg_callback_failing_subscriptions"));
}

async fn redirects_are_not_followed(backend: Backend) {
    let server = server_allowing_loopback(backend).await;
    let receiver = Receiver::default();
    let target = receiver.start().await;
    let app = axum::Router::new().route(
        "/moved",
        axum::routing::post(move || {
            let target = target.clone();
            async move { axum::response::Redirect::temporary(&target) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let created = create(&server, subscription(&format!("http://{addr}/moved")))
        .await
        .unwrap();
    server.register(model("redirected", "1", 1)).await.unwrap();
    let id = created.subscription.unwrap().subscription_id;
    let shown = shown_once(&server, &id, |shown| !shown.last_error.is_empty()).await;
    assert!(
        shown.last_error.contains("redirects are not followed"),
        "{}",
        shown.last_error
    );
    assert!(receiver.received().is_empty(), "the redirect was followed");
}

async fn internal_destinations_are_refused_without_the_flag(backend: Backend) {
    let server = TestServer::start(backend).await;
    for refused in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]:9/hook",
    ] {
        let status = create(&server, subscription(refused)).await.unwrap_err();
        assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
        assert!(
            status.message().contains("notification_destination"),
            "{refused}: {}",
            status.message()
        );
    }
}

/// A name of this machine's hosts file that points to a loopback address (Debian writes the
/// host's own name there).
fn name_of_a_loopback_address() -> String {
    let hosts = std::fs::read_to_string("/etc/hosts").expect("/etc/hosts");
    hosts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('#').next()?.split_whitespace();
            let address: std::net::IpAddr = fields.next()?.parse().ok()?;
            address
                .is_loopback()
                .then(|| fields.find(|name| !name.contains("localhost")))
                .flatten()
                .map(str::to_owned)
        })
        .next()
        .expect("/etc/hosts names a loopback address with a name other than localhost")
}

async fn a_name_that_resolves_to_an_internal_address_is_refused(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.callbacks.callback_retry_max = Duration::from_millis(200);
    })
    .await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let port = url::Url::parse(&url).unwrap().port().unwrap();
    let name = name_of_a_loopback_address();
    let created = create(&server, subscription(&format!("http://{name}:{port}/hook")))
        .await
        .expect("a name is checked when it is resolved");
    four_changes(&server, "ssrf").await;
    let id = created.subscription.unwrap().subscription_id;
    let shown = shown_once(&server, &id, |shown| !shown.last_error.is_empty()).await;
    assert!(
        shown.last_error.contains("--callback-allow"),
        "{}",
        shown.last_error
    );
    assert!(receiver.received().is_empty(), "the receiver was called");
}

async fn subscriptions_are_their_owners_and_bounded_by_scope(backend: Backend) {
    let files = tempfile::tempdir().unwrap();
    let consumers = [
        ("scoped-reader", "token-scoped", "reader", Some("qoe-*")),
        ("other-reader", "token-other", "reader", None),
        ("admin", "token-admin", "admin", None),
    ]
    .iter()
    .map(|(name, token, role, scope)| {
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
        let scopes = scope
            .map(|scope| format!("scopes = [\"{scope}\"]\n"))
            .unwrap_or_default();
        format!(
            "[[consumer]]\nname = \"{name}\"\ntoken_sha256 = \"{digest}\"\nrole = \"{role}\"\n{scopes}"
        )
    })
    .collect::<String>();
    let consumers_file = files.path().join("consumers.toml");
    std::fs::write(&consumers_file, consumers).unwrap();
    let server = TestServer::start_with(backend, |config| {
        config.auth.auth_tokens = Some(consumers_file);
        config.callbacks.callback_allow = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let mut subscriptions = client(&server).await;
    // The scoped reader asks for everything; it is told of its scope only.
    let created = subscriptions
        .create_subscription(as_(
            "token-scoped",
            pb::CreateSubscriptionRequest {
                subscription: Some(subscription(&url)),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mine = created.subscription.unwrap();
    assert_eq!(mine.owner, "scoped-reader");

    let mut registration = server.registration.clone();
    for name in ["secret-model", "qoe-visible"] {
        registration
            .register_model(as_(
                "token-admin",
                pb::RegisterModelRequest {
                    model_related_information: Some(model(name, "1", 1)),
                    request_id: String::new(),
                },
            ))
            .await
            .unwrap();
    }
    let events = receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events_now = receiver.events();
    assert_eq!(events_now.len(), 1, "{events_now:?}");
    assert_eq!(events[0]["data"]["modelId"]["modelName"], "qoe-visible");
    assert!(
        !receiver
            .received()
            .iter()
            .any(|(_, body)| String::from_utf8_lossy(body).contains("secret-model")),
        "a model outside the scope was told"
    );

    // Another consumer neither sees nor deletes it; the admin sees everyone's.
    let reader = subscriptions.clone();
    let get = |token: &'static str| {
        let mut subscriptions = reader.clone();
        let id = mine.subscription_id.clone();
        async move {
            subscriptions
                .get_subscription(as_(
                    token,
                    pb::GetSubscriptionRequest {
                        subscription_id: id,
                    },
                ))
                .await
        }
    };
    let status = get("token-other").await.unwrap_err();
    assert_error(&status, Code::NotFound, "SUBSCRIPTION_NOT_FOUND");
    get("token-admin").await.expect("an admin sees everyone's");
    let listed = subscriptions
        .list_subscriptions(as_("token-other", pb::ListSubscriptionsRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.subscriptions.is_empty());
    let status = subscriptions
        .delete_subscription(as_(
            "token-other",
            pb::DeleteSubscriptionRequest {
                subscription_id: mine.subscription_id.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "SUBSCRIPTION_NOT_FOUND");
    subscriptions
        .delete_subscription(as_(
            "token-scoped",
            pb::DeleteSubscriptionRequest {
                subscription_id: mine.subscription_id.clone(),
            },
        ))
        .await
        .expect("its owner deletes it");
    let status = get("token-scoped").await.unwrap_err();
    assert_error(&status, Code::NotFound, "SUBSCRIPTION_NOT_FOUND");
}

/// `message` with the bearer token `token`.
fn as_<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

async fn bad_requests_list_every_violation(backend: Backend) {
    let server = server_allowing_loopback(backend).await;
    let status = client(&server)
        .await
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(pb::Subscription {
                notification_destination: "ftp://example.com/x".into(),
                max_batch: 100_000,
                filter: Some(pb::SubscriptionFilter {
                    model_version: "v".repeat(300),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            start_sequence: Some(-1),
            secret: "not-a-secret".into(),
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::InvalidArgument, "INVALID_ARGUMENT");
    let violated = crate::common::violated_fields(&status);
    for field in [
        "subscription.notification_destination",
        "subscription.max_batch",
        "subscription.filter.model_version",
        "start_sequence",
        "secret",
    ] {
        assert!(
            violated.iter().any(|v| v == field),
            "{field} in {violated:?}"
        );
    }
    let status = client(&server)
        .await
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(subscription("http://127.0.0.1:9/")),
            start_sequence: Some(1_000_000),
            secret: String::new(),
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::OutOfRange, "SEQUENCE_AHEAD");
    let status = client(&server)
        .await
        .get_subscription(pb::GetSubscriptionRequest {
            subscription_id: "not-an-id".into(),
        })
        .await
        .unwrap_err();
    assert_error(&status, Code::NotFound, "SUBSCRIPTION_NOT_FOUND");
}

async fn the_rest_resource_speaks_the_same_json(backend: Backend) {
    let server = server_allowing_loopback(backend).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let http = reqwest::Client::new();
    let collection = format!("{}/ai-ml-model-registration/v1/subscriptions", server.url);
    let created = http
        .post(&collection)
        .json(&serde_json::json!({
            "subscription": {
                "notificationDestination": url,
                "filter": {"modelName": "qoe-*", "types": ["MODEL_REGISTERED"]},
                "description": "roll out new models",
            }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let body: serde_json::Value = created.json().await.unwrap();
    let id = body["subscription"]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        location,
        format!("/ai-ml-model-registration/v1/subscriptions/{id}")
    );
    let secret = body["secret"].as_str().unwrap().to_owned();

    server.register(model("qoe-new", "1", 1)).await.unwrap();
    server.register(model("other", "1", 1)).await.unwrap();
    let events = receiver.wait_for(1).await;
    assert_eq!(events[0]["data"]["modelId"]["modelName"], "qoe-new");
    let (headers, payload) = &receiver.received()[0];
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(payload, headers)
        .unwrap();

    let shown: serde_json::Value = http
        .get(format!("{}{location}", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["notificationDestination"], url.as_str());
    assert_eq!(shown["filter"]["types"][0], "MODEL_REGISTERED");
    assert_eq!(shown["description"], "roll out new models");
    assert!(shown.get("secret").is_none());
    let listed: serde_json::Value = http
        .get(&collection)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["subscriptions"][0]["subscriptionId"], id.as_str());

    let refused = http
        .post(&collection)
        .json(&serde_json::json!({"subscription": {"notificationDestination": "http://10.0.0.1/"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem["type"], "urn:modelreg:problem:INVALID_ARGUMENT");

    let deleted = http
        .delete(format!("{}{location}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = http
        .get(format!("{}{location}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let problem: serde_json::Value = gone.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "urn:modelreg:problem:SUBSCRIPTION_NOT_FOUND"
    );
}

async fn the_cli_creates_lists_shows_and_deletes(backend: Backend) {
    use crate::cli::{modelreg, run, stderr_of_failure, stdout};
    let server = server_allowing_loopback(backend).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let mut create = modelreg(&server);
    create.args([
        "subscriptions",
        "create",
        &url,
        "--name",
        "qoe-*",
        "--type",
        "model_registered,model_updated",
        "-o",
        "json",
    ]);
    let created: serde_json::Value = serde_json::from_str(&stdout(&run(create).await)).unwrap();
    let id = created["subscription"]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(created["subscription"]["filter"]["modelName"], "qoe-*");

    server.register(model("qoe-cli", "1", 1)).await.unwrap();
    receiver.wait_for(1).await;

    let mut list = modelreg(&server);
    list.args(["subscriptions", "list"]);
    let table = stdout(&run(list).await);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains(&id) && table.contains("qoe-*") && table.contains("HEALTHY"),
        "{table}"
    );

    let mut get = modelreg(&server);
    get.args(["subscriptions", "get", &id, "-o", "json"]);
    let shown: serde_json::Value = serde_json::from_str(&stdout(&run(get).await)).unwrap();
    assert_eq!(shown["notificationDestination"], url.as_str());

    let mut delete = modelreg(&server);
    delete.args(["subscriptions", "delete", &id]);
    stdout(&run(delete).await);
    let mut get = modelreg(&server);
    get.args(["subscriptions", "get", &id]);
    let failure = stderr_of_failure(&run(get).await);
    assert!(
        failure.contains("NOT_FOUND") && failure.contains(&id),
        "{failure}"
    );
}

/// Three `modelreg serve` processes on one PostgreSQL database, writers on two of them; the
/// replica that delivers is killed (-9): another one takes the lease once it runs out and
/// continues from the last acknowledged sequence. The receiver, keeping each `webhook-id`
/// once (the idempotency key), has every event, in order.
async fn another_replica_continues_when_the_deliverer_is_killed(backend: Backend) {
    use std::sync::atomic::{AtomicBool, Ordering};

    use crate::common::replicas::{Cluster, keep_registering};

    let lease = ["--callback-allow", "127.0.0.0/8", "--callback-lease", "3s"];
    let mut cluster = Cluster::start(backend, 3, &lease).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let channel = Channel::from_shared(cluster.replicas[0].process.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let created = ModelSubscriptionServiceClient::new(channel)
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(subscription(&url)),
            start_sequence: Some(0),
            secret: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.subscription.is_some());
    let stop = Arc::new(AtomicBool::new(false));
    let writers = [1, 2].map(|i| {
        let client = cluster.replicas[i].registration.clone();
        keep_registering(client, format!("r{i}"), stop.clone())
    });
    receiver.wait_for(20).await;
    let holder = lease_holder(&cluster).await;
    let holder = (0..3)
        .find(|&i| holder.starts_with(&format!("{}-", cluster.replicas[i].process.pid())))
        .expect("the lease is held by a replica, named by its process id");
    let acknowledged_before = receiver.events().len();
    cluster.replicas[holder].process.kill();
    let killed_at = std::time::Instant::now();

    // Writes go on on the replicas still running (a writer on the killed one fails and
    // stops); deliveries resume once its lease has run out.
    let survivors: Vec<usize> = (0..3).filter(|&i| i != holder).collect();
    receiver.wait_for(acknowledged_before + 20).await;
    let took_over_after = killed_at.elapsed();
    let new_holder = lease_holder(&cluster).await;
    assert!(
        !new_holder.starts_with(&format!("{}-", cluster.replicas[holder].process.pid())),
        "the lease moved to a survivor: {new_holder}"
    );
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        let _ = writer.await;
    }
    let last = cluster.last_sequence().await;

    // Every event once (duplicates dropped by webhook-id), in order, none missing.
    let mut seen = std::collections::BTreeSet::new();
    let mut in_order = Vec::new();
    for _ in 0..400 {
        seen.clear();
        in_order.clear();
        for (headers, _) in receiver.received() {
            let sequence: i64 = headers["webhook-id"].to_str().unwrap().parse().unwrap();
            if seen.insert(sequence) {
                in_order.push(sequence);
            }
        }
        if in_order.last() == Some(&last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        in_order,
        (1..=last).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let duplicates = receiver.received().len() - in_order.len();
    println!(
        "subscriptions: replica {holder} killed after {acknowledged_before} deliveries; \
         replicas {survivors:?} continued within {took_over_after:?} (lease 3s); {last} events, \
         {duplicates} sent twice"
    );
}

/// The lease holder of the one subscription of `cluster`'s database.
async fn lease_holder(cluster: &crate::common::replicas::Cluster) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let db = cluster.database().connect().await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT lease_holder FROM model_subscriptions",
        ))
        .await
        .unwrap()
        .expect("one subscription");
    row.try_get::<Option<String>>("", "lease_holder")
        .unwrap()
        .expect("a holder")
}

/// A receiver away for longer than the log keeps events: when it is back it gets the
/// notification it had not acknowledged (held by the deliverer), then what the log still
/// holds; the subscription says through which sequence events were lost.
async fn events_pruned_while_the_receiver_was_away_are_reported_lost(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.callbacks.callback_allow = vec!["127.0.0.0/8".parse().unwrap()];
        config.callbacks.callback_retry_max = Duration::from_millis(100);
        config.events.event_retention = Duration::from_millis(500);
        config.events.event_prune_interval = Duration::from_millis(100);
    })
    .await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    *receiver.failures_left.lock().unwrap() = u32::MAX;
    let created = create(&server, subscription(&url)).await.unwrap();
    let id = created.subscription.unwrap().subscription_id;
    server.register(model("away-1", "1", 1)).await.unwrap();
    // Once the first notification has failed, its deliverer holds it and reads no further.
    shown_once(&server, &id, |shown| !shown.last_error.is_empty()).await;
    for name in ["away-2", "away-3"] {
        server.register(model(name, "1", 1)).await.unwrap();
    }
    // Long enough for the three events to be pruned.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    *receiver.failures_left.lock().unwrap() = 0;
    server.register(model("back", "1", 1)).await.unwrap();

    let events = receiver.wait_for(2).await;
    let names: Vec<_> = events
        .iter()
        .map(|event| event["data"]["modelId"]["modelName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["away-1", "back"],
        "the held notification, then the log's"
    );
    let shown = current(&server, &id).await;
    assert_eq!(shown.lost_through_sequence, 3, "{shown:?}");
}
