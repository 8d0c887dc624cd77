//! The load generator's scenarios: what one request of each is.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::client::Connection;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::pb::{
    self, model_discovery_service_client::ModelDiscoveryServiceClient,
    model_registration_service_client::ModelRegistrationServiceClient,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// `grpc.health.v1.Health/Check`: the ceiling of our own stack.
    Health,
    /// GetModelRegistration of a random seeded model.
    Get,
    /// ListModels pages of this size, following page tokens round the whole set.
    List(u32),
    /// UpdateModelRegistration of a random seeded model's description.
    Update,
    /// RegisterModel of a new model with 3 target environments.
    Register,
    /// 80% get, 10% list (pages of 10), 10% register.
    Mixed,
}

impl Scenario {
    /// Every scenario, in the order a full run takes them.
    pub const ALL: [Scenario; 8] = [
        Scenario::Health,
        Scenario::Get,
        Scenario::List(10),
        Scenario::List(100),
        Scenario::List(1000),
        Scenario::Update,
        Scenario::Register,
        Scenario::Mixed,
    ];

    /// Whether the scenario picks seeded models by id. `list` walks whatever the server holds.
    pub fn needs_seed(self) -> bool {
        matches!(self, Scenario::Get | Scenario::Update | Scenario::Mixed)
    }

    /// Whether the scenario reads models at all, and so wants the seeded set to be there.
    pub fn reads(self) -> bool {
        self.needs_seed() || matches!(self, Scenario::List(_))
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scenario::Health => f.write_str("health"),
            Scenario::Get => f.write_str("get"),
            Scenario::List(size) => write!(f, "list-{size}"),
            Scenario::Update => f.write_str("update"),
            Scenario::Register => f.write_str("register"),
            Scenario::Mixed => f.write_str("mixed"),
        }
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "health" => Ok(Scenario::Health),
            "get" => Ok(Scenario::Get),
            "update" => Ok(Scenario::Update),
            "register" => Ok(Scenario::Register),
            "mixed" => Ok(Scenario::Mixed),
            _ => name
                .strip_prefix("list-")
                .and_then(|size| size.parse().ok())
                .filter(|size| (1..=1000).contains(size))
                .map(Scenario::List)
                .ok_or_else(|| {
                    format!(
                        "unknown scenario {name:?}: expected health, get, list-N (N from 1 to \
                         1000), update, register or mixed"
                    )
                }),
        }
    }
}

/// The generated clients, on one connection.
#[derive(Clone)]
pub(super) struct Clients {
    pub health: HealthClient<Connection>,
    pub registration: ModelRegistrationServiceClient<Connection>,
    pub discovery: ModelDiscoveryServiceClient<Connection>,
}

impl Clients {
    pub(super) fn new(channel: Connection) -> Self {
        Self {
            health: HealthClient::new(channel.clone()),
            registration: ModelRegistrationServiceClient::new(channel.clone()),
            discovery: ModelDiscoveryServiceClient::new(channel),
        }
    }
}

/// One worker's state: its clients, the seeded ids, its position in a list walk and a counter
/// that makes the names it registers unique.
pub(super) struct Worker {
    pub clients: Clients,
    pub seeded: Arc<Vec<String>>,
    /// Names this worker registers start with it.
    pub name_prefix: String,
    registered: u64,
    page_token: String,
    rng: fastrand::Rng,
}

impl Worker {
    pub(super) fn new(clients: Clients, seeded: Arc<Vec<String>>, name_prefix: String) -> Self {
        Self {
            clients,
            seeded,
            name_prefix,
            registered: 0,
            page_token: String::new(),
            rng: fastrand::Rng::new(),
        }
    }

    /// Issues one request of the scenario.
    pub(super) async fn request(&mut self, scenario: Scenario) -> Result<(), tonic::Status> {
        match scenario {
            Scenario::Health => self.health().await,
            Scenario::Get => self.get().await,
            Scenario::List(size) => self.list(size).await,
            Scenario::Update => self.update().await,
            Scenario::Register => self.register().await.map(drop),
            Scenario::Mixed => match self.rng.u8(0..10) {
                0 => self.list(10).await,
                1 => self.register().await.map(drop),
                _ => self.get().await,
            },
        }
    }

    async fn health(&mut self) -> Result<(), tonic::Status> {
        let request = HealthCheckRequest {
            service: String::new(),
        };
        self.clients.health.check(request).await.map(drop)
    }

    async fn get(&mut self) -> Result<(), tonic::Status> {
        let id = self.random_seeded().to_owned();
        let request = pb::GetModelRegistrationRequest {
            model_registration_id: id,
            model: None,
        };
        self.clients
            .registration
            .get_model_registration(request)
            .await
            .map(drop)
    }

    async fn list(&mut self, page_size: u32) -> Result<(), tonic::Status> {
        let request = pb::ListModelsRequest {
            page_size: page_size as i32,
            page_token: std::mem::take(&mut self.page_token),
            ..Default::default()
        };
        let page = self.clients.discovery.list_models(request).await?;
        // An empty token starts the walk again from the first page.
        self.page_token = page.into_inner().next_page_token;
        Ok(())
    }

    async fn update(&mut self) -> Result<(), tonic::Status> {
        let id = self.random_seeded().to_owned();
        let request = pb::UpdateModelRegistrationRequest {
            model_related_information: Some(pb::ModelRelatedInformation {
                model_registration_id: id,
                description: format!("updated {}", self.rng.u64(..)),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
        };
        self.clients
            .registration
            .update_model_registration(request)
            .await
            .map(drop)
    }

    /// Registers a model of a name no one used before; returns its id.
    pub(super) async fn register(&mut self) -> Result<String, tonic::Status> {
        self.registered += 1;
        let name = format!("{}-{}", self.name_prefix, self.registered);
        let request = pb::RegisterModelRequest {
            model_related_information: Some(model(&name)),
            request_id: String::new(),
        };
        let registered = self.clients.registration.register_model(request).await?;
        Ok(registered.into_inner().model_registration_id)
    }

    fn random_seeded(&mut self) -> &str {
        let index = self.rng.usize(..self.seeded.len());
        &self.seeded[index]
    }
}

/// A model as a training manager registers it: version 1, three target environments.
fn model(name: &str) -> pb::ModelRelatedInformation {
    let environment = |platform: &str| pb::TargetEnvironment {
        platform_name: platform.into(),
        environment_type: "onnx".into(),
        dependency_list: "numpy,onnxruntime".into(),
    };
    pb::ModelRelatedInformation {
        model_id: Some(pb::ModelId {
            model_name: name.into(),
            model_version: "1".into(),
            artifact_version: String::new(),
        }),
        description: format!("load generator model {name}"),
        model_information: Some(pb::ModelInformation {
            metadata: Some(pb::Metadata {
                author: "modelreg bench".into(),
                owner: "ran-team".into(),
            }),
            input_data_type: vec!["pdcpBytesDl,pdcpBytesUl".into()],
            output_data_type: vec!["qoe".into()],
            target_environment: vec![
                environment("x86_64"),
                environment("aarch64"),
                environment("gpu"),
            ],
        }),
        model_location: format!("s3://models/{name}/1.zip"),
        ..Default::default()
    }
}
