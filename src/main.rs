use std::process::ExitCode;

use clap::Parser;
use modelreg::store::Store;
use modelreg::{Application, Cli, Command, telemetry};

/// sqlx hands every SQLite row from a connection's own thread to the task that reads it, so
/// memory is routinely freed on another thread than the one that allocated it. glibc's
/// allocator serializes that on arena locks (a third of the CPU of a 1000-model page went
/// there); mimalloc frees across threads without them. Its `override` feature (Cargo.toml)
/// routes SQLite's own C allocations through it as well.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let result = match cli.command {
        Command::Serve(config) => serve(config).await,
        Command::Migrate(database) => migrate(database).await,
        Command::Bench(config) => bench(config).await,
        Command::Models(args) => return client(modelreg::cli::run_models(args).await),
        Command::Artifacts(args) => return client(modelreg::cli::run_artifacts(args).await),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "modelreg", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

/// Client subcommands report on stderr without log decoration: the error line, then details.
fn client(result: Result<(), modelreg::cli::CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", err.report());
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: modelreg::ServeConfig) -> Result<(), Box<dyn std::error::Error>> {
    tracing::info!(?config, "starting");
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr(), "serving gRPC");
    app.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(database: modelreg::DatabaseConfig) -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::connect(&database).await?;
    store.migrate().await?;
    store.close().await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn bench(config: modelreg::loadgen::BenchConfig) -> Result<(), Box<dyn std::error::Error>> {
    let report = modelreg::loadgen::run(&config).await?;
    print!("{report}");
    match report.errors() {
        0 => Ok(()),
        errors => Err(format!("{errors} requests failed").into()),
    }
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        _ = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
