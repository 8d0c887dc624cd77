//! `modelreg ask "…"`: a request in plain words to the registry's agent. Each action is
//! printed as it happens, then the answer; writes the agent planned are performed only when
//! confirmed (at the prompt, with --yes, or later with --confirm TOKEN).

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use futures::StreamExt;

use super::{CliError, ClientArgs, Output, json};
use crate::client::Connection;
use crate::pb::{self, agent_service_client::AgentServiceClient};

const STEP: &str = "modelregistry.v1.AgentStep";

#[derive(Debug, Args)]
pub struct AskArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    /// What to ask or do, in plain words, e.g. "which models run on kserve?".
    #[arg(required_unless_present = "confirm")]
    pub text: Option<String>,

    /// Perform the plan of an earlier answer (its confirmation token), without asking again.
    /// A token may begin with `-` (it is URL-safe base64): it is still the flag's value.
    #[arg(
        long,
        value_name = "TOKEN",
        conflicts_with = "text",
        allow_hyphen_values = true
    )]
    pub confirm: Option<String>,

    /// Perform the writes the agent plans without asking (otherwise asked at a terminal, and
    /// only printed elsewhere).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// How long to wait for the answer (sent as the call's deadline): above the server's
    /// --agent-max-duration, so that its own bound is what answers.
    #[arg(long, default_value = "3m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

pub async fn run_ask(args: AskArgs) -> Result<(), CliError> {
    let channel = super::super::open_channel(&args.client.connection).await?;
    let mut agent = AgentServiceClient::new(channel);
    let request = pb::GenerateContentRequest {
        text: args.text.clone().unwrap_or_default(),
        confirmation: args.confirm.clone().unwrap_or_default(),
    };
    let answer = converse(&mut agent, request, &args).await?;
    let Some(plan) = answer.plan else {
        return Ok(());
    };
    if args.client.output == Output::Json {
        return Ok(());
    }
    if args.yes || confirmed_at_terminal(plan.actions.len())? {
        let request = pb::GenerateContentRequest {
            text: String::new(),
            confirmation: plan.confirmation_token,
        };
        converse(&mut agent, request, &args).await?;
    } else {
        println!(
            "\nNothing was changed. To make these changes: modelreg ask --confirm {}",
            plan.confirmation_token
        );
    }
    Ok(())
}

/// Streams one request: prints its steps as they come, and answers the last.
async fn converse(
    agent: &mut AgentServiceClient<Connection>,
    request: pb::GenerateContentRequest,
    args: &AskArgs,
) -> Result<pb::GenerateContentResponse, CliError> {
    let output = args.client.output;
    let mut request = tonic::Request::new(request);
    request.set_timeout(args.timeout);
    let mut steps = agent.stream_generate_content(request).await?.into_inner();
    while let Some(step) = steps.next().await {
        let step = step?;
        if output == Output::Json {
            println!("{}", json::to_json_line(&step, STEP));
        }
        match step.step {
            Some(pb::agent_step::Step::Action(action)) if output == Output::Table => {
                println!("{}", action_line(&action));
            }
            Some(pb::agent_step::Step::Answer(answer)) => {
                if output == Output::Table {
                    print_answer(&answer);
                }
                return Ok(answer);
            }
            _ => {}
        }
    }
    Err(CliError::Input(
        "the server ended the answer before it was complete".into(),
    ))
}

fn action_line(action: &pb::AgentAction) -> String {
    let outcome = if action.reason.is_empty() {
        action.outcome.clone()
    } else {
        format!("{} ({})", action.outcome, action.reason)
    };
    format!("→ {} {}  {}", action.tool, action.arguments, outcome)
}

fn print_answer(answer: &pb::GenerateContentResponse) {
    println!("\n{}", answer.text);
    if let Some(plan) = &answer.plan {
        println!("\nPlanned changes (not made yet):");
        for action in &plan.actions {
            println!("  {} {}", action.tool, action.arguments);
        }
    }
}

/// Asks at a terminal whether to make the planned changes; elsewhere, no.
fn confirmed_at_terminal(count: usize) -> Result<bool, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(false);
    }
    print!("Make these changes ({count})? [y/N] ");
    std::io::stdout().flush().ok();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|source| CliError::Io {
            path: "stdin".into(),
            source,
        })?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::AskArgs;

    #[derive(Parser)]
    struct Ask {
        #[command(flatten)]
        args: AskArgs,
    }

    #[test]
    fn a_confirmation_token_may_begin_with_a_hyphen() {
        let parsed = Ask::try_parse_from(["ask", "--confirm", "-zAbC_1-x"]).unwrap();
        assert_eq!(parsed.args.confirm.as_deref(), Some("-zAbC_1-x"));
    }
}
