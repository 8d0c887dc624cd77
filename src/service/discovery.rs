//! ModelDiscoveryService: find registered models by name and version, page by page.

use tonic::{Request, Response, Status};

use super::page_token;
use crate::convert::registration_to_proto;
use crate::pb::{self, model_discovery_service_server::ModelDiscoveryService};
use crate::store::{ListQuery, Store};

pub struct DiscoveryService {
    store: Store,
}

impl DiscoveryService {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl ModelDiscoveryService for DiscoveryService {
    async fn list_models(
        &self,
        request: Request<pb::ListModelsRequest>,
    ) -> Result<Response<pb::ListModelsResponse>, Status> {
        let request = request.into_inner();
        let limit = page_token::page_size(request.page_size)?;
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(page_token::decode(
                token,
                &request.model_name,
                &request.model_version,
            )?),
        };
        let page = self
            .store
            .list(ListQuery {
                model_name: non_empty(&request.model_name),
                model_version: non_empty(&request.model_version),
                after,
                limit,
            })
            .await?;
        Ok(Response::new(pb::ListModelsResponse {
            models: page
                .registrations
                .iter()
                .map(registration_to_proto)
                .collect(),
            next_page_token: page
                .next
                .map(|key| page_token::encode(&request.model_name, &request.model_version, &key))
                .unwrap_or_default(),
        }))
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}
