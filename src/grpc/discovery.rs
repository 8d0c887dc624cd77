//! ModelDiscoveryService: find registered models by name and version or by a filter, in an
//! order, page by page. Its server is generated from the method by hand (see `build.rs`), so
//! that a page is written from encodings kept with the registrations (`EncodedPage`).

use tonic::{Request, Response, Status};

use super::caller::take_caller;
use super::encoded::EncodedPage;
use crate::domain::page_token;
use crate::domain::{ListQuery, ListQueryDraft};
use crate::pb;
use crate::registry::Registry;

#[allow(unreachable_pub)]
mod generated {
    include!(concat!(
        env!("OUT_DIR"),
        "/modelregistry.v1.ModelDiscoveryService.rs"
    ));
}

pub(crate) use generated::model_discovery_service_server::{
    ModelDiscoveryService, ModelDiscoveryServiceServer,
};

pub(crate) struct DiscoveryService {
    registry: Registry,
}

impl DiscoveryService {
    pub(crate) fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

#[tonic::async_trait]
impl ModelDiscoveryService for DiscoveryService {
    async fn list_models(
        &self,
        mut request: Request<pb::ListModelsRequest>,
    ) -> Result<Response<EncodedPage>, Status> {
        let caller = take_caller(&mut request)?;
        let pb::ListModelsRequest {
            model_name,
            model_version,
            page_size,
            page_token,
            filter,
            order_by,
        } = request.into_inner();
        let draft = ListQueryDraft {
            model_name: &model_name,
            model_version: &model_version,
            filter: &filter,
            order_by: &order_by,
            page_size,
        };
        let binding = page_token::list_binding(&draft);
        let after = match page_token.as_str() {
            "" => None,
            token => Some(page_token::decode(
                self.registry.page_token_key(),
                token,
                &binding,
            )?),
        };
        let query = ListQuery::parse(draft, after)?;
        let (page, sequence) = self.registry.list(&caller, query).await?;
        let next_page_token = page
            .next
            .map(|after| page_token::encode(self.registry.page_token_key(), &binding, after))
            .unwrap_or_default();
        Ok(Response::new(EncodedPage::new(
            &page.items,
            next_page_token,
            sequence,
        )))
    }
}
