//! The service a server answers with, built whole by `Application::build`: the gRPC services
//! (with health and reflection), REST on the same port, and the layer stack every call passes
//! through. The stack is boxed once, so that the built server has a type `Application` can
//! keep until it runs.

use std::time::Duration;

use tonic::body::Body;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::Router;
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower::util::BoxCloneServiceLayer;
use tower_http::trace::TraceLayer;

use super::ServerError;
use super::drain::CallsInProgress;
use super::health::Readiness;
use super::spans::{record_end_of_stream, record_response, rpc_span};
use crate::agent::{Agent, AgentGrpc};
use crate::auth::Authenticator;
use crate::config::{LimitsConfig, RestProfile};
use crate::grpc::{
    ArtifactService, AuthenticateLayer, CallLimits, CallLimitsLayer, DiscoveryService,
    EventService, InProgress, ModelDiscoveryServiceServer, RegistrationService, StreamLimits,
    SubscriptionService,
};
use crate::metrics::RpcMetricsLayer;
use crate::pb::{
    self, agent_service_server::AgentServiceServer,
    model_artifact_service_server::ModelArtifactServiceServer,
    model_event_service_server::ModelEventServiceServer,
    model_registration_service_server::ModelRegistrationServiceServer,
    model_subscription_service_server::ModelSubscriptionServiceServer,
};
use crate::registry::Registry;
use crate::rest::{self, RestLayer};

/// The agent's REST routes get this beyond `--agent-max-duration`, so that the agent's own
/// bound (which names its flag) is what a client meets.
const AGENT_DEADLINE_SLACK: Duration = Duration::from_secs(5);

type Layers =
    BoxCloneServiceLayer<Routes, http::Request<Body>, http::Response<Body>, tower::BoxError>;

/// Every service on the port, under the layer stack, ready to serve.
pub(super) type Service = Router<Stack<Layers, Identity>>;

/// What the service is made of.
pub(super) struct Parts<'a> {
    pub(super) registry: &'a Registry,
    pub(super) agent: &'a Agent,
    pub(super) authenticator: &'a Authenticator,
    pub(super) limits: &'a LimitsConfig,
    pub(super) rest_profile: RestProfile,
    pub(super) agent_max_duration: Duration,
    /// Counts the calls in progress, for the shutdown to wait on.
    pub(super) calls: &'a CallsInProgress,
}

/// The service, and its readiness (every service starts out serving: the database answered
/// the migrations a moment ago).
pub(super) async fn service(parts: Parts<'_>) -> Result<(Service, Readiness), ServerError> {
    let Parts {
        registry,
        agent,
        authenticator,
        limits,
        rest_profile,
        agent_max_duration,
        calls,
    } = parts;
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let readiness = Readiness::serving(health_reporter).await;
    let reflection_v1 = reflection().build_v1()?;
    // grpcurl 1.8 speaks only v1alpha.
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let max_message = limits.max_message_bytes.as_u64() as usize;
    let in_progress = InProgress::new(limits.max_concurrent_requests);
    let streams = StreamLimits {
        max_connection_age: limits.max_connection_age,
        max_deadline: limits.max_deadline,
    };
    let rest = rest::service(
        registry.clone(),
        agent.clone(),
        authenticator.clone(),
        rest::Settings {
            profile: rest_profile,
            max_body: max_message,
            max_header_bytes: limits.max_header_bytes.as_u64() as usize,
            deadlines: rest::Deadlines {
                default: limits.default_deadline,
                upload: limits.max_deadline,
                agent: agent_max_duration + AGENT_DEADLINE_SLACK,
            },
            streams,
        },
        in_progress.clone(),
    );
    let call_limits = (!limits.bench_without_call_limits).then_some(CallLimits {
        in_progress,
        default: limits.default_deadline,
        max: limits.max_deadline,
    });
    let layers = ServiceBuilder::new()
        // One body and one error type: the price of a nameable stack is a box per call.
        .map_response(|response: http::Response<_>| response.map(Body::new))
        .map_err(Into::<tower::BoxError>::into)
        // First: requests that are not gRPC never meet the gRPC layers.
        .layer(RestLayer::new(rest))
        .layer(RpcMetricsLayer)
        .layer(calls.clone())
        .layer(
            TraceLayer::new_for_grpc()
                .make_span_with(rpc_span)
                .on_request(())
                .on_response(record_response)
                .on_eos(record_end_of_stream)
                .on_failure(()),
        )
        .layer(CallLimitsLayer(call_limits))
        // Inside the call's span (to record the principal) and its deadline (a JWKS fetch
        // cannot outlast the call).
        .layer(AuthenticateLayer::new(authenticator.clone()));

    let service = Server::builder()
        // REST clients speak HTTP/1.1 as well.
        .accept_http1(true)
        .max_concurrent_streams(limits.max_concurrent_streams)
        .http2_max_header_list_size(limits.max_header_bytes.as_u64() as u32)
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout))
        // No `max_connection_age_grace`: with one, tonic 0.14 sends no GOAWAY at the age and
        // only cuts the connection once the grace period has passed too. Without it, the
        // connection is closed gracefully at the age, and the deadline layer ends every call
        // in progress within `--max-deadline`.
        .max_connection_age(limits.max_connection_age)
        .layer(BoxCloneServiceLayer::new(layers))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            ModelRegistrationServiceServer::new(RegistrationService::new(registry.clone()))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            ModelDiscoveryServiceServer::new(DiscoveryService::new(registry.clone()))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            ModelArtifactServiceServer::new(ArtifactService::new(registry.clone()))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            ModelEventServiceServer::new(EventService::new(registry.clone(), streams))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            ModelSubscriptionServiceServer::new(SubscriptionService::new(registry.clone()))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            AgentServiceServer::new(AgentGrpc::new(agent.clone()))
                .max_decoding_message_size(max_message),
        );
    Ok((service, readiness))
}

fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        // google.rpc.ErrorInfo and BadRequest, so that clients can decode error details.
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        // Advertise only the public services.
        .include_reflection_service(false)
}
