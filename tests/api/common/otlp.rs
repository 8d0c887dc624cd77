//! An OTLP/gRPC receiver on 127.0.0.1: a tonic server of the collector's own trace service
//! (from `opentelemetry-proto`), for the tests and for the traces benchmark, which includes this
//! file with `#[path]`. It counts every span it is sent, and keeps them when asked to.

// Each includer uses a part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

#[derive(Clone)]
pub struct Receiver {
    received: Arc<AtomicU64>,
    /// Every span sent, when kept (a benchmark's hundreds of thousands are only counted).
    kept: Option<Arc<Mutex<Vec<Span>>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|resource| resource.scope_spans)
            .flat_map(|scope| scope.spans);
        match &self.kept {
            Some(kept) => {
                let mut kept = kept.lock().unwrap();
                let before = kept.len();
                kept.extend(spans);
                self.count(kept.len() - before);
            }
            None => self.count(spans.count()),
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Receiver {
    /// A receiver serving until the process ends; `keep` keeps the spans, not only their count.
    pub async fn start(keep: bool) -> (Self, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let receiver = Self {
            received: Arc::default(),
            kept: keep.then(Arc::default),
        };
        tokio::spawn(
            Server::builder()
                .add_service(TraceServiceServer::new(receiver.clone()))
                .serve_with_incoming(TcpIncoming::from(listener)),
        );
        (receiver, addr)
    }

    fn count(&self, spans: usize) {
        self.received.fetch_add(spans as u64, Ordering::Relaxed);
    }

    /// Spans received so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The kept spans that `select` picks.
    pub fn spans(&self, select: impl Fn(&Span) -> bool) -> Vec<Span> {
        let kept = self.kept.as_ref().expect("a receiver that keeps its spans");
        kept.lock()
            .unwrap()
            .iter()
            .filter(|span| select(span))
            .cloned()
            .collect()
    }
}
