//! Traces exported over OTLP/gRPC to a real receiver (a tonic server of the collector's own
//! trace service): the caller's W3C trace continued, the database statements and artifact-store
//! calls as children, the trace id in error details and log lines; and a collector that is
//! down, whose spans are dropped and counted while every call is answered.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use modelreg::pb::{
    self, model_artifact_service_client::ModelArtifactServiceClient,
    model_registration_service_client::ModelRegistrationServiceClient,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::artifacts::{chunk_message, header_for, header_message};
use crate::common::otlp::Receiver;
use crate::common::process::{Serve, ServeProcess};
use crate::common::{model, plain_async};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    plain_async!(
        the_spans_of_a_call_continue_the_callers_trace_with_statements_and_store_calls_as_children,
        the_trace_id_is_in_error_details_problem_documents_and_log_lines,
        a_collector_that_is_down_costs_dropped_and_counted_spans_never_a_call,
    )
}

/// The spans of `trace_id` once one named `name` has arrived (and the rest of its batch).
async fn trace_with(receiver: &Receiver, trace_id: &[u8], name: &str) -> Vec<Span> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let spans = receiver.spans(|span| span.trace_id == trace_id);
        if spans.iter().any(|span| span.name == name) {
            return spans;
        }
        assert!(
            Instant::now() < deadline,
            "no span {name:?} in the trace; spans of it so far: {:?}",
            spans.iter().map(|span| &span.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A caller's W3C trace context: its trace id, and the id of the caller's span.
struct CallerTrace {
    trace_id: [u8; 16],
    span_id: [u8; 8],
}

impl CallerTrace {
    fn new() -> Self {
        let random = uuid::Uuid::new_v4();
        let mut span_id = [0u8; 8];
        span_id.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
        Self {
            trace_id: *random.as_bytes(),
            span_id,
        }
    }

    fn trace_hex(&self) -> String {
        hex(&self.trace_id)
    }

    fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_hex(), hex(&self.span_id))
    }

    fn on<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            "traceparent",
            MetadataValue::try_from(self.traceparent()).unwrap(),
        );
        request
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(
            |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                Value::StringValue(value) => Some(value.as_str()),
                _ => None,
            },
        )
}

/// Whether `span` descends from the span `ancestor` within `spans`.
fn descends_from(span: &Span, ancestor: &[u8], spans: &[Span]) -> bool {
    let by_id: HashMap<&[u8], &Span> = spans
        .iter()
        .map(|span| (span.span_id.as_slice(), span))
        .collect();
    let mut parent = span.parent_span_id.as_slice();
    for _ in 0..spans.len() {
        if parent == ancestor {
            return true;
        }
        match by_id.get(parent) {
            Some(next) => parent = next.parent_span_id.as_slice(),
            None => return false,
        }
    }
    false
}

struct TracedServer {
    server: ServeProcess,
    _dir: tempfile::TempDir,
    log: std::path::PathBuf,
    metrics: SocketAddr,
}

/// A free port of 127.0.0.1 for a listener the server binds itself.
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// `modelreg serve` exporting to `endpoint`, its batches sent every 100 ms.
async fn serve_exporting_to(endpoint: &str, args: &[&str]) -> TracedServer {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let artifacts = url::Url::from_directory_path(dir.path().join("artifacts"))
        .unwrap()
        .to_string();
    let log = dir.path().join("server.log");
    let metrics = free_port();
    let server = Serve::new()
        .args(["--database-url", &database, "--artifact-store", &artifacts])
        .args(["--otlp-endpoint", endpoint])
        .args(["--metrics-listen", &metrics.to_string()])
        .args(args)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .log_to(std::fs::File::create(&log).unwrap())
        .start()
        .await;
    TracedServer {
        server,
        _dir: dir,
        log,
        metrics,
    }
}

