//! `modelreg models watch` and `modelreg events list`, run as a user runs them: the real binary
//! against a real server, in this process or (to stop it and start it again under a running
//! watch) as a child process.

use std::time::Duration;

use modelreg::client::cli::json;
use modelreg::pb::{self, model_registration_service_client::ModelRegistrationServiceClient};

use crate::cli::{modelreg, run, stderr_of_failure, stdout};
use crate::common::process::Serve;
use crate::common::watch_command::WatchCommand;
use crate::common::watching::{Watching, event_type, name_of};
use crate::common::{Backend, TestDatabase, TestServer, model, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        watch_prints_the_initial_state_then_each_change_as_a_json_line,
        watch_resumes_after_since_and_filters_by_name_and_type,
        watch_prints_a_line_per_change_for_people_and_stops_on_ctrl_c,
        watch_resumes_across_a_server_that_stops_and_starts_again,
        watch_that_cannot_resume_exits_with_the_way_to_start_again,
        events_list_filters_orders_and_limits,
    )
}

/// (sequence, type, name) of each event.
fn summary(events: &[pb::ModelEvent]) -> Vec<(i64, pb::EventType, String)> {
    events
        .iter()
        .map(|e| (e.sequence, event_type(e), name_of(e).to_owned()))
        .collect()
}

/// Changes the description of a registration: a MODEL_UPDATED event.
async fn describe(
    server: &TestServer,
    registration: &pb::ModelRelatedInformation,
    description: &str,
) -> pb::ModelRelatedInformation {
    let mut changed = registration.clone();
    changed.description = description.into();
    server.update(changed, &["description"]).await.unwrap()
}

async fn watch_prints_the_initial_state_then_each_change_as_a_json_line(backend: Backend) {
    use pb::EventType::{ModelDeregistered, ModelRegistered, ModelUpdated};
    let server = TestServer::start(backend).await;
    let a = server.register(model("a", "1", 1)).await.unwrap();
    let b = server.registered_id("b").await;
    let mut watch = WatchCommand::start(&server.url, "-o json --initial");

    // The models as they are, at the snapshot's sequence.
    let mut initial = watch.events(2).await;
    initial.sort_by(|x, y| name_of(x).cmp(name_of(y)));
    assert_eq!(
        summary(&initial),
        [
            (2, ModelRegistered, "a".into()),
            (2, ModelRegistered, "b".into())
        ]
    );
    assert!(initial.iter().all(|e| e.initial));

    // Then each change, one JSON object per line, in commit order.
    let updated = describe(&server, &a, "retrained").await;
    server.delete(&b, "").await.unwrap();
    server.registered_id("c").await;
    let changes = watch.events(3).await;
    assert_eq!(
        summary(&changes),
        [
            (3, ModelUpdated, "a".into()),
            (4, ModelDeregistered, "b".into()),
            (5, ModelRegistered, "c".into()),
        ]
    );
    assert!(changes.iter().all(|e| !e.initial && e.actor == "anonymous"));
    assert_eq!(changes[0].etag_before, a.etag);
    assert_eq!(changes[0].etag_after, updated.etag);
    assert_eq!(
        changes[0].model_related_information.as_ref().unwrap(),
        &updated
    );
    server.stop().await;
}

async fn watch_resumes_after_since_and_filters_by_name_and_type(backend: Backend) {
    let server = TestServer::start(backend).await;
    let a = server.register(model("a", "1", 1)).await.unwrap();
    let b = server.registered_id("b").await;
    let a = describe(&server, &a, "first change").await;

    let url = &server.url;
    let mut everything = WatchCommand::start(url, "-o json --since 1");
    let mut by_name = WatchCommand::start(url, "-o json --since 1 --name a");
    let types = "--type MODEL_UPDATED --type model_deregistered";
    let mut by_type = WatchCommand::start(url, &format!("-o json --since 1 {types}"));

    // What came after sequence 1, from the log.
    let sequences =
        |events: Vec<pb::ModelEvent>| -> Vec<i64> { events.iter().map(|e| e.sequence).collect() };
    assert_eq!(sequences(everything.events(2).await), [2, 3]);
    assert_eq!(sequences(by_name.events(1).await), [3]);
    assert_eq!(sequences(by_type.events(1).await), [3]);

    // And what comes next, as it is committed; the filtered watches skip what does not match.
    server.registered_id("c").await;
    server.delete(&b, "").await.unwrap();
    describe(&server, &a, "second change").await;
    assert_eq!(sequences(everything.events(3).await), [4, 5, 6]);
    assert_eq!(sequences(by_name.events(1).await), [6]);
    assert_eq!(sequences(by_type.events(2).await), [5, 6]);
    server.stop().await;
}

