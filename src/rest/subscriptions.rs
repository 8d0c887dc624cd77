//! Model change subscriptions over HTTP: `…/v1/subscriptions`, speaking the proto3 JSON of the
//! gRPC API's messages (what grpcurl users type): create (201 with Location; the signing
//! secret is in this answer only), read, list and delete.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Gateway;
use super::problem::Problem;
use super::request::{BodyType, accepted_body};
use crate::domain::Caller;
use crate::grpc::subscription_calls;
use crate::pb::{self, json::to_json};

pub(crate) const COLLECTION: &str = "/ai-ml-model-registration/v1/subscriptions";

const CREATE_REQUEST: &str = "modelregistry.v1.CreateSubscriptionRequest";
const CREATED: &str = "modelregistry.v1.CreateSubscriptionResponse";
const SUBSCRIPTION: &str = "modelregistry.v1.Subscription";
const LISTED: &str = "modelregistry.v1.ListSubscriptionsResponse";

/// A JSON object, in the OpenAPI document.
#[allow(dead_code)] // Named only by the OpenAPI attributes.
type Object = serde_json::Map<String, serde_json::Value>;

/// Subscribes to model changes: the body is a `CreateSubscriptionRequest` in proto3 JSON,
/// e.g. `{"subscription": {"notificationDestination": "https://…", "filter": {"modelName":
/// "qoe-*"}}}`.
#[utoipa::path(
    post,
    path = "/ai-ml-model-registration/v1/subscriptions",
    operation_id = "create_subscription",
    tag = "subscriptions",
    request_body(content = Object, description = "A CreateSubscriptionRequest in proto3 JSON"),
    responses(
        (status = 201, description = "A CreateSubscriptionResponse in proto3 JSON: the subscription and its signing secret (shown only here)", body = Object, headers(("Location" = String))),
        (status = 400),
        (status = 413),
        (status = 415),
    ),
)]
pub(crate) async fn create(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let bytes = accepted_body(&headers, body, BodyType::Json, gateway.max_body).await?;
    let text = String::from_utf8_lossy(&bytes);
    let request: pb::CreateSubscriptionRequest = pb::json::from_json(&text, CREATE_REQUEST)
        .map_err(|why| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                format!("the body is not a CreateSubscriptionRequest: {why}"),
            )
        })?;
    let created = subscription_calls::create(&gateway.registry, &caller, request).await?;
    let id = created
        .subscription
        .as_ref()
        .map(|subscription| subscription.subscription_id.clone())
        .unwrap_or_default();
    let mut answer = json(StatusCode::CREATED, to_json(&created, CREATED));
    answer.headers_mut().insert(
        header::LOCATION,
        HeaderValue::try_from(format!("{COLLECTION}/{id}")).expect("ids are ASCII"),
    );
    Ok(answer)
}

/// The caller's subscriptions (an admin's: everyone's), oldest first.
#[utoipa::path(
    get,
    path = "/ai-ml-model-registration/v1/subscriptions",
    operation_id = "list_subscriptions",
    tag = "subscriptions",
    responses((status = 200, description = "A ListSubscriptionsResponse in proto3 JSON", body = Object)),
)]
pub(crate) async fn list(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, Problem> {
    let listed = subscription_calls::list(&gateway.registry, &caller).await?;
    Ok(json(StatusCode::OK, to_json(&listed, LISTED)))
}

/// A subscription, with how its deliveries stand.
#[utoipa::path(
    get,
    path = "/ai-ml-model-registration/v1/subscriptions/{subscriptionId}",
    operation_id = "get_subscription",
    tag = "subscriptions",
    params(("subscriptionId" = String, Path)),
    responses(
        (status = 200, description = "A Subscription in proto3 JSON", body = Object),
        (status = 404),
    ),
)]
pub(crate) async fn get(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let found = subscription_calls::get(&gateway.registry, &caller, &id).await?;
    Ok(json(StatusCode::OK, to_json(&found, SUBSCRIPTION)))
}

#[utoipa::path(
    delete,
    path = "/ai-ml-model-registration/v1/subscriptions/{subscriptionId}",
    operation_id = "delete_subscription",
    tag = "subscriptions",
    params(("subscriptionId" = String, Path)),
    responses((status = 204), (status = 404)),
)]
pub(crate) async fn delete(
    State(gateway): State<Gateway>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    subscription_calls::delete(&gateway.registry, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
