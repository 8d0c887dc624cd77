//! ModelDiscoveryService: find registered models by name and version, page by page.

use tonic::{Request, Response, Status};

use super::page_token;
use crate::convert::registration_to_proto;
use crate::error::{Error, Result};
use crate::pb::{self, model_discovery_service_server::ModelDiscoveryService};
use crate::store::{ListQuery, Store};

const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 1000;

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
        let limit = page_size(request.page_size)?;
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

/// AIP-158: 0 means the default, too large is coerced, negative is an error.
fn page_size(requested: i32) -> Result<u64> {
    match u64::try_from(requested) {
        Err(_) => Err(Error::invalid_field(
            "page_size",
            format!("must not be negative (is {requested})"),
        )),
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(size) => Ok(size.min(MAX_PAGE_SIZE)),
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_follow_aip_158() {
        assert_eq!(page_size(0).unwrap(), 50);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(5000).unwrap(), 1000);
        assert!(matches!(page_size(-1), Err(Error::InvalidArgument(_))));
    }
}
