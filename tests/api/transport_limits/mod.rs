//! The HTTP/2 settings of `LimitsConfig` as they reach the wire: what the server advertises,
//! keep-alive pings and their timeout, the maximum connection age, the header list size and
//! the streams of one connection. Each test uses values other than the defaults, so that it
//! fails if its setting were not applied. The settings do not depend on the database: SQLite
//! is enough.

mod calls;

use std::time::{Duration, Instant};

use modelreg::pb;
use modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::common::connections::{CountedChannel, never_sent};
use crate::common::raw_http2::{
    GOAWAY, MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_SIZE, PING, RawConnection, Received,
};
use crate::common::{Backend, TestServer, model, plain_async};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let mut trials = plain_async!(
        settings_advertise_the_stream_and_header_limits,
        an_idle_connection_is_pinged_at_the_keepalive_interval,
        a_peer_that_never_answers_pings_is_dropped_after_the_keepalive_timeout,
        a_client_that_answers_pings_keeps_its_connection,
        an_idle_connection_is_told_to_go_away_at_the_maximum_age,
        a_channel_keeps_working_across_the_maximum_connection_age,
    );
    trials.extend(calls::trials());
    trials
}

/// One line of figures, named like the trial that printed it.
fn figures(test: &str, line: std::fmt::Arguments) {
    println!("transport_limits::{test}: {line}");
}

async fn health_check(channel: &tonic::transport::Channel) -> Result<(), tonic::Status> {
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .map(|_| ())
}

async fn settings_advertise_the_stream_and_header_limits() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.limits.max_concurrent_streams = 17;
        config.limits.max_header_bytes = bytesize::ByteSize::b(9000);
    })
    .await;
    let mut connection = RawConnection::open(server.addr).await;

    let settings = connection.server_settings().await;

    let value = |id| settings.iter().find(|(key, _)| *key == id).map(|(_, v)| *v);
    assert_eq!(value(MAX_CONCURRENT_STREAMS), Some(17), "{settings:?}");
    assert_eq!(value(MAX_HEADER_LIST_SIZE), Some(9000), "{settings:?}");
    // An open connection would hold up the graceful stop.
    drop(connection);
    server.stop().await;
}

/// What a peer that never answers pings sees: when the first PING came, whether a GOAWAY
/// came, and when the connection closed, each measured from its opening.
#[derive(Debug, Default)]
struct Unanswered {
    first_ping: Option<Duration>,
    goaway: Option<Duration>,
    closed: Option<Duration>,
}

/// Reads the server's frames for up to `within`, answering nothing.
async fn watch_without_answering(connection: &mut RawConnection, within: Duration) -> Unanswered {
    let opened = Instant::now();
    let mut seen = Unanswered::default();
    while opened.elapsed() < within {
        match connection.receive(within - opened.elapsed()).await {
            Received::Frame(frame) if frame.kind == PING && !frame.is_ack() => {
                seen.first_ping.get_or_insert(opened.elapsed());
            }
            Received::Frame(frame) if frame.kind == GOAWAY => {
                seen.goaway.get_or_insert(opened.elapsed());
            }
            Received::Frame(_) => {}
            Received::Closed => {
                seen.closed = Some(opened.elapsed());
                break;
            }
            Received::Nothing => break,
        }
    }
    seen
}

async fn an_idle_connection_is_pinged_at_the_keepalive_interval() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.limits.keepalive_interval = Duration::from_millis(300);
    })
    .await;
    let mut connection = RawConnection::open(server.addr).await;
    connection.server_settings().await;

    let seen = watch_without_answering(&mut connection, Duration::from_secs(3)).await;

    figures(
        "an_idle_connection_is_pinged_at_the_keepalive_interval",
        format_args!("--keepalive-interval 300ms: {seen:?}"),
    );
    let first_ping = seen.first_ping.expect("a PING on an idle connection");
    // 300 ms, and some slack for a busy machine: the default would be 30 s.
    assert!(first_ping < Duration::from_millis(1500), "{seen:?}");
    drop(connection);
    server.stop().await;
}

