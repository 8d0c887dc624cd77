//! `modelreg models …`: register, get, update, delete, list and watch registrations, and set
//! their aliases.

use std::path::PathBuf;

use crate::client::Connection;
use clap::Subcommand;

use super::aliases::{self, AliasCommand, parse_label};
use super::watch::{self, WatchArgs};
use super::{CliError, ClientArgs, Output, json, read_input, table};
use crate::pb::{
    self, model_discovery_service_client::ModelDiscoveryServiceClient,
    model_registration_service_client::ModelRegistrationServiceClient,
};

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Register a model from the R1AP JSON of a ModelRelatedInformation.
    Register {
        /// The JSON file; `-` reads stdin. camelCase and snake_case names are both accepted.
        #[arg(short, long)]
        file: PathBuf,
        /// Idempotency key: a retry with the same id returns the first registration.
        #[arg(long)]
        request_id: Option<String>,
        /// A label to add to the file's, as KEY=VALUE; repeatable.
        #[arg(long = "label", value_parser = parse_label)]
        labels: Vec<(String, String)>,
    },
    /// Show one registration: by id, or by --name with --version or --alias.
    Get {
        /// The registration id.
        #[arg(required_unless_present = "name", conflicts_with = "name")]
        id: Option<String>,
        /// The model name.
        #[arg(long, requires = "version_or_alias")]
        name: Option<String>,
        /// The model version.
        #[arg(long, group = "version_or_alias")]
        version: Option<String>,
        /// An alias of the model name, e.g. production.
        #[arg(long, group = "version_or_alias")]
        alias: Option<String>,
    },
    /// Change a registration from the JSON of a partial ModelRelatedInformation, and/or set or
    /// remove single labels.
    Update {
        /// The registration id.
        id: String,
        /// The JSON file with the new values; `-` reads stdin.
        #[arg(short, long, required_unless_present_any = ["labels", "remove_labels"])]
        file: Option<PathBuf>,
        /// Set one label, as KEY=VALUE; repeatable. Other labels are kept.
        #[arg(long = "label", value_parser = parse_label)]
        labels: Vec<(String, String)>,
        /// Remove one label by its key; repeatable.
        #[arg(long = "remove-label")]
        remove_labels: Vec<String>,
        /// Fields to replace, e.g. `description,model_information.target_environment`;
        /// without a mask every field present in the file is applied.
        #[arg(long, value_delimiter = ',')]
        mask: Vec<String>,
        /// Only update if the registration still has this etag.
        #[arg(long)]
        etag: Option<String>,
    },
    /// Delete a registration and its artifacts.
    Delete {
        /// The registration id.
        id: String,
        /// Only delete if the registration still has this etag.
        #[arg(long)]
        etag: Option<String>,
    },
    /// List registrations, in (name, version) order unless --order-by says otherwise.
    List {
        /// Only models of this name.
        #[arg(long)]
        name: Option<String>,
        /// Only models of this version.
        #[arg(long)]
        version: Option<String>,
        /// Only models that pass this filter (docs/filtering.md), e.g.
        /// 'labels.team = "ran" AND model_information.target_environment.platform_name = "kserve"'.
        #[arg(long)]
        filter: Option<String>,
        /// The order, e.g. 'create_time desc' (fields: model_id.model_name,
        /// model_id.model_version, create_time, update_time).
        #[arg(long)]
        order_by: Option<String>,
        /// Models per page (the server's default is 50, its maximum 1000).
        #[arg(long, default_value_t = 0)]
        page_size: i32,
        /// Follow page tokens and list every match.
        #[arg(long)]
        all: bool,
    },
    /// Print changes as they are committed, one line per event, until Ctrl-C; reconnects and
    /// resumes by itself.
    Watch(WatchArgs),
    /// Set or delete an alias (NAME@ALIAS) of a model name.
    #[command(subcommand)]
    Alias(AliasCommand),
}