async fn watch_prints_a_line_per_change_for_people_and_stops_on_ctrl_c(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.registered_id("before").await;
    let mut watch = WatchCommand::start(&server.url, "");
    // From now on: it says where now is, and what came before is not printed.
    watch
        .wait_for_stderr("watching changes after sequence 1")
        .await;
    let registered = server.register(model("after", "7", 1)).await.unwrap();
    let line = watch.next_line().await;
    assert!(line.starts_with("2  "), "{line}");
    let parts: [&str; 5] = [
        "MODEL_REGISTERED",
        "after 7",
        "by anonymous",
        &format!("etag none->{}", registered.etag),
        &registered.model_registration_id,
    ];
    for part in parts {
        assert!(line.contains(part), "no {part:?} in {line}");
    }

    let updated = describe(&server, &registered, "retrained").await;
    let line = watch.next_line().await;
    assert!(line.starts_with("3  "), "{line}");
    assert!(line.contains("MODEL_UPDATED"), "{line}");
    assert!(
        line.contains(&format!("etag {}->{}", registered.etag, updated.etag)),
        "{line}"
    );

    let status = watch.interrupt().await;
    assert!(status.success(), "Ctrl-C ends a watch with {status}");
    server.stop().await;
}

/// Registers a model on the server at `url`, over a connection of its own.
async fn register_at(url: &str, name: &str) {
    ModelRegistrationServiceClient::connect(url.to_owned())
        .await
        .expect("connect to modelreg")
        .register_model(pb::RegisterModelRequest {
            model_related_information: Some(model(name, "1", 1)),
            request_id: String::new(),
        })
        .await
        .expect("register");
}

/// The server stops gracefully (the stream ends with UNAVAILABLE), then is killed (the
/// connection breaks): each time it starts again on the same address and database, and a
/// change follows at once, usually before the backing-off watch is back. Every change is
/// printed once, in order.
async fn watch_resumes_across_a_server_that_stops_and_starts_again(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let folder = tempfile::tempdir().unwrap();
    let store = url::Url::from_directory_path(folder.path().join("artifacts"))
        .unwrap()
        .to_string();
    let serve = |addr| {
        Serve::listening_on(addr)
            .args(["--database-url", &database.url])
            .args(["--artifact-store", &store])
    };
    let mut server = serve("127.0.0.1:0".parse().unwrap()).start().await;
    let (addr, url) = (server.addr(), server.url());
    register_at(&url, "a").await;
    let mut watch = WatchCommand::start(&url, "-o json --initial");
    let mut printed = watch.events(1).await;
    assert!(printed[0].initial);
    register_at(&url, "b").await;
    printed.extend(watch.events(1).await);

    server.terminate();
    server
        .wait(Duration::from_secs(20))
        .await
        .expect("the server stops on SIGTERM");
    let mut server = serve(addr).start().await;
    register_at(&url, "c").await;
    printed.extend(watch.events(1).await);

    server.kill();
    let server = serve(addr).start().await;
    register_at(&url, "d").await;
    printed.extend(watch.events(1).await);
    // Nothing twice: the next line is the next change.
    register_at(&url, "e").await;
    printed.extend(watch.events(1).await);

    let printed: Vec<(i64, &str)> = printed.iter().map(|e| (e.sequence, name_of(e))).collect();
    assert_eq!(printed, [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]);
    let notes = watch.stderr();
    assert!(notes.contains("UNAVAILABLE"), "{notes}");
    assert!(notes.contains("connection lost"), "{notes}");
    assert_eq!(notes.matches("reconnected").count(), 2, "{notes}");
    assert!(watch.interrupt().await.success());
    drop(server);
}

