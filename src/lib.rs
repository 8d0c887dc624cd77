//! modelreg: an O-RAN AI/ML model registry (R1AP §10.1 registration, §10.2 discovery) over gRPC.
//!
//! Layers, outside in: `server` wires the gRPC services of `service`, which validate requests
//! into `domain` types, call `store` (SeaORM, transactions, batched loads) and map answers back
//! through `convert`; every failure becomes a `Status` in one place, `error`.

pub mod artifact_store;
pub mod client;
pub mod config;
pub mod convert;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod pb;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;

pub use config::{ArtifactConfig, DatabaseConfig, ServeConfig, StatementObserver};
pub use server::{Application, ServerError, migrate};
pub use telemetry::init as init_logging;
