//! Client subcommands of the `modelreg` binary: `models`, `artifacts`, `events`, `ask` and
//! `completions`. They reach a running server with the generated clients and print proto3 JSON
//! (`-o json`) or compact tables for people (`-o table`, the default).

mod aliases;
mod artifacts;
mod ask;
mod events;
mod failure;
pub use crate::pb::json;
mod models;
mod subscriptions;
mod table;
mod watch;

use clap::{Args, ValueEnum};

use super::ConnectionArgs;

pub use artifacts::ArtifactsCommand;
pub use ask::{AskArgs, run_ask};
pub use events::EventsCommand;
pub use failure::CliError;
pub use models::ModelsCommand;
pub use subscriptions::SubscriptionsCommand;

/// Options every client subcommand takes, before or after its own arguments.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// `table` for people, `json` for exact proto3 JSON (pipe it into jq, or back into -f).
    #[arg(short, long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,

    /// No progress bars (they also disappear when stderr is not a terminal).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(Debug, Args)]
pub struct ArtifactsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: ArtifactsCommand,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: EventsCommand,
}

#[derive(Debug, Args)]
pub struct SubscriptionsArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: SubscriptionsCommand,
}

/// A model named by its registration id, or by name and version.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// The model's registration id (or give --name and --version).
    #[arg(required_unless_present = "name", conflicts_with = "name")]
    pub id: Option<String>,
    /// The model's name (with --version).
    #[arg(long, requires = "version")]
    pub name: Option<String>,
    /// The model's version (with --name).
    #[arg(long, requires = "name")]
    pub version: Option<String>,
}

impl ModelArgs {
    /// The id, or the model id by name and version, as request fields want them.
    fn request_fields(&self) -> (String, Option<crate::pb::ModelId>) {
        match (&self.id, &self.name, &self.version) {
            (Some(id), _, _) => (id.clone(), None),
            (None, name, version) => (
                String::new(),
                Some(crate::pb::ModelId {
                    model_name: name.clone().unwrap_or_default(),
                    model_version: version.clone().unwrap_or_default(),
                    artifact_version: String::new(),
                }),
            ),
        }
    }
}

pub async fn run_models(args: ModelsArgs) -> Result<(), CliError> {
    let channel = super::open_channel(&args.client.connection).await?;
    models::run(args.command, channel, &args.client).await
}

pub async fn run_artifacts(args: ArtifactsArgs) -> Result<(), CliError> {
    let channel = super::open_channel(&args.client.connection).await?;
    artifacts::run(args.command, channel, &args.client).await
}

pub async fn run_events(args: EventsArgs) -> Result<(), CliError> {
    let channel = super::open_channel(&args.client.connection).await?;
    events::run(args.command, channel, &args.client).await
}

pub async fn run_subscriptions(args: SubscriptionsArgs) -> Result<(), CliError> {
    let channel = super::open_channel(&args.client.connection).await?;
    subscriptions::run(args.command, channel, &args.client).await
}

/// Reads a file, or stdin for `-`.
fn read_input(path: &std::path::Path) -> Result<String, CliError> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|source| CliError::Io {
            path: "stdin".into(),
            source,
        })
    } else {
        std::fs::read_to_string(path).map_err(|source| CliError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}
