//! modelreg: an O-RAN AI/ML model registry (R1AP §10.1 registration, §10.2 discovery) over gRPC.
//!
//! Arrows point one way. Front-ends (`grpc`, `rest`, and the LLM `agent`) turn requests into `domain` types and call the
//! core, `registry`, which decides every operation and uses `store` (SeaORM, transactions) and
//! `objects` (artifact bytes); both speak domain types, and rows never leave the store.
//! `server` wires it all; `client` holds the command-line clients, which use only `pb`.
#![warn(unreachable_pub)]

mod agent;
mod auth;
mod callbacks;
pub mod client;
mod config;
mod domain;
mod grpc;
mod metrics;
mod objects;
pub mod pb;
mod registry;
mod rest;
mod server;
mod store;
mod tasks;
mod telemetry;
mod transport;

pub use auth::{AuthSetupError, NewToken, NewTokenArgs, new_token};
pub use config::{
    AgentConfig, AgentMode, ArtifactConfig, AuthConfig, CacheConfig, CacheMode, CallbacksConfig,
    DatabaseConfig, EventsConfig, GcConfig, ImportConfig, LimitsConfig, RestProfile, ServeConfig,
    StatementObserver, SweepConfig, TlsConfig, TracesConfig,
};
pub use objects::OpenError as ArtifactStoreError;
pub use registry::SweepReport;
pub use server::{Application, ImportReport, ServerError, collect_garbage, import_mme, migrate};
pub use telemetry::{
    Telemetry, TracesError, init as init_logging, init_with_traces as init_telemetry,
};
pub use transport::TlsError;
