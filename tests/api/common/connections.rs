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
