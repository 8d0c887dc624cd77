//! AgentService: the agent over gRPC. GenerateContent answers once; StreamGenerateContent
//! sends each action as it happens, then the answer.

use std::pin::Pin;

use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::{Request, Response, Status};

use super::{Action, Agent, Answer, Ask, Plan};
use crate::grpc::take_caller;
use crate::pb::{self, agent_service_server::AgentService};

pub(crate) struct AgentGrpc {
    agent: Agent,
}

impl AgentGrpc {
    pub(crate) fn new(agent: Agent) -> Self {
        Self { agent }
    }
}

type Steps = Pin<Box<dyn Stream<Item = Result<pb::AgentStep, Status>> + Send>>;

#[tonic::async_trait]
impl AgentService for AgentGrpc {
    async fn get_agent_info(
        &self,
        mut request: Request<pb::GetAgentInfoRequest>,
    ) -> Result<Response<pb::AgentInfo>, Status> {
        take_caller(&mut request)?;
        let info = self.agent.info()?;
        Ok(Response::new(pb::AgentInfo {
            model: info.model,
            host: info.host,
            mode: info.mode.as_str().to_owned(),
            tools: info.tools.into_iter().map(str::to_owned).collect(),
        }))
    }

    async fn generate_content(
        &self,
        mut request: Request<pb::GenerateContentRequest>,
    ) -> Result<Response<pb::GenerateContentResponse>, Status> {
        let caller = take_caller(&mut request)?;
        let answer = self
            .agent
            .generate(&caller, ask(request.into_inner()), &|_| {})
            .await?;
        Ok(Response::new(answer_message(answer)))
    }

    type StreamGenerateContentStream = Steps;

    async fn stream_generate_content(
        &self,
        mut request: Request<pb::GenerateContentRequest>,
    ) -> Result<Response<Steps>, Status> {
        let caller = take_caller(&mut request)?;
        let ask = ask(request.into_inner());
        // Unbounded, yet small: a request has at most --agent-max-tool-calls actions.
        let (sender, receiver) = mpsc::unbounded_channel();
        let agent = self.agent.clone();
        tokio::spawn(async move {
            let steps = sender.clone();
            let on_action = move |action: &Action| {
                let step = pb::AgentStep {
                    step: Some(pb::agent_step::Step::Action(action_message(action))),
                };
                let _ = steps.send(Ok(step));
            };
            // A client that leaves ends the conversation: no more LLM calls are made for it.
            // What it did is harmless (reads, and a plan nobody will confirm); the registry's
            // writes run to their end on their own.
            let answer = tokio::select! {
                answer = agent.generate(&caller, ask, &on_action) => answer,
                () = sender.closed() => return,
            };
            let last = match answer {
                Ok(answer) => Ok(pb::AgentStep {
                    step: Some(pb::agent_step::Step::Answer(answer_message(answer))),
                }),
                Err(err) => Err(Status::from(err)),
            };
            let _ = sender.send(last);
        });
        Ok(Response::new(Box::pin(UnboundedReceiverStream::new(
            receiver,
        ))))
    }
}

fn ask(request: pb::GenerateContentRequest) -> Ask {
    Ask {
        text: request.text,
        confirmation: request.confirmation,
    }
}

fn answer_message(answer: Answer) -> pb::GenerateContentResponse {
    pb::GenerateContentResponse {
        text: answer.text,
        actions: answer.actions.iter().map(action_message).collect(),
        plan: answer.plan.map(plan_message),
    }
}

fn plan_message(plan: Plan) -> pb::AgentPlan {
    pb::AgentPlan {
        confirmation_token: plan.confirmation_token,
        expire_time: Some(prost_types::Timestamp {
            seconds: plan.expire_time.timestamp(),
            nanos: plan.expire_time.timestamp_subsec_nanos() as i32,
        }),
        actions: plan.actions.iter().map(action_message).collect(),
    }
}

fn action_message(action: &Action) -> pb::AgentAction {
    pb::AgentAction {
        tool: action.tool.clone(),
        arguments: action.arguments.clone(),
        outcome: action.outcome.as_str().to_owned(),
        reason: action.reason.clone(),
        result: action.result.clone(),
    }
}
