//! The `modelreg` binary: the server (`serve`, `migrate`) and its clients (`models`,
//! `artifacts`, `events`, `bench`) behind one command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use modelreg::client::{bench, cli};
use modelreg::{
    Application, DatabaseConfig, GcConfig, ImportConfig, ImportReport, NewTokenArgs, ServeConfig,
};

/// sqlx hands every SQLite row from a connection's own thread to the task that reads it, so
/// memory is routinely freed on another thread than the one that allocated it. glibc's
/// allocator serializes that on arena locks (a third of the CPU of a 1000-model page went
/// there); mimalloc frees across threads without them. Its `override` feature (Cargo.toml)
/// routes SQLite's own C allocations through it as well.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "modelreg",
    version,
    about = "O-RAN AI/ML model registry over gRPC and REST"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations, then serve gRPC and REST until SIGTERM or Ctrl-C.
    Serve(Box<ServeConfig>),
    /// Apply pending migrations and exit.
    Migrate(DatabaseConfig),
    /// Remove artifact bytes that no record names (left by crashes), older than --gc-grace.
    Gc(GcConfig),
    /// Drive a running server with load and report throughput and latency per scenario.
    Bench(bench::BenchConfig),
    /// Register, show, change, delete, list and watch models on a running server.
    Models(cli::ModelsArgs),
    /// Upload, download and list a model's artifacts on a running server.
    Artifacts(cli::ArtifactsArgs),
    /// Read the event log of a running server: who changed which model, when.
    Events(cli::EventsArgs),
    /// Have model changes POSTed to a URL (signed CloudEvents); show, list, delete.
    Subscriptions(cli::SubscriptionsArgs),
    /// Ask the registry's agent, in plain words: "which models run on kserve?".
    Ask(cli::AskArgs),
    /// Make bearer tokens for the consumers file (`serve --auth-tokens`).
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// Moves another registry's models into this one's database.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Print a shell completion script: `modelreg completions bash > /etc/bash_completion.d/modelreg`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// From the Go model management service of O-RAN SC AIMLFW (its PostgreSQL database),
    /// keeping every model's id; a re-run imports only what is missing (docs/aimlfw.md).
    Mme(ImportConfig),
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Print a new random token, and the consumers-file entry that admits it (with the
    /// token's SHA-256, never the token).
    New(NewTokenArgs),
}

impl Command {
    /// The subcommands whose output is read by other programs (`models list | head`).
    fn prints_for_a_pipe(&self) -> bool {
        matches!(
            self,
            Command::Models(_)
                | Command::Artifacts(_)
                | Command::Events(_)
                | Command::Subscriptions(_)
                | Command::Ask(_)
                | Command::Tokens { .. }
                | Command::Completions { .. }
        )
    }
}

/// Rust ignores SIGPIPE, so printing to a pipe whose reader has gone (`modelreg models list |
/// head`) fails, and `println!` panics. A client ends as other command-line tools do: quietly,
/// by the signal. Never for `serve`: its sockets report a closed peer as an error (sends use
/// MSG_NOSIGNAL in any case), and the server must not die of one.
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: `signal` changes the process's disposition of SIGPIPE, atomically, for every
    // thread; SIG_DFL is a valid disposition, and no handler of ours is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = Cli::parse().command;
    if command.prints_for_a_pipe() {
        end_quietly_on_a_closed_pipe();
    }
    // `serve` logs and exports traces as it is configured to.
    if !matches!(command, Command::Serve(_)) {
        modelreg::init_logging();
    }
    let result = match command {
        Command::Serve(config) => serve(*config).await,
        Command::Migrate(database) => migrate(database).await,
        Command::Gc(config) => collect_garbage(config).await,
        Command::Bench(config) => run_bench(config).await,
        Command::Models(args) => return client(cli::run_models(args).await),
        Command::Artifacts(args) => return client(cli::run_artifacts(args).await),
        Command::Events(args) => return client(cli::run_events(args).await),
        Command::Subscriptions(args) => return client(cli::run_subscriptions(args).await),
        Command::Ask(args) => return client(cli::run_ask(args).await),
        Command::Tokens {
            command: TokensCommand::New(args),
        } => return print_new_token(&args),
        Command::Import {
            command: ImportCommand::Mme(config),
        } => return import_mme(config).await,
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

/// The token alone on the first line, for scripts; then the entry for the consumers file. The
/// token line is not TOML, so the output cannot be appended whole to the file by mistake.
fn print_new_token(args: &NewTokenArgs) -> ExitCode {
    match modelreg::new_token(args) {
        Ok(new) => {
            println!("{}", new.token);
            println!();
            println!(
                "# Give the token above to {:?}; the registry keeps only its SHA-256.",
                args.name
            );
            println!("# Add this to the consumers file (--auth-tokens):");
            print!("{}", new.entry);
            ExitCode::SUCCESS
        }
        Err(problem) => {
            eprintln!("error: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// Client subcommands report on stderr without log decoration: the error line, then details.
/// Imports with a progress bar on a terminal, then prints what became of the models; fails
/// when any was refused, each listed with its reasons.
async fn import_mme(config: ImportConfig) -> ExitCode {
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} models ({eta} left)")
            .expect("a valid template"),
    );
    let mut progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let report = modelreg::import_mme(&config, &mut progress).await;
    bar.finish_and_clear();
    match report {
        Ok(report) => print_import(&report),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn print_import(report: &ImportReport) -> ExitCode {
    for (model, reasons) in &report.refused {
        println!("refused model {model}: {reasons}");
    }
    let (imported, verb) = if report.dry_run {
        ("would import", " (dry run: nothing was written)")
    } else {
        ("imported", "")
    };
    println!(
        "{imported} {}, skipped {} already present, refused {}{verb}",
        report.imported.len(),
        report.already_present.len(),
        report.refused.len(),
    );
    if report.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn client(result: Result<(), cli::CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", err.report());
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: ServeConfig) -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = modelreg::init_telemetry(&config.traces)?;
    tracing::info!(?config, "starting");
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr(), "serving gRPC");
    if let Some(health) = app.health_addr() {
        tracing::info!(address = %health, "serving health in plaintext");
    }
    let served = app.run_until(shutdown_signal()).await;
    // The spans of the last calls: exported within the exporter's timeout, or dropped.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    served?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(database: DatabaseConfig) -> Result<(), Box<dyn std::error::Error>> {
    modelreg::migrate(&database).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn collect_garbage(config: GcConfig) -> Result<(), Box<dyn std::error::Error>> {
    let report = modelreg::collect_garbage(&config).await?;
    for orphan in &report.orphans {
        println!("{orphan}");
    }
    let verb = if report.removed {
        "removed"
    } else {
        "would remove (dry run)"
    };
    println!(
        "{} objects older than {} looked at; {verb} {} without a record ({} bytes)",
        report.scanned,
        humantime::format_duration(config.gc_grace),
        report.orphans.len(),
        report.orphan_bytes
    );
    if let Some(stalled) = &report.stalled_uploads {
        for upload in stalled {
            println!("{upload}");
        }
        let verb = if report.removed {
            "aborted"
        } else {
            "would abort (dry run)"
        };
        println!(
            "{verb} {} incomplete multipart uploads older than {}",
            stalled.len(),
            humantime::format_duration(config.gc_grace)
        );
    }
    Ok(())
}

async fn run_bench(config: bench::BenchConfig) -> Result<(), Box<dyn std::error::Error>> {
    let report = bench::run(&config).await?;
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
