//! modelreg: an O-RAN AI/ML model registry (R1AP §10.1 registration, §10.2 discovery) over gRPC.
//!
//! Layers, outside in: `server` wires the gRPC services of `service`, which validate requests
//! into `domain` types, call `store` (SeaORM, transactions, batched loads) and map answers back
//! through `convert`; every failure becomes a `Status` in one place, `error`.

pub mod artifact_store;
pub mod cli;
pub mod config;
pub mod convert;
pub mod domain;
pub mod error;
pub mod loadgen;
pub mod metrics;
pub mod pb;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;

pub use config::{ArtifactConfig, Cli, Command, DatabaseConfig, ServeConfig};
pub use server::Application;
