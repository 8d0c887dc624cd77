//! A tonic channel that counts the TCP connections it opens, to tell a client that kept its
//! connection from one that reconnected (which a channel does without telling its caller).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint};

pub struct CountedChannel {
    pub channel: Channel,
    opened: Arc<AtomicUsize>,
}

impl CountedChannel {
    /// A channel to the server at `addr`, connected once before it returns.
    pub async fn connect(addr: SocketAddr) -> Self {
        let opened = Arc::new(AtomicUsize::new(0));
        let counter = opened.clone();
        let connector = tower::service_fn(move |_: http::Uri| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { tokio::net::TcpStream::connect(addr).await.map(TokioIo::new) }
        });
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_with_connector(connector)
            .await
            .expect("connect to the server");
        Self { channel, opened }
    }

    /// TCP connections opened so far.
    pub fn connections(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }
}

/// The client's transport refused the call before sending any of it, so the server never
/// saw it and it is safe to send again: its HTTP/2 connection had already received the
/// server's graceful GOAWAY (h2's error, which tonic reports as INTERNAL), or closed with the
/// call still queued for it (hyper's "connection closed", which tonic reports as CANCELLED
/// with the transport error as its source). gRPC's Go and Java clients retry such calls
/// transparently (gRFC A6); tonic hands them to the caller.
pub fn never_sent(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    if status.code() == tonic::Code::Cancelled {
        return source.is_some_and(|source| source.is::<tonic::transport::Error>());
    }
    while let Some(error) = source {
        if let Some(h2) = error.downcast_ref::<h2::Error>() {
            return h2.is_go_away() && h2.is_remote() && h2.reason() == Some(h2::Reason::NO_ERROR);
        }
        source = error.source();
    }
    false
}
