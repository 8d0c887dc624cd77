//! ModelRegistrationService: register, get, update and delete registrations.

use tonic::{Request, Response, Status};

use super::{parse_id, update_mask};
use crate::artifact_store::ArtifactStore;
use crate::convert::registration_to_proto;
use crate::domain::{ModelSpec, limits};
use crate::error::Error;
use crate::pb::{self, model_registration_service_server::ModelRegistrationService};
use crate::store::Store;

const RESOURCE: &str = "model_related_information";

pub struct RegistrationService {
    store: Store,
    objects: ArtifactStore,
}

impl RegistrationService {
    pub fn new(store: Store, objects: ArtifactStore) -> Self {
        Self { store, objects }
    }
}

#[tonic::async_trait]
impl ModelRegistrationService for RegistrationService {
    async fn register_model(
        &self,
        request: Request<pb::RegisterModelRequest>,
    ) -> Result<Response<pb::ModelRelatedInformation>, Status> {
        let request = request.into_inner();
        let info = required_resource(request.model_related_information)?;
        let spec = ModelSpec::parse(&info, RESOURCE)?;
        let request_id = parse_request_id(request.request_id)?;
        let registration = self.store.register(spec, request_id).await?;
        Ok(Response::new(registration_to_proto(&registration)))
    }

    async fn get_model_registration(
        &self,
        request: Request<pb::GetModelRegistrationRequest>,
    ) -> Result<Response<pb::ModelRelatedInformation>, Status> {
        let id = parse_id(
            "model_registration_id",
            &request.get_ref().model_registration_id,
        )?;
        let registration = self.store.get(id).await?;
        Ok(Response::new(registration_to_proto(&registration)))
    }

    async fn update_model_registration(
        &self,
        request: Request<pb::UpdateModelRegistrationRequest>,
    ) -> Result<Response<pb::ModelRelatedInformation>, Status> {
        let request = request.into_inner();
        let patch = required_resource(request.model_related_information)?;
        let id = parse_id(
            &format!("{RESOURCE}.model_registration_id"),
            &patch.model_registration_id,
        )?;
        let etag = (!patch.etag.is_empty()).then_some(patch.etag.as_str());
        let registration = self
            .store
            .update(id, etag, |current| {
                let mut updated = registration_to_proto(current);
                update_mask::apply(&mut updated, &patch, request.update_mask.as_ref())?;
                ModelSpec::parse(&updated, RESOURCE)
            })
            .await?;
        Ok(Response::new(registration_to_proto(&registration)))
    }

    async fn delete_model_registration(
        &self,
        request: Request<pb::DeleteModelRegistrationRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let id = parse_id("model_registration_id", &request.model_registration_id)?;
        let etag = (!request.etag.is_empty()).then_some(request.etag.as_str());
        let artifact_keys = self.store.delete(id, etag).await?;
        // The rows are gone either way; an object that cannot be removed is logged.
        self.objects.delete(artifact_keys).await;
        Ok(Response::new(()))
    }
}

fn required_resource(
    info: Option<pb::ModelRelatedInformation>,
) -> Result<pb::ModelRelatedInformation, Error> {
    info.ok_or_else(|| Error::invalid_field(RESOURCE, "is required"))
}

fn parse_request_id(request_id: String) -> Result<Option<String>, Error> {
    let chars = request_id.chars().count();
    if chars > limits::REQUEST_ID_CHARS {
        return Err(Error::invalid_field(
            "request_id",
            format!(
                "must be at most {} characters (is {chars})",
                limits::REQUEST_ID_CHARS
            ),
        ));
    }
    Ok((!request_id.is_empty()).then_some(request_id))
}
