//! Black-box tests: the real server on a real socket with a fresh database per test, through
//! the generated clients. Every test runs on SQLite and, with MODELREG_TEST_POSTGRES_URL set,
//! on PostgreSQL. One test binary keeps linking time down.

mod artifacts;
mod cli;
mod common;
mod discovery;
mod grpcurl;
mod loadgen;
mod metrics;
mod operations;
mod query_budgets;
mod registration;
mod update;
