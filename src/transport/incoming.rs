//! The accept loops. A TLS listener runs each handshake in a task of its own with a time
//! limit, so that a slow or silent client never holds up the next connection; a failed
//! handshake is logged and dropped. Connections reach tonic as `Connection`s, whose
//! `ConnectionInfo` (when the connection was accepted, and the client certificate's identity,
//! read once per connection) tonic puts in the extensions of every request.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::server::{Connected, TcpIncoming};

use super::ConnectionInfo;
use super::identity::certificate_identity;

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS connections of a listener, in the order their handshakes complete. It ends when the
/// listener does; dropping it (tonic does at shutdown) closes the listener and abandons the
/// handshakes in progress.
pub(crate) struct TlsIncoming {
    tcp: TcpIncoming,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<TlsConnection>>,
    listening: bool,
}

impl TlsIncoming {
    pub(crate) fn new(listener: TcpListener, acceptor: TlsAcceptor) -> Self {
        Self {
            // Small RPC answers must not wait for Nagle's algorithm.
            tcp: TcpIncoming::from(listener).with_nodelay(Some(true)),
            acceptor,
            handshakes: JoinSet::new(),
            listening: true,
        }
    }
}

/// The plaintext connections of a listener.
pub(crate) fn plain_incoming(
    listener: TcpListener,
) -> impl Stream<Item = io::Result<Connection<TcpStream>>> {
    use futures::StreamExt;
    // Small RPC answers must not wait for Nagle's algorithm.
    TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .map(|accepted| {
            accepted.map(|stream| {
                let remote_addr = stream.peer_addr().ok();
                Connection {
                    stream,
                    info: ConnectionInfo {
                        remote_addr,
                        client_identity: None,
                        accepted_at: Instant::now(),
                    },
                }
            })
        })
}

/// A TLS connection past its handshake.
pub(crate) type TlsConnection = Connection<TlsStream<TcpStream>>;

impl Stream for TlsIncoming {
    type Item = io::Result<TlsConnection>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // Every connection waiting on the listener starts its handshake now.
        while this.listening {
            match Pin::new(&mut this.tcp).poll_next(cx) {
                Poll::Ready(Some(Ok(stream))) => {
                    this.handshakes
                        .spawn(handshake(this.acceptor.clone(), stream));
                }
                // tonic logs accept errors and goes on polling.
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(err))),
                Poll::Ready(None) => this.listening = false,
                Poll::Pending => break,
            }
        }
        loop {
            match this.handshakes.poll_join_next(cx) {
                Poll::Ready(Some(Ok(Some(connection)))) => {
                    return Poll::Ready(Some(Ok(connection)));
                }
                // The handshake failed, and said so.
                Poll::Ready(Some(Ok(None))) => continue,
                Poll::Ready(Some(Err(err))) => {
                    tracing::warn!(error = %err, "a TLS handshake task failed");
                }
                Poll::Ready(None) if !this.listening => return Poll::Ready(None),
                // The listener's waker is registered: a new connection wakes this stream.
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Completes the handshake of one connection, or logs why it did not.
async fn handshake(acceptor: TlsAcceptor, stream: TcpStream) -> Option<TlsConnection> {
    let remote_addr = stream.peer_addr().ok();
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(TlsConnection::new(stream, remote_addr)),
        // Scanners, health probes and clients with the wrong CA or no certificate end up
        // here; one line each at debug level is enough to find them.
        Ok(Err(err)) => {
            tracing::debug!(remote = ?remote_addr, error = %err, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(remote = ?remote_addr, timeout = ?HANDSHAKE_TIMEOUT, "TLS handshake timed out");
            None
        }
    }
}

/// A connection, with what the server knows of its peer.
pub(crate) struct Connection<S> {
    stream: S,
    info: ConnectionInfo,
}

impl TlsConnection {
    fn new(stream: TlsStream<TcpStream>, remote_addr: Option<SocketAddr>) -> Self {
        let (_, session) = stream.get_ref();
        // The verifier checked the chain; the leaf comes first.
        let client_identity = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| certificate_identity(leaf))
            .map(Arc::from);
        let info = ConnectionInfo {
            remote_addr,
            client_identity,
            accepted_at: Instant::now(),
        };
        tracing::debug!(remote = ?info.remote_addr, client = info.client_identity.as_deref(), "TLS connection accepted");
        Self { stream, info }
    }
}

impl<S> Connected for Connection<S> {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Connection<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Connection<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
