//! `modelreg models watch`: follows the change events of a running server, one line per event,
//! until Ctrl-C. When the stream breaks (the server stops or restarts, the connection drops,
//! the client fell too far behind) it connects again and resumes after the last sequence it
//! saw, so that across reconnects every change is printed once, in commit order.

mod stream;

use std::time::Duration;

use clap::Args;

use super::events::{EventTypeArg, type_numbers};
use super::failure::root_cause;
use super::{CliError, ClientArgs};
use crate::client::{ConnectError, Connection, open_channel};
use crate::pb::{self, model_discovery_service_client::ModelDiscoveryServiceClient};
use stream::{Interruption, Resume, Stop, Watch};

/// The wait before the first reconnect attempt; it doubles with each attempt that brings
/// nothing, up to `MAX_DELAY`, and starts over once an attempt brings a message.
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(5);

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Only events of models of this name.
    #[arg(long)]
    name: Option<String>,
    /// Only events of models of this version.
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
    /// Resume after this sequence (the last one seen before). Without it, and without
    /// --initial, the watch prints the changes from now on.
    #[arg(long, value_name = "SEQUENCE", conflicts_with = "initial", value_parser = clap::value_parser!(i64).range(0..))]
    since: Option<i64>,
    /// First print the models that match as they are now (MODEL_REGISTERED, marked initial),
    /// then every change after them.
    #[arg(long)]
    initial: bool,
    /// Give up after this many reconnect attempts in a row that bring nothing (0: never
    /// reconnect). Unlimited by default.
    #[arg(long, value_name = "N")]
    max_reconnects: Option<u32>,
}

pub(super) async fn run(
    args: WatchArgs,
    channel: Connection,
    client: &ClientArgs,
) -> Result<(), CliError> {
    tokio::select! {
        result = follow(args, channel, client) => result,
        () = stopped() => Ok(()),
    }
}

async fn follow(args: WatchArgs, channel: Connection, client: &ClientArgs) -> Result<(), CliError> {
    let resume = match (args.initial, args.since) {
        (true, _) => Resume::InitialState,
        (false, Some(since)) => Resume::After(since),
        _ => Resume::After(current_sequence(channel.clone()).await?),
    };
    let request = pb::WatchModelsRequest {
        model_name: args.name.unwrap_or_default(),
        model_version: args.version.unwrap_or_default(),
        types: type_numbers(&args.types),
        ..Default::default()
    };
    let mut watch = Watch::new(request, client.output, resume);
    // The first connection is the one every command opens: a server that cannot be reached
    // at all fails at once, as for other commands. Later ones are retried.
    let mut first = Some(channel);
    let mut idle_attempts = 0;
    let mut delay = FIRST_DELAY;
    loop {
        let reconnect = first.is_none();
        let attempt = match first.take() {
            Some(channel) => watch.once(channel, false).await,
            None => match open_channel(&client.connection).await {
                Ok(channel) => watch.once(channel, reconnect).await,
                Err(ConnectError::Unreachable { server, source }) => Ok(Interruption {
                    reason: format!("cannot connect to {server}: {}", root_cause(&source)),
                    progressed: false,
                }),
                Err(other) => Err(other.into()),
            },
        };
        let interruption = match attempt {
            Ok(interruption) => interruption,
            Err(Stop::ReaderGone) => return Ok(()),
            Err(Stop::Failed(err)) => return Err(err),
        };
        if interruption.progressed {
            idle_attempts = 0;
            delay = FIRST_DELAY;
        }
        if args.max_reconnects.is_some_and(|max| idle_attempts >= max) {
            return Err(CliError::GaveUp {
                attempts: idle_attempts,
                last: interruption.reason,
            });
        }
        idle_attempts += 1;
        eprintln!(
            "watch interrupted ({}); reconnecting in {} to watch {}",
            interruption.reason,
            humantime::format_duration(delay),
            watch.resume_note()
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_DELAY);
    }
}

/// The log's current sequence. A watch from start_sequence 0 starts "now" at a sequence the
/// server never tells; pinned here, "now" is a position a reconnect can resume from.
async fn current_sequence(channel: Connection) -> Result<i64, CliError> {
    let page = ModelDiscoveryServiceClient::new(channel)
        .list_models(pb::ListModelsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(page.sequence)
}

/// Completes on Ctrl-C or SIGTERM: the end a watch is meant to have.
async fn stopped() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
