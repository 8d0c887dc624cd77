//! `modelreg models alias …`: point an alias of a model name at a version, or remove it.

use clap::Subcommand;

use super::{CliError, ClientArgs, Output, json, table};
use crate::client::Connection;
use crate::pb::{self, model_registration_service_client::ModelRegistrationServiceClient};

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Point NAME@ALIAS at VERSION, creating the alias or moving it from the version it
    /// names now.
    Set {
        /// The model name.
        name: String,
        /// The alias, e.g. production.
        alias: String,
        /// The version the alias is to name.
        version: String,
    },
    /// Remove NAME@ALIAS.
    Delete {
        /// The model name.
        name: String,
        /// The alias.
        alias: String,
    },
}

pub(super) async fn run(
    command: AliasCommand,
    channel: Connection,
    client: &ClientArgs,
) -> Result<(), CliError> {
    let mut registration = ModelRegistrationServiceClient::new(channel);
    match command {
        AliasCommand::Set {
            name,
            alias,
            version,
        } => {
            let named = registration
                .set_model_alias(pb::SetModelAliasRequest {
                    model_name: name,
                    alias,
                    model_version: version,
                })
                .await?
                .into_inner();
            match client.output {
                Output::Json => println!("{}", json::to_json(&named, json::MODEL)),
                Output::Table => print!("{}", table::models(std::slice::from_ref(&named))),
            }
        }
        AliasCommand::Delete { name, alias } => {
            registration
                .delete_model_alias(pb::DeleteModelAliasRequest {
                    model_name: name.clone(),
                    alias: alias.clone(),
                })
                .await?;
            match client.output {
                Output::Json => println!("{{}}"),
                Output::Table => println!("deleted {name}@{alias}"),
            }
        }
    }
    Ok(())
}

/// A `--label KEY=VALUE` argument.
pub(super) fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!(
            "{text:?} is not KEY=VALUE (the value may be empty: KEY=)"
        )),
    }
}