pub(super) async fn run(
    command: ModelsCommand,
    channel: Connection,
    client: &ClientArgs,
) -> Result<(), CliError> {
    let mut registration = ModelRegistrationServiceClient::new(channel.clone());
    let print = |model: &pb::ModelRelatedInformation| match client.output {
        Output::Json => println!("{}", json::to_json(model, json::MODEL)),
        Output::Table => print!("{}", table::models(std::slice::from_ref(model))),
    };
    match command {
        ModelsCommand::Register {
            file,
            request_id,
            labels,
        } => {
            let mut model = parse_model(&file)?;
            model.labels.extend(labels);
            let registered = registration
                .register_model(pb::RegisterModelRequest {
                    model_related_information: Some(model),
                    request_id: request_id.unwrap_or_default(),
                })
                .await?
                .into_inner();
            print(&registered);
        }
        ModelsCommand::Get {
            id,
            name,
            version,
            alias,
        } => {
            use pb::model_selector::VersionOrAlias;
            let selector = name.map(|model_name| pb::ModelSelector {
                model_name,
                version_or_alias: match (version, alias) {
                    (Some(version), _) => Some(VersionOrAlias::ModelVersion(version)),
                    (None, Some(alias)) => Some(VersionOrAlias::Alias(alias)),
                    (None, None) => None,
                },
            });
            let model = registration
                .get_model_registration(pb::GetModelRegistrationRequest {
                    model_registration_id: id.unwrap_or_default(),
                    model: selector,
                })
                .await?
                .into_inner();
            print(&model);
        }
        ModelsCommand::Update {
            id,
            file,
            labels,
            remove_labels,
            mut mask,
            etag,
        } => {
            let mut model = match &file {
                Some(file) => parse_model(file)?,
                None => pb::ModelRelatedInformation::default(),
            };
            if !labels.is_empty() || !remove_labels.is_empty() {
                if file.is_some() && mask.is_empty() {
                    return Err(CliError::Input(
                        "with --label or --remove-label, name the file's fields with --mask".into(),
                    ));
                }
                // Each label is a mask path of its own: the others stay as they are.
                mask.extend(labels.iter().map(|(key, _)| format!("labels.{key}")));
                mask.extend(remove_labels.iter().map(|key| format!("labels.{key}")));
                model.labels.extend(labels);
            }
            model.model_registration_id = id;
            if let Some(etag) = etag {
                model.etag = etag;
            }
            let updated = registration
                .update_model_registration(pb::UpdateModelRegistrationRequest {
                    model_related_information: Some(model),
                    update_mask: (!mask.is_empty())
                        .then_some(prost_types::FieldMask { paths: mask }),
                })
                .await?
                .into_inner();
            print(&updated);
        }
        ModelsCommand::Delete { id, etag } => {
            registration
                .delete_model_registration(pb::DeleteModelRegistrationRequest {
                    model_registration_id: id.clone(),
                    etag: etag.unwrap_or_default(),
                })
                .await?;
            match client.output {
                Output::Json => println!("{{}}"),
                Output::Table => println!("deleted {id}"),
            }
        }
        ModelsCommand::List {
            name,
            version,
            filter,
            order_by,
            page_size,
            all,
        } => {
            let mut discovery = ModelDiscoveryServiceClient::new(channel);
            let mut request = pb::ListModelsRequest {
                model_name: name.unwrap_or_default(),
                model_version: version.unwrap_or_default(),
                page_size,
                page_token: String::new(),
                filter: filter.unwrap_or_default(),
                order_by: order_by.unwrap_or_default(),
            };
            let mut listed = pb::ListModelsResponse::default();
            loop {
                let page = discovery.list_models(request.clone()).await?.into_inner();
                listed.models.extend(page.models);
                listed.next_page_token = page.next_page_token;
                if !all || listed.next_page_token.is_empty() {
                    break;
                }
                request.page_token = std::mem::take(&mut listed.next_page_token);
            }
            match client.output {
                Output::Json => println!("{}", json::to_json(&listed, json::LIST_MODELS)),
                Output::Table => {
                    print!("{}", table::models(&listed.models));
                    if !listed.next_page_token.is_empty() {
                        eprintln!("more models follow: add --all to list them");
                    }
                }
            }
        }
        ModelsCommand::Watch(args) => watch::run(args, channel, client).await?,
        ModelsCommand::Alias(command) => aliases::run(command, channel, client).await?,
    }
    Ok(())
}

fn parse_model(file: &std::path::Path) -> Result<pb::ModelRelatedInformation, CliError> {
    let text = read_input(file)?;
    json::from_json(&text, json::MODEL).map_err(|err| {
        CliError::Input(format!(
            "{} is not a ModelRelatedInformation in proto3 JSON: {err}",
            if file.as_os_str() == "-" {
                "stdin".to_owned()
            } else {
                file.display().to_string()
            }
        ))
    })
}
