//! Clients of a running server: the `models` and `artifacts` subcommands (`cli`) and the load
//! generator behind `modelreg bench` (`bench`). They use the generated gRPC clients of `pb` and
//! nothing of the server; `connection` opens their connections (TLS, bearer token).

pub mod bench;
pub mod cli;
mod connection;

pub use connection::{ConnectError, ConnectionArgs};
pub(crate) use connection::{Connection, open_channel};
