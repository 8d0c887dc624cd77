//! `modelreg subscriptions`: subscribe a notification destination to model changes, and show,
//! list and delete subscriptions.

use clap::Subcommand;

use super::events::{EventTypeArg, type_numbers};
use super::{CliError, ClientArgs, Output, json, table};
use crate::client::Connection;
use crate::pb::{self, model_subscription_service_client::ModelSubscriptionServiceClient};

#[derive(Debug, Subcommand)]
pub enum SubscriptionsCommand {
    /// Subscribe a URL to the changes of the models you may see; prints the signing secret
    /// once (keep it: receivers verify notifications with it).
    Create {
        /// Where notifications are POSTed (http or https).
        url: String,
        /// Only models of this name, or of this pattern with `*` ("qoe-*").
        #[arg(long)]
        name: Option<String>,
        /// Only this model version.
        #[arg(long)]
        version: Option<String>,
        /// Only events of these types (repeat it, or separate with commas).
        #[arg(
            long = "type",
            value_name = "TYPE",
            value_enum,
            ignore_case = true,
            value_delimiter = ','
        )]
        types: Vec<EventTypeArg>,
        /// For people.
        #[arg(long)]
        description: Option<String>,
        /// Up to this many events in one notification (a CloudEvents batch); 1 by default.
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..=1000))]
        max_batch: Option<i32>,
        /// Start after this sequence (e.g. the last one a previous receiver saw), not now.
        #[arg(long, value_name = "SEQUENCE")]
        start_sequence: Option<i64>,
        /// Sign with this secret ("whsec_" and base64) instead of one the server makes. Prefer
        /// the variable: a flag shows in the process list.
        #[arg(long, env = "MODELREG_SUBSCRIPTION_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// Show a subscription and how its deliveries stand.
    Get { id: String },
    /// List your subscriptions (an admin: everyone's).
    List,
    /// Delete a subscription: no more notifications.
    Delete { id: String },
}

pub(super) async fn run(
    command: SubscriptionsCommand,
    channel: Connection,
    client: &ClientArgs,
) -> Result<(), CliError> {
    let mut subscriptions = ModelSubscriptionServiceClient::new(channel);
    match command {
        SubscriptionsCommand::Create {
            url,
            name,
            version,
            types,
            description,
            max_batch,
            start_sequence,
            secret,
        } => {
            let request = pb::CreateSubscriptionRequest {
                subscription: Some(pb::Subscription {
                    notification_destination: url,
                    filter: Some(pb::SubscriptionFilter {
                        model_name: name.unwrap_or_default(),
                        model_version: version.unwrap_or_default(),
                        types: type_numbers(&types),
                    }),
                    description: description.unwrap_or_default(),
                    max_batch: max_batch.unwrap_or_default(),
                    ..Default::default()
                }),
                start_sequence,
                secret: secret.unwrap_or_default(),
            };
            let created = subscriptions
                .create_subscription(request)
                .await?
                .into_inner();
            match client.output {
                Output::Json => println!(
                    "{}",
                    json::to_json(&created, "modelregistry.v1.CreateSubscriptionResponse")
                ),
                Output::Table => {
                    let listed: Vec<_> = created.subscription.into_iter().collect();
                    print!("{}", table::subscriptions(&listed));
                    println!("signing secret (shown only now): {}", created.secret);
                }
            }
        }
        SubscriptionsCommand::Get { id } => {
            let found = subscriptions
                .get_subscription(pb::GetSubscriptionRequest {
                    subscription_id: id,
                })
                .await?
                .into_inner();
            print_list(client.output, vec![found]);
        }
        SubscriptionsCommand::List => {
            let listed = subscriptions
                .list_subscriptions(pb::ListSubscriptionsRequest {})
                .await?
                .into_inner();
            match client.output {
                Output::Json => println!(
                    "{}",
                    json::to_json(&listed, "modelregistry.v1.ListSubscriptionsResponse")
                ),
                Output::Table => print!("{}", table::subscriptions(&listed.subscriptions)),
            }
        }
        SubscriptionsCommand::Delete { id } => {
            subscriptions
                .delete_subscription(pb::DeleteSubscriptionRequest {
                    subscription_id: id.clone(),
                })
                .await?;
            if client.output == Output::Table {
                eprintln!("deleted subscription {id}");
            }
        }
    }
    Ok(())
}

fn print_list(output: Output, subscriptions: Vec<pb::Subscription>) {
    match output {
        Output::Json => {
            for subscription in &subscriptions {
                println!(
                    "{}",
                    json::to_json(subscription, "modelregistry.v1.Subscription")
                );
            }
        }
        Output::Table => print!("{}", table::subscriptions(&subscriptions)),
    }
}
