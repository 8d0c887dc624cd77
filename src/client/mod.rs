//! Clients of a running server: the `models` and `artifacts` subcommands (`cli`) and the load
//! generator behind `modelreg bench` (`bench`). They use the generated gRPC clients of `pb` and
//! nothing of the server.

pub mod bench;
pub mod cli;

use tonic::transport::{Channel, Endpoint};

/// A server that could not be reached, with the address that was tried.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {server}: {source}")]
pub struct ConnectError {
    pub server: String,
    #[source]
    pub source: tonic::transport::Error,
}

/// One HTTP/2 connection to `server`, opened now, so that a wrong address is reported before
/// any work starts.
async fn open_channel(server: &str) -> Result<Channel, ConnectError> {
    let connect = async {
        Endpoint::from_shared(server.to_owned())?
            .connect_timeout(std::time::Duration::from_secs(5))
            // Small RPCs must not wait for Nagle's algorithm.
            .tcp_nodelay(true)
            .connect()
            .await
    };
    connect.await.map_err(|source| ConnectError {
        server: server.to_owned(),
        source,
    })
}
