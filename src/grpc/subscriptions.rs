//! ModelSubscriptionService: model change subscriptions, whose notifications the callbacks
//! front-end sends.

use tonic::{Request, Response, Status};

use super::caller::take_caller;
use super::convert::timestamp;
use super::events::{event_type, event_types};
use crate::domain::{Caller, Error, SubscriptionDraft, SubscriptionId};
use crate::pb::{self, model_subscription_service_server::ModelSubscriptionService};
use crate::registry::{Registry, SubscriptionStatus};

pub(crate) struct SubscriptionService {
    registry: Registry,
}

impl SubscriptionService {
    pub(crate) fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

#[tonic::async_trait]
impl ModelSubscriptionService for SubscriptionService {
    async fn create_subscription(
        &self,
        mut request: Request<pb::CreateSubscriptionRequest>,
    ) -> Result<Response<pb::CreateSubscriptionResponse>, Status> {
        let caller = take_caller(&mut request)?;
        let created = create(&self.registry, &caller, request.into_inner()).await?;
        Ok(Response::new(created))
    }

    async fn get_subscription(
        &self,
        mut request: Request<pb::GetSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let caller = take_caller(&mut request)?;
        let asked = request.into_inner().subscription_id;
        Ok(Response::new(get(&self.registry, &caller, &asked).await?))
    }

    async fn list_subscriptions(
        &self,
        mut request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let caller = take_caller(&mut request)?;
        Ok(Response::new(list(&self.registry, &caller).await?))
    }

    async fn delete_subscription(
        &self,
        mut request: Request<pb::DeleteSubscriptionRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = take_caller(&mut request)?;
        let asked = request.into_inner().subscription_id;
        delete(&self.registry, &caller, &asked).await?;
        Ok(Response::new(()))
    }
}

// The operations in the API's messages, for gRPC and for REST (which speaks their JSON).

pub(crate) async fn create(
    registry: &Registry,
    caller: &Caller,
    request: pb::CreateSubscriptionRequest,
) -> Result<pb::CreateSubscriptionResponse, Error> {
    let pb::CreateSubscriptionRequest {
        subscription,
        start_sequence,
        secret,
    } = request;
    let asked = subscription.unwrap_or_default();
    let filter = asked.filter.unwrap_or_default();
    let new = SubscriptionDraft {
        destination: &asked.notification_destination,
        model_name: &filter.model_name,
        model_version: &filter.model_version,
        types: event_types("subscription.filter.types", &filter.types)?,
        description: &asked.description,
        max_batch: asked.max_batch,
        start_sequence,
        secret: &secret,
    }
    .parse()?;
    let (created, secret) = registry.create_subscription(caller, new).await?;
    Ok(pb::CreateSubscriptionResponse {
        subscription: Some(subscription_message(&created)),
        secret: secret.reveal(),
    })
}

pub(crate) async fn get(
    registry: &Registry,
    caller: &Caller,
    asked: &str,
) -> Result<pb::Subscription, Error> {
    let found = registry
        .get_subscription(caller, SubscriptionId::parse(asked), asked)
        .await?;
    Ok(subscription_message(&found))
}

pub(crate) async fn list(
    registry: &Registry,
    caller: &Caller,
) -> Result<pb::ListSubscriptionsResponse, Error> {
    let listed = registry.list_subscriptions(caller).await?;
    Ok(pb::ListSubscriptionsResponse {
        subscriptions: listed.iter().map(subscription_message).collect(),
    })
}

pub(crate) async fn delete(registry: &Registry, caller: &Caller, asked: &str) -> Result<(), Error> {
    registry
        .delete_subscription(caller, SubscriptionId::parse(asked), asked)
        .await
}

fn subscription_message(status: &SubscriptionStatus) -> pb::Subscription {
    let subscription = &status.subscription;
    let delivery = &subscription.delivery;
    let filter = &subscription.filter;
    pb::Subscription {
        subscription_id: subscription.id.to_string(),
        notification_destination: subscription.destination.to_string(),
        filter: Some(pb::SubscriptionFilter {
            model_name: filter
                .model_name
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            model_version: filter
                .model_version
                .as_ref()
                .map(|version| version.as_str().to_owned())
                .unwrap_or_default(),
            types: filter
                .types
                .iter()
                .map(|&kind| event_type(kind) as i32)
                .collect(),
        }),
        description: subscription.description.clone(),
        owner: subscription.owner.clone(),
        max_batch: subscription.max_batch,
        create_time: Some(timestamp(subscription.create_time)),
        acknowledged_sequence: delivery.acknowledged,
        lag_events: status.lag_events,
        state: if status.failing {
            pb::DeliveryState::Failing
        } else {
            pb::DeliveryState::Healthy
        } as i32,
        last_error: delivery.last_error.clone().unwrap_or_default(),
        last_error_time: delivery.last_error_time.map(timestamp),
        lost_through_sequence: delivery.lost_through.unwrap_or_default(),
    }
}
