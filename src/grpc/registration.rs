//! ModelRegistrationService: register, get, update and delete registrations.

use tonic::{Request, Response, Status};

use super::caller::take_caller;
use super::{convert, update_mask};
use crate::domain::{
    Alias, Checker, Error, Etag, ModelName, ModelRef, ModelSpec, ModelVersion, RegistrationId,
    RequestId,
};
use crate::pb::{self, model_registration_service_server::ModelRegistrationService};
use crate::registry::Registry;

const RESOURCE: &str = "model_related_information";

pub(crate) struct RegistrationService {
    registry: Registry,
}

impl RegistrationService {
    pub(crate) fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

#[tonic::async_trait]
impl ModelRegistrationService for RegistrationService {
    async fn register_model(
        &self,
        mut request: Request<pb::RegisterModelRequest>,
    ) -> Result<Response<pb::ModelRelatedInformation>, Status> {
        let caller = take_caller(&mut request)?;
        let (spec, request_id) = parse_registration(request.into_inner())?;
        let registration = self.registry.register(&caller, spec, request_id).await?;
        Ok(Response::new(convert::registration(&registration)))
    }

    async fn get_model_registration(
        &self,
        mut request: Request<pb::GetModelRegistrationRequest>,
    ) -> Result<Response<pb::ModelRelatedInformation>, Status> {
        let caller = take_caller(&mut request)?;
        let pb::GetModelRegistrationRequest {
            model_registration_id,
            model,
        } = request.into_inner();
        let selector = model.map(convert::selector_draft);
        let model = ModelRef::parse(&model_registration_id, None, selector.as_ref(), "")?;
        let registration = self.registry.get_by(&caller, model).await?;
        Ok(Response::new(convert::registration(&registration)))
    }

    async fn set_model_alias(
        &self,
        mut request: Request<pb::SetModelAliasRequest>,
    ) -> Result<Response<pb::ModelRelatedInformation>, Status> {
        let caller = take_caller(&mut request)?;
        let pb::SetModelAliasRequest {
            model_name,
            alias,
            model_version,
        } = request.into_inner();
        let mut check = Checker::request();
        let name = ModelName::parse(&mut check, "model_name", &model_name);
        let alias = Alias::parse(&mut check, "alias", &alias);
        let version = ModelVersion::parse(&mut check, "model_version", &model_version);
        let (name, alias, version) = check.finish(
            name.zip(alias)
                .zip(version)
                .map(|((name, alias), version)| (name, alias, version)),
        )?;
        let registration = self
            .registry
            .set_alias(&caller, name, alias, version)
            .await?;
        Ok(Response::new(convert::registration(&registration)))
    }

    async fn delete_model_alias(
        &self,
        mut request: Request<pb::DeleteModelAliasRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = take_caller(&mut request)?;
        let pb::DeleteModelAliasRequest { model_name, alias } = request.into_inner();
        let mut check = Checker::request();
        let name = ModelName::parse(&mut check, "model_name", &model_name);
        let alias = Alias::parse(&mut check, "alias", &alias);
        let (name, alias) = check.finish(name.zip(alias))?;
        self.registry.delete_alias(&caller, name, alias).await?;
        Ok(Response::new(()))
    }

    async fn update_model_registration(
        &self,
        mut request: Request<pb::UpdateModelRegistrationRequest>,
    ) -> Result<Response<pb::ModelRelatedInformation>, Status> {
        let caller = take_caller(&mut request)?;
        let pb::UpdateModelRegistrationRequest {
            model_related_information,
            update_mask,
        } = request.into_inner();
        let mut resource = required(model_related_information)?;
        let (id, etag) = parse_id_and_etag(
            &format!("{RESOURCE}."),
            &resource.model_registration_id,
            std::mem::take(&mut resource.etag),
        )?;
        let patch = update_mask::patch(resource, update_mask);
        let registration = self.registry.update(&caller, id, etag, patch).await?;
        Ok(Response::new(convert::registration(&registration)))
    }

    async fn delete_model_registration(
        &self,
        mut request: Request<pb::DeleteModelRegistrationRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = take_caller(&mut request)?;
        let pb::DeleteModelRegistrationRequest {
            model_registration_id,
            etag,
        } = request.into_inner();
        let (id, etag) = parse_id_and_etag("", &model_registration_id, etag)?;
        self.registry.delete(&caller, id, etag).await?;
        Ok(Response::new(()))
    }
}

/// A registration request, checked as RegisterModel checks it.
fn parse_registration(
    request: pb::RegisterModelRequest,
) -> Result<(ModelSpec, Option<RequestId>), Error> {
    let pb::RegisterModelRequest {
        model_related_information,
        request_id,
    } = request;
    let spec = ModelSpec::parse(convert::model_draft(required(model_related_information)?))?;
    let mut check = Checker::request();
    let request_id = RequestId::parse(&mut check, "request_id", request_id);
    Ok((spec, check.finish(request_id)?))
}

/// Whether RegisterModel would accept `request`'s contents (not whether the name is free):
/// for front-ends that check a registration before making it (the agent's plans).
pub(crate) fn check_registration(request: &pb::RegisterModelRequest) -> Result<(), Error> {
    parse_registration(request.clone()).map(|_| ())
}

fn required(
    resource: Option<pb::ModelRelatedInformation>,
) -> Result<pb::ModelRelatedInformation, Error> {
    resource.ok_or_else(|| Error::invalid_request(RESOURCE, "is required"))
}

/// The registration id and the optional etag of a request, both under `prefix`.
fn parse_id_and_etag(
    prefix: &str,
    id: &str,
    etag: String,
) -> Result<(RegistrationId, Option<Etag>), Error> {
    let mut check = Checker::request();
    let id = RegistrationId::parse(&mut check, &format!("{prefix}model_registration_id"), id);
    let etag = Etag::parse(&mut check, &format!("{prefix}etag"), etag);
    check.finish(id.zip(etag))
}
