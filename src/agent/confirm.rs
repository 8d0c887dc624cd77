//! Plans: the writes of one answer sealed into a confirmation token, and performed, in order,
//! when the caller who asked sends it back.

use super::act::traced;
use super::plan::{self, Step};
use super::run::OnAction;
use super::{Action, Agent, Answer, Outcome, Plan};
use crate::config::AgentMode;
use crate::domain::{Caller, Error, Result};
use chrono::Utc;

impl Agent {
    /// The plan of `planned` writes, sealed for `caller` until --agent-plan-ttl from now.
    pub(super) fn seal(&self, caller: &Caller, planned: Vec<(Step, Action)>) -> Plan {
        let config = &self.inner.config;
        let ttl = chrono::Duration::from_std(config.agent_plan_ttl)
            .unwrap_or_else(|_| chrono::Duration::minutes(10));
        let expire_time = Utc::now() + ttl;
        let (steps, actions): (Vec<Step>, Vec<Action>) = planned.into_iter().unzip();
        Plan {
            confirmation_token: plan::seal(
                self.inner.registry.page_token_key(),
                caller,
                expire_time,
                &steps,
            ),
            expire_time,
            actions,
        }
    }

    /// Performs a confirmed plan, in order; after a step that fails, the rest are skipped.
    pub(super) async fn perform(
        &self,
        caller: &Caller,
        token: &str,
        on_action: OnAction<'_>,
    ) -> Result<Answer> {
        if self.inner.config.agent_mode == AgentMode::ReadOnly {
            return Err(Error::invalid_request(
                "confirmation",
                "this registry's agent is read-only (--agent-mode read-only); nothing was changed",
            ));
        }
        let steps = plan::open(
            self.inner.registry.page_token_key(),
            caller,
            Utc::now(),
            token,
        )?;
        let total = steps.len();
        let mut actions = Vec::with_capacity(total);
        let mut failed: Option<String> = None;
        for (tool, arguments) in steps {
            let action = if failed.is_some() {
                Action {
                    tool: tool.name().to_owned(),
                    arguments,
                    outcome: Outcome::Skipped,
                    reason: String::new(),
                    result: String::new(),
                }
            } else {
                let performed = async { (self.perform_one(caller, tool, &arguments).await, ()) };
                let (action, ()) = traced(tool.name().to_owned(), performed).await;
                if action.outcome != Outcome::Ok {
                    failed = Some(format!("{} failed ({})", tool.name(), action.reason));
                }
                action
            };
            on_action(&action);
            actions.push(action);
        }
        let done = actions.iter().filter(|a| a.outcome == Outcome::Ok).count();
        let text = match failed {
            None => format!("Performed the confirmed plan: {done} of {total} changes made."),
            Some(failure) => format!(
                "Performed {done} of {total} planned changes: {failure}; the changes after it were not made."
            ),
        };
        Ok(Answer {
            text,
            actions,
            plan: None,
        })
    }
}