async fn channel(server: &ServeProcess) -> Channel {
    Channel::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn the_spans_of_a_call_continue_the_callers_trace_with_statements_and_store_calls_as_children()
 {
    let (receiver, addr) = Receiver::start(true).await;
    let traced = serve_exporting_to(&format!("http://{addr}"), &[]).await;
    let channel = channel(&traced.server).await;
    let mut registration = ModelRegistrationServiceClient::new(channel.clone());

    let caller = CallerTrace::new();
    let registered = registration
        .register_model(caller.on(pb::RegisterModelRequest {
            model_related_information: Some(model("traced", "1", 2)),
            request_id: String::new(),
        }))
        .await
        .expect("register")
        .into_inner();

    let name = "modelregistry.v1.ModelRegistrationService/RegisterModel";
    let spans = trace_with(&receiver, &caller.trace_id, name).await;
    let call = spans.iter().find(|span| span.name == name).unwrap();
    assert_eq!(
        call.parent_span_id, caller.span_id,
        "the call's span is a child of the caller's"
    );
    // SPAN_KIND_SERVER
    assert_eq!(call.kind, 2);
    let statements: Vec<&Span> = spans
        .iter()
        .filter(|span| attribute(span, "db.query.text").is_some())
        .collect();
    assert!(
        !statements.is_empty(),
        "no statement spans: {:?}",
        spans.iter().map(|span| &span.name).collect::<Vec<_>>()
    );
    for statement in &statements {
        assert!(
            descends_from(statement, &call.span_id, &spans),
            "{statement:?}"
        );
        assert_eq!(attribute(statement, "db.system.name"), Some("sqlite"));
    }
    assert!(
        statements
            .iter()
            .any(|span| attribute(span, "db.query.text").unwrap().contains("INSERT")),
        "the registration's INSERT is among the statements"
    );
    // Placeholders, never the values bound to them.
    assert!(
        statements
            .iter()
            .all(|span| !attribute(span, "db.query.text").unwrap().contains("traced")),
        "a bound value reached a span"
    );

    // An upload: the artifact store's calls are children of the upload's span.
    let caller = CallerTrace::new();
    let content = vec![7u8; 10_000];
    let messages = vec![
        header_message(header_for(&registered.model_registration_id, &content)),
        chunk_message(&content),
    ];
    ModelArtifactServiceClient::new(channel)
        .upload_artifact(caller.on(tokio_stream::iter(messages)))
        .await
        .expect("upload");
    let name = "modelregistry.v1.ModelArtifactService/UploadArtifact";
    let spans = trace_with(&receiver, &caller.trace_id, "object_store.complete_upload").await;
    let upload = spans
        .iter()
        .find(|span| span.name == name)
        .expect("the upload's span");
    for store_call in ["object_store.begin_upload", "object_store.complete_upload"] {
        let span = spans
            .iter()
            .find(|span| span.name == store_call)
            .unwrap_or_else(|| panic!("no {store_call} span"));
        assert!(descends_from(span, &upload.span_id, &spans), "{span:?}");
    }

    let scrape = scrape(traced.metrics).await;
    assert!(sample(&scrape, "modelreg_trace_spans_exported_total") > 0.0);
    // The start's health checks (and a probe's, every few seconds) start no trace.
    assert!(
        receiver
            .spans(|span| span.name.starts_with("grpc.health.v1.Health/"))
            .is_empty(),
        "a health check was traced"
    );
}

async fn the_trace_id_is_in_error_details_problem_documents_and_log_lines() {
    let (receiver, addr) = Receiver::start(true).await;
    let traced = serve_exporting_to(&format!("http://{addr}"), &[]).await;
    let mut registration = ModelRegistrationServiceClient::new(channel(&traced.server).await);

    let caller = CallerTrace::new();
    let status = registration
        .get_model_registration(caller.on(pb::GetModelRegistrationRequest {
            model_registration_id: uuid::Uuid::new_v4().to_string(),
            model: None,
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let info = status.get_details_error_info().expect("an ErrorInfo");
    assert_eq!(
        info.metadata.get("traceId"),
        Some(&caller.trace_hex()),
        "{info:?}"
    );
    trace_with(
        &receiver,
        &caller.trace_id,
        "modelregistry.v1.ModelRegistrationService/GetModelRegistration",
    )
    .await;

    // Over REST, in the problem document's metadata.
    let caller = CallerTrace::new();
    let url = format!(
        "{}/ai-ml-model-registration/v1/model-registrations/{}",
        traced.server.url(),
        uuid::Uuid::new_v4()
    );
    let response = reqwest::Client::new()
        .get(&url)
        .header("traceparent", caller.traceparent())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        problem["metadata"]["traceId"].as_str(),
        Some(caller.trace_hex().as_str()),
        "{problem}"
    );
    let spans = trace_with(&receiver, &caller.trace_id, "GET").await;
    let request = spans.iter().find(|span| span.name == "GET").unwrap();
    assert_eq!(request.parent_span_id, caller.span_id);

    // Without a caller's trace, a trace of its own, quoted as well.
    let status = registration
        .get_model_registration(pb::GetModelRegistrationRequest {
            model_registration_id: uuid::Uuid::new_v4().to_string(),
            model: None,
        })
        .await
        .unwrap_err();
    let own = status.get_details_error_info().expect("an ErrorInfo");
    let own = own.metadata.get("traceId").expect("a trace id");
    assert_eq!(own.len(), 32, "{own}");
    assert_ne!(own, &"0".repeat(32));

    // The request's log line names the trace (the log is complete once the server stops).
    let mut traced = traced;
    traced.server.terminate();
    traced
        .server
        .wait(Duration::from_secs(10))
        .await
        .expect("the server stops");
    let log = std::fs::read_to_string(&traced.log).unwrap();
    let wanted = format!("trace_id={}", caller.trace_hex());
    assert!(
        log.lines()
            .any(|line| line.contains(&wanted) && line.contains("status=404")),
        "no log line with {wanted}:\n{log}"
    );
}

async fn a_collector_that_is_down_costs_dropped_and_counted_spans_never_a_call() {
    // A port nothing listens on: every export is refused.
    let dead = free_port();
    let traced =
        serve_exporting_to(&format!("http://{dead}"), &["--otlp-max-queue-spans", "16"]).await;
    let mut registration = ModelRegistrationServiceClient::new(channel(&traced.server).await);
    let id = registration
        .register_model(pb::RegisterModelRequest {
            model_related_information: Some(model("untraced", "1", 1)),
            request_id: String::new(),
        })
        .await
        .expect("register")
        .into_inner()
        .model_registration_id;
    for _ in 0..200 {
        registration
            .get_model_registration(pb::GetModelRegistrationRequest {
                model_registration_id: id.clone(),
                model: None,
            })
            .await
            .expect("every call is answered");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let scrape = scrape(traced.metrics).await;
        let dropped = sample(&scrape, "modelreg_trace_spans_dropped_total");
        assert_eq!(sample(&scrape, "modelreg_trace_spans_exported_total"), 0.0);
        // 201 calls, each a span with its statements' spans: beyond the queue of 16 at once,
        // and what was queued is dropped when its export fails.
        if dropped >= 201.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {dropped} spans counted as dropped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scrape(addr: SocketAddr) -> String {
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of an unlabelled sample.
fn sample(scrape: &str, name: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().unwrap())
}
