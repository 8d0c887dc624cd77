//! What the agent answers: its text, every action it took, and the writes it planned.

use chrono::{DateTime, Utc};

/// What became of one tool call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The operation succeeded.
    Ok,
    /// The operation failed (its reason says why).
    Error,
    /// A write, to be performed when the caller confirms the plan.
    Planned,
    /// Not attempted: an unknown tool, arguments that are not the tool's, a write under
    /// `--agent-mode read-only`.
    Refused,
    /// A planned write not performed, because one before it failed.
    Skipped,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Planned => "planned",
            Outcome::Refused => "refused",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One tool call, as the caller is shown it.
#[derive(Clone, Debug)]
pub(crate) struct Action {
    pub(crate) tool: String,
    /// The arguments, as JSON.
    pub(crate) arguments: String,
    pub(crate) outcome: Outcome,
    /// The reason of a failure or refusal; empty otherwise.
    pub(crate) reason: String,
    /// What the tool answered, as the LLM read it.
    pub(crate) result: String,
}

/// Writes awaiting the caller's confirmation.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) confirmation_token: String,
    pub(crate) expire_time: DateTime<Utc>,
    pub(crate) actions: Vec<Action>,
}

#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) text: String,
    pub(crate) actions: Vec<Action>,
    pub(crate) plan: Option<Plan>,
}