async fn watch_that_cannot_resume_exits_with_the_way_to_start_again(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.events.event_retention = Duration::from_millis(300);
        config.events.event_prune_interval = Duration::from_millis(100);
    })
    .await;
    server.registered_id("a").await;
    server.registered_id("b").await;
    let watch = |since: &str| {
        let mut command = modelreg(&server);
        command
            .args(["models", "watch", "--since", since])
            .timeout(Duration::from_secs(30));
        command
    };

    // Past the end of the log: another database, perhaps.
    let error = stderr_of_failure(&run(watch("99")).await);
    assert!(error.starts_with("error: OUT_OF_RANGE: "), "{error}");
    assert!(error.contains("start it again with --initial"), "{error}");

    // Pruned: once the whole log is past its retention.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let request = pb::WatchModelsRequest {
        start_sequence: Some(1),
        ..Default::default()
    };
    while Watching::start(&server.events, request.clone())
        .await
        .is_ok()
    {
        assert!(std::time::Instant::now() < deadline, "never pruned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error = stderr_of_failure(&run(watch("1")).await);
    assert!(error.starts_with("error: OUT_OF_RANGE: "), "{error}");
    assert!(error.contains("start it again with --initial"), "{error}");

    // What the hint says works.
    let mut again = WatchCommand::start(&server.url, "-o json --initial");
    let mut names: Vec<String> = again
        .events(2)
        .await
        .iter()
        .map(|e| name_of(e).to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "b"]);
    server.stop().await;
}

fn rfc3339(time: &prost_types::Timestamp) -> String {
    chrono::DateTime::from_timestamp(time.seconds, time.nanos as u32)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

async fn events_list_filters_orders_and_limits(backend: Backend) {
    let server = TestServer::start(backend).await;
    let a = server.register(model("a", "1", 1)).await.unwrap();
    let b = server.registered_id("b").await;
    describe(&server, &a, "retrained").await;
    server.delete(&b, "").await.unwrap();

    let list = |args: &[&str]| {
        let mut command = modelreg(&server);
        command.args(["events", "list"]).args(args);
        command
    };
    let listed = |args: &[&str]| {
        let mut command = list(args);
        command.args(["-o", "json"]);
        async move {
            let text = stdout(&run(command).await);
            json::from_json::<pb::ListEventsResponse>(&text, json::LIST_EVENTS)
                .unwrap_or_else(|err| panic!("{err}: {text}"))
        }
    };
    let sequences =
        |page: &pb::ListEventsResponse| page.events.iter().map(|e| e.sequence).collect::<Vec<_>>();

    // A table for people, oldest first.
    let table = stdout(&run(list(&[])).await);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    for column in ["SEQUENCE", "TIME", "TYPE", "NAME", "ACTOR", "ETAG", "ID"] {
        assert!(lines[0].contains(column), "{table}");
    }
    for cell in ["MODEL_REGISTERED", "anonymous", &a.model_registration_id] {
        assert!(lines[1].contains(cell), "{table}");
    }
    assert!(lines[4].contains("MODEL_DEREGISTERED"), "{table}");

    // Proto3 JSON, newest first.
    let everything = listed(&["--newest-first"]).await;
    assert_eq!(sequences(&everything), [4, 3, 2, 1]);
    assert!(everything.next_page_token.is_empty());

    // Filters.
    assert_eq!(sequences(&listed(&["--name", "a"]).await), [1, 3]);
    assert_eq!(sequences(&listed(&["--model-id", &b]).await), [2, 4]);
    let types = ["--type", "model_updated,MODEL_DEREGISTERED"];
    assert_eq!(sequences(&listed(&types).await), [3, 4]);
    assert_eq!(sequences(&listed(&["--actor", "anonymous"]).await).len(), 4);
    assert!(listed(&["--actor", "somebody"]).await.events.is_empty());

    // By time: at or after the third event's, and before it.
    let third = rfc3339(everything.events[1].event_time.as_ref().unwrap());
    assert_eq!(sequences(&listed(&["--since", &third]).await), [3, 4]);
    assert_eq!(sequences(&listed(&["--until", &third]).await), [1, 2]);

    // A limit, over pages of 2: the token left continues after the last event shown.
    let limited = listed(&["--limit", "3", "--page-size", "2"]).await;
    assert_eq!(sequences(&limited), [1, 2, 3]);
    let rest = (server.events.clone())
        .list_events(pb::ListEventsRequest {
            page_token: limited.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sequences(&rest.into_inner()), [4]);
    let output = run(list(&["--limit", "3"])).await;
    assert_eq!(stdout(&output).lines().count(), 4);
    let note = String::from_utf8_lossy(&output.stderr);
    assert!(note.contains("more events follow"), "{note}");
    assert_eq!(
        sequences(&listed(&["--all", "--page-size", "1"]).await).len(),
        4
    );
    server.stop().await;
}
