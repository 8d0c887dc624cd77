//! The harness: a real server on 127.0.0.1:0 with a fresh database and artifact store per test,
//! reached through the generated tonic clients, as users reach it; or the real binary as a
//! child process. Every test is a libtest-mimic trial (see `trials`).

pub mod backends;
pub mod certificates;
pub mod connections;
pub mod credentials;
pub mod fixtures;
pub mod objects;
pub mod otlp;
pub mod process;
pub mod prometheus;
pub mod raw_http2;
pub mod replicas;
pub mod s3;
pub mod servers;
pub mod signing;
pub mod statements;
pub mod trials;
pub mod watch_command;
pub mod watching;

pub use backends::{Backend, TestDatabase};
pub use fixtures::{assert_error, environment, environments_of, model, violated_fields};
pub use objects::Objects;
pub use servers::TestServer;
pub(crate) use trials::{on_every_backend, on_every_store, plain_async, plain_sync};
