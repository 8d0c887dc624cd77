//! `modelreg events list`: the audit view of the event log (who changed which model, when,
//! from which etag to which), and the event types that `models watch` filters on too.

use clap::{Subcommand, ValueEnum};

use super::{CliError, ClientArgs, Output, json, table};
use crate::client::Connection;
use crate::pb::{self, model_event_service_client::ModelEventServiceClient};

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List events of the log, oldest first (admin role).
    List {
        /// Only events of this registration id.
        #[arg(long, value_name = "ID")]
        model_id: Option<String>,
        /// Only events of models of this name.
        #[arg(long)]
        name: Option<String>,
        /// Only changes made by this principal ("anonymous" without authentication).
        #[arg(long)]
        actor: Option<String>,
        /// Only events of these types (repeat it, or separate with commas).
        #[arg(
            long = "type",
            value_name = "TYPE",
            value_enum,
            ignore_case = true,
            value_delimiter = ','
        )]
        types: Vec<EventTypeArg>,
        /// Only events at or after this time (RFC 3339, e.g. 2026-11-26T08:00:00Z).
        #[arg(long, value_name = "TIME", value_parser = rfc3339)]
        since: Option<prost_types::Timestamp>,
        /// Only events before this time (RFC 3339).
        #[arg(long, value_name = "TIME", value_parser = rfc3339)]
        until: Option<prost_types::Timestamp>,
        /// Newest first instead of oldest first.
        #[arg(long)]
        newest_first: bool,
        /// Events per request (the server's maximum is 1000).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=1000))]
        page_size: i32,
        /// Stop after this many events; the table says when more follow.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
        /// Follow page tokens to the end of the log, whatever --limit says.
        #[arg(long, conflicts_with = "limit")]
        all: bool,
    },
}

/// An event type as the command line names it: `model_registered` or `MODEL_REGISTERED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum EventTypeArg {
    ModelRegistered,
    ModelUpdated,
    ModelDeregistered,
    ArtifactStored,
    AliasSet,
    AliasDeleted,
}

impl EventTypeArg {
    fn to_pb(self) -> pb::EventType {
        match self {
            Self::ModelRegistered => pb::EventType::ModelRegistered,
            Self::ModelUpdated => pb::EventType::ModelUpdated,
            Self::ModelDeregistered => pb::EventType::ModelDeregistered,
            Self::ArtifactStored => pb::EventType::ArtifactStored,
            Self::AliasSet => pb::EventType::AliasSet,
            Self::AliasDeleted => pb::EventType::AliasDeleted,
        }
    }
}

/// The `types` field of a request.
pub(super) fn type_numbers(types: &[EventTypeArg]) -> Vec<i32> {
    types.iter().map(|kind| kind.to_pb() as i32).collect()
}

fn rfc3339(text: &str) -> Result<prost_types::Timestamp, String> {
    let time = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|err| format!("{err} (expected RFC 3339, e.g. 2026-11-26T08:00:00Z)"))?;
    Ok(prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    })
}

pub(super) async fn run(
    command: EventsCommand,
    channel: Connection,
    client: &ClientArgs,
) -> Result<(), CliError> {
    let EventsCommand::List {
        model_id,
        name,
        actor,
        types,
        since,
        until,
        newest_first,
        page_size,
        limit,
        all,
    } = command;
    let mut events = ModelEventServiceClient::new(channel);
    let mut request = pb::ListEventsRequest {
        model_registration_id: model_id.unwrap_or_default(),
        model_name: name.unwrap_or_default(),
        actor: actor.unwrap_or_default(),
        types: type_numbers(&types),
        start_time: since,
        end_time: until,
        newest_first,
        page_size,
        page_token: String::new(),
    };
    let limit = if all { usize::MAX } else { limit as usize };
    let mut listed = pb::ListEventsResponse::default();
    loop {
        // The last page asks for no more than the limit leaves, so that its token still
        // points right after the last event shown.
        let left = limit - listed.events.len();
        request.page_size = page_size.min(i32::try_from(left).unwrap_or(i32::MAX));
        let page = events.list_events(request.clone()).await?.into_inner();
        listed.events.extend(page.events);
        listed.next_page_token = page.next_page_token;
        if listed.next_page_token.is_empty() || listed.events.len() >= limit {
            break;
        }
        request.page_token = std::mem::take(&mut listed.next_page_token);
    }
    match client.output {
        Output::Json => println!("{}", json::to_json(&listed, json::LIST_EVENTS)),
        Output::Table => {
            print!("{}", table::events(&listed.events));
            if !listed.next_page_token.is_empty() {
                eprintln!("more events follow: raise --limit, or add --all to list them");
            }
        }
    }
    Ok(())
}
