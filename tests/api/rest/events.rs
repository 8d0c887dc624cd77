//! The event stream over HTTP: Server-Sent Events that carry WatchModels' messages, resumed
//! with `Last-Event-ID` as `EventSource` does after a disconnection.

use std::time::Duration;

use futures::StreamExt;
use reqwest::Method;
use serde_json::Value;

use super::{Rest, assert_problem, registration_body};
use crate::common::{Backend, TestServer, on_every_backend};

const EVENTS: &str = "/ai-ml-model-registration/v1/events";

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        events_arrive_in_order_and_resume_after_the_last_event_id,
        the_initial_state_comes_first_and_only_its_end_has_an_id,
        invalid_starts_and_parameters_are_400,
    )
}

/// One Server-Sent Event.
#[derive(Debug)]
pub(crate) struct Sse {
    pub(crate) id: Option<String>,
    pub(crate) event: String,
    pub(crate) data: Value,
}

/// An open event stream, read an event at a time.
pub(crate) struct EventStream {
    bytes: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl EventStream {
    pub(crate) async fn open(rest: &Rest, query: &str, last_event_id: Option<&str>) -> Self {
        let mut request = rest
            .request(Method::GET, &format!("{EVENTS}{query}"))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            bytes: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    async fn next(&mut self) -> Sse {
        self.next_or_end().await.expect("the stream stays open")
    }

    /// The next event, or `None` once the server has ended the stream.
    pub(crate) async fn next_or_end(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut sse = Sse {
                    id: None,
                    event: "message".into(),
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    match line.split_once(':') {
                        Some(("id", value)) => sse.id = Some(value.trim().to_owned()),
                        Some(("event", value)) => sse.event = value.trim().to_owned(),
                        Some(("data", value)) => data.push_str(value.trim_start()),
                        _ => {}
                    }
                }
                if data.is_empty() {
                    continue;
                }
                sse.data = serde_json::from_str(&data).unwrap();
                return Some(sse);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.bytes.next())
                .await
                .expect("an event within 10 s")?
                .unwrap();
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next change event, past heartbeats.
    async fn next_change(&mut self) -> (String, Value) {
        loop {
            let sse = self.next().await;
            assert_eq!(sse.event, "watch", "{sse:?}");
            if let Some(event) = sse.data.get("event") {
                return (sse.id.expect("a change has an id"), event.clone());
            }
        }
    }
}

fn model_name(event: &Value) -> &str {
    event["modelId"]["modelName"].as_str().unwrap()
}

async fn events_arrive_in_order_and_resume_after_the_last_event_id(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    rest.register(&registration_body("a", "1")).await;
    let mut stream = EventStream::open(&rest, "?start-sequence=0", None).await;
    let (first, event) = stream.next_change().await;
    assert_eq!(event["type"], "MODEL_REGISTERED");
    assert_eq!(model_name(&event), "a");
    assert_eq!(event["sequence"], first);
    rest.register(&registration_body("b", "1")).await;
    let (second, event) = stream.next_change().await;
    assert_eq!(model_name(&event), "b");
    drop(stream);

    rest.register(&registration_body("c", "1")).await;
    let mut resumed = EventStream::open(&rest, "?start-sequence=0", Some(&second)).await;
    let (_, event) = resumed.next_change().await;
    assert_eq!(
        model_name(&event),
        "c",
        "Last-Event-ID wins over start-sequence"
    );

    // Filters of the query: only this name's events.
    let mut filtered = EventStream::open(&rest, "?model-name=d&type=MODEL_UPDATED", None).await;
    let d = rest.register(&registration_body("d", "1")).await;
    rest.register(&registration_body("e", "1")).await;
    let patched = rest
        .json(
            Method::PATCH,
            &format!(
                "/ai-ml-model-registration/v1/model-registrations/{}",
                d["modelRegistrationId"].as_str().unwrap()
            ),
            "application/merge-patch+json",
            &serde_json::json!({"description": "changed"}),
        )
        .await;
    assert_eq!(patched.status, 200);
    let (_, event) = filtered.next_change().await;
    assert_eq!(
        (model_name(&event), event["type"].as_str()),
        ("d", Some("MODEL_UPDATED"))
    );
}

async fn the_initial_state_comes_first_and_only_its_end_has_an_id(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    rest.register(&registration_body("a", "1")).await;
    rest.register(&registration_body("b", "1")).await;
    let mut stream = EventStream::open(&rest, "?initial-state=true", None).await;
    for name in ["a", "b"] {
        let sse = stream.next().await;
        assert_eq!(sse.id, None, "{sse:?}");
        assert_eq!(sse.data["event"]["initial"], true);
        assert_eq!(model_name(&sse.data["event"]), name);
    }
    let complete = stream.next().await;
    let sequence = complete.data["initialStateComplete"]["sequence"].clone();
    assert_eq!(complete.id.as_deref(), sequence.as_str());
    rest.register(&registration_body("c", "1")).await;
    let (_, event) = stream.next_change().await;
    assert_eq!(model_name(&event), "c");
}

async fn invalid_starts_and_parameters_are_400(backend: Backend) {
    let server = TestServer::start(backend).await;
    let rest = Rest::of(&server);
    let ahead = rest.get(&format!("{EVENTS}?start-sequence=99")).await;
    assert_problem(&ahead, 400, "SEQUENCE_AHEAD");
    let problem = assert_problem(
        &rest
            .get(&format!("{EVENTS}?start-sequence=x&type=BOGUS"))
            .await,
        400,
        "INVALID_ARGUMENT",
    );
    assert_eq!(problem["invalidParams"].as_array().unwrap().len(), 2);
    let both = rest
        .get(&format!("{EVENTS}?start-sequence=0&initial-state=true"))
        .await;
    assert_problem(&both, 400, "INVALID_ARGUMENT");
    assert_problem(
        &rest.get(&format!("{EVENTS}?since=1")).await,
        400,
        "INVALID_ARGUMENT",
    );
}