async fn a_peer_that_never_answers_pings_is_dropped_after_the_keepalive_timeout() {
    let (interval, timeout) = (Duration::from_millis(300), Duration::from_millis(500));
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.limits.keepalive_interval = interval;
        config.limits.keepalive_timeout = timeout;
    })
    .await;
    let mut connection = RawConnection::open(server.addr).await;
    connection.server_settings().await;

    let seen = watch_without_answering(&mut connection, Duration::from_secs(5)).await;

    figures(
        "a_peer_that_never_answers_pings_is_dropped_after_the_keepalive_timeout",
        format_args!("--keepalive-interval 300ms --keepalive-timeout 500ms: {seen:?}"),
    );
    let first_ping = seen.first_ping.expect("a PING on an idle connection");
    let dropped = seen
        .closed
        .or(seen.goaway)
        .expect("the silent peer is dropped well before 20 s");
    let unanswered_for = dropped.saturating_sub(first_ping);
    // Timers fire a little late, never early; the margin below allows for a coarse clock.
    assert!(
        unanswered_for >= timeout - Duration::from_millis(100),
        "dropped {unanswered_for:?} after the ping: {seen:?}"
    );
    assert!(
        dropped < interval + timeout + Duration::from_secs(2),
        "{seen:?}"
    );
    server.stop().await;
}

async fn a_client_that_answers_pings_keeps_its_connection() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.limits.keepalive_interval = Duration::from_millis(300);
        config.limits.keepalive_timeout = Duration::from_millis(500);
    })
    .await;
    let client = CountedChannel::connect(server.addr).await;

    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(health_check(&client.channel).await);
        // Idle for three keep-alive intervals: pinged, and answering.
        tokio::time::sleep(Duration::from_millis(900)).await;
    }

    figures(
        "a_client_that_answers_pings_keeps_its_connection",
        format_args!(
            "4 calls 0.9 s apart: {} ok, over {} connection(s)",
            answers.iter().filter(|a| a.is_ok()).count(),
            client.connections()
        ),
    );
    for answer in answers {
        answer.expect("a call on a kept connection");
    }
    assert_eq!(client.connections(), 1, "the connection was kept");
    drop(client);
    server.stop().await;
}

async fn an_idle_connection_is_told_to_go_away_at_the_maximum_age() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.limits.max_connection_age = Duration::from_secs(1);
    })
    .await;
    let mut connection = RawConnection::open(server.addr).await;
    connection.server_settings().await;

    let seen = watch_without_answering(&mut connection, Duration::from_secs(6)).await;

    figures(
        "an_idle_connection_is_told_to_go_away_at_the_maximum_age",
        format_args!("--max-connection-age 1s: {seen:?}"),
    );
    let goaway = seen.goaway.expect("a GOAWAY within a few seconds");
    assert!(goaway >= Duration::from_millis(900), "{seen:?}");
    assert!(goaway < Duration::from_secs(4), "{seen:?}");
    drop(connection);
    server.stop().await;
}

/// Each call registers a model of its own name, so that the database tells which calls the
/// server carried out. A call that the client's transport refused, as the server's GOAWAY
/// reached it first, was never sent, and this client sends it once more, as gRPC's Go and
/// Java clients would. Had the server read it, the second try would find its model
/// registered.
async fn a_channel_keeps_working_across_the_maximum_connection_age() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.limits.max_connection_age = Duration::from_secs(1);
    })
    .await;
    let client = CountedChannel::connect(server.addr).await;
    let mut registration = ModelRegistrationServiceClient::new(client.channel.clone());

    let started = Instant::now();
    let (mut names, mut refused, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    while started.elapsed() < Duration::from_secs(4) {
        let name = format!("aged-{}", names.len());
        let mut answer = register(&mut registration, &name).await;
        if let Err(status) = &answer
            && never_sent(status)
        {
            refused.push(status.clone());
            answer = register(&mut registration, &name).await;
        }
        if let Err(status) = answer {
            failed.push(status);
        }
        names.push(name);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let listed = server
        .list(pb::ListModelsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list the registered models");
    let mut registered: Vec<String> = listed
        .models
        .into_iter()
        .filter_map(|model| model.model_id.map(|id| id.model_name))
        .collect();
    registered.sort();
    names.sort();
    figures(
        "a_channel_keeps_working_across_the_maximum_connection_age",
        format_args!(
            "--max-connection-age 1s: {} calls 200 ms apart over 4 s, {} refused by the \
             client as the GOAWAY raced them and sent again, {} failed, {} connection(s)",
            names.len(),
            refused.len(),
            failed.len(),
            client.connections()
        ),
    );
    assert!(failed.is_empty(), "calls failed: {failed:?}");
    assert_eq!(registered, names, "every call carried out once");
    assert!(
        client.connections() >= 3,
        "the channel reconnected after each GOAWAY: {} connection(s)",
        client.connections()
    );
    drop(client);
    server.stop().await;
}

async fn register(
    client: &mut ModelRegistrationServiceClient<tonic::transport::Channel>,
    name: &str,
) -> Result<(), tonic::Status> {
    client
        .register_model(pb::RegisterModelRequest {
            model_related_information: Some(model(name, "1", 1)),
            request_id: String::new(),
        })
        .await
        .map(|_| ())
}
