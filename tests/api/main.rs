//! Black-box tests: the real server on a real socket with a fresh database per test, through
//! the generated clients. Every test runs on SQLite and, with MODELREG_TEST_POSTGRES_URL set,
//! on PostgreSQL; variants that cannot run here are reported as ignored. One test binary keeps
//! linking time down; libtest-mimic gives it libtest's command line.

mod agent;
mod aimlfw;
mod artifacts;
mod authentication;
mod authorization;
mod certificate_consumers;
mod cli;
mod cli_discovery;
mod cli_events;
mod common;
mod discovery;
mod events;
mod faults;
mod filtering;
mod fuzz;
mod grpcurl;
mod jwt;
mod loadgen;
mod metrics;
mod operations;
mod probes;
mod query_budgets;
mod read_cache;
mod registration;
mod rest;
mod robustness;
mod scale_out;
mod stalled_uploads;
mod subscriptions;
mod sweeper;
mod tls;
mod traces;
mod transport_limits;
mod trust;
mod update;

fn main() {
    let arguments = libtest_mimic::Arguments::from_args();
    let trials = [
        registration::trials(),
        rest::trials(),
        aimlfw::trials(),
        agent::trials(),
        robustness::trials(),
        transport_limits::trials(),
        sweeper::trials(),
        stalled_uploads::trials(),
        discovery::trials(),
        filtering::trials(),
        events::trials(),
        update::trials(),
        query_budgets::trials(),
        read_cache::trials(),
        subscriptions::trials(),
        artifacts::trials(),
        metrics::trials(),
        cli::trials(),
        cli_discovery::trials(),
        cli_events::trials(),
        grpcurl::trials(),
        tls::trials(),
        traces::trials(),
        loadgen::trials(),
        operations::trials(),
        probes::trials(),
        scale_out::trials(),
        faults::trials(),
        authentication::trials(),
        authorization::trials(),
        certificate_consumers::trials(),
        jwt::trials(),
        trust::trials(),
        fuzz::trials(),
    ]
    .into_iter()
    .flatten()
    .collect();
    libtest_mimic::run(&arguments, trials).exit();
}
