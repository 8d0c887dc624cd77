//! The OpenAPI 3.1 documents of the REST API, one a profile, generated from the handlers and
//! the types they read and write. The one of the server's profile is served at
//! `/openapi.json`; both are kept in `docs/` (`openapi.json`, `openapi-aimlfw.json`), which a
//! test compares with what the code generates.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Schema};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::problem::{InvalidParam, ProblemDetails};
use super::profile::{
    GoMetadata, GoModelId, GoModelInformation, GoModelRelatedInformation, Registered, Updated,
};
use super::resource::{
    Metadata, ModelId, ModelInformation, ModelRelatedInformation, TargetEnvironment,
};
use super::{
    Gateway, agent, declare, discovery, download, events, registration, subscriptions, upload,
};
use crate::config::RestProfile;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "modelreg",
        description = "O-RAN R1AP AI/ML model registration (§10.1) and discovery (§10.2), with the routes of the Go model management service. Errors are RFC 7807 problem documents.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        registration::register,
        registration::get,
        registration::replace,
        registration::merge,
        registration::delete,
        discovery::list,
        upload::upload,
        download::download,
        discovery::model_info,
        declare::update_artifact,
        events::watch,
        subscriptions::create,
        subscriptions::list,
        subscriptions::get,
        subscriptions::delete,
        agent::info,
        agent::generate,
    ),
    components(schemas(
        ModelRelatedInformation,
        ModelId,
        ModelInformation,
        Metadata,
        TargetEnvironment,
        ProblemDetails,
        InvalidParam,
        upload::Uploaded,
        upload::ArtifactInfo,
        upload::UploadForm,
        Registered,
        Updated,
        GoModelRelatedInformation,
        GoModelId,
        GoModelInformation,
        GoMetadata,
        events::WatchEvent,
        events::WatchMessage,
        agent::AgentInfo,
        agent::Llm,
        agent::GenerateRequest,
        agent::Generated,
        agent::Echo,
        agent::Outcome,
        agent::AgentAction,
        agent::AgentPlan,
    )),
    modifiers(&EveryOperation),
    tags(
        (name = "registration", description = "R1AP §10.1 AI/ML model registration"),
        (name = "discovery", description = "R1AP §10.2 AI/ML model discovery"),
        (name = "events", description = "Changes of models as Server-Sent Events"),
        (name = "subscriptions", description = "Model change subscriptions (R1GAP §5.6.5): changes POSTed to a notification destination as signed CloudEvents"),
        (name = "artifacts", description = "The routes of the Go model management service for artifacts"),
        (name = "agent", description = "Questions and changes in plain words, answered by an LLM through the registry's operations (the routes of AIMLFW's training manager)"),
    ),
)]
struct ApiDoc;

/// Under the standard's profile a resource with a member it does not have is refused.
struct UnknownMembersRefused;

impl Modify for UnknownMembersRefused {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let resources = [
            "ModelRelatedInformation",
            "ModelId",
            "ModelInformation",
            "Metadata",
            "TargetEnvironment",
        ];
        for name in resources {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}

/// The `aimlfw` profile's document is the standard's with the answers of that profile: the Go
/// service's resource wherever a resource is answered (`{"modelInfo": …}` from a registration,
/// `{"modelinfo": …}` from a replacement), 404 from a discovery by name and version that
/// matches nothing; and unknown members are accepted.
struct GoAnswers;

const RESOURCE: &str = "ModelRelatedInformation";

impl Modify for GoAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.info.title = "modelreg (aimlfw profile)".to_owned();
        openapi.info.description = Some(
            "The REST API as the Go model management service of O-RAN SC AIMLFW spoke it \
             (`--rest-profile aimlfw`), without its defects: unknown ids are 404, errors are \
             RFC 7807 problem documents, artifact versions only go forward."
                .to_owned(),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Patch, &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let answer = match (&method, path.as_str()) {
                    (HttpMethod::Post, registration::COLLECTION) => "Registered",
                    (HttpMethod::Put, _) => "Updated",
                    _ => "GoModelRelatedInformation",
                };
                answer_go_resources(operation, answer);
                let refusal = match (&method, path.as_str()) {
                    (HttpMethod::Get, discovery::PATH) => Some((
                        "404",
                        "Both model-name and model-version were given and match nothing",
                    )),
                    (HttpMethod::Put, _) => Some((
                        "409",
                        "modelId.artifactVersion is lower than the current one (the current one, \
                         or none, keeps it; a higher one is recorded as by updateArtifact)",
                    )),
                    _ => None,
                };
                if let Some((status, description)) = refusal {
                    operation
                        .responses
                        .responses
                        .insert(status.to_owned(), problem_answer(description).into());
                }
            }
        }
    }
}

/// Every answer of `operation` that is a resource, or an array of them, becomes `answer`.
fn answer_go_resources(operation: &mut Operation, answer: &str) {
    for response in operation.responses.responses.values_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        for content in response.content.values_mut() {
            match &mut content.schema {
                Some(RefOr::Ref(reference)) if names(&*reference, RESOURCE) => {
                    *reference = Ref::from_schema_name(answer);
                }
                Some(RefOr::T(Schema::Array(array))) => {
                    if let ArrayItems::RefOrSchema(items) = &mut array.items
                        && let RefOr::Ref(reference) = items.as_mut()
                        && names(reference, RESOURCE)
                    {
                        *reference = Ref::from_schema_name("GoModelRelatedInformation");
                    }
                }
                _ => {}
            }
        }
    }
}

fn names(reference: &Ref, schema: &str) -> bool {
    reference.ref_location == format!("#/components/schemas/{schema}")
}

/// What any operation may answer, beside what its own description lists.
const COMMON_ANSWERS: [(&str, &str); 7] = [
    ("401", "No credentials, or ones that are not valid"),
    ("403", "The caller's role or scope does not allow it"),
    ("431", "The request's headers exceed --max-header-bytes"),
    (
        "429",
        "The server is at its limit of requests in progress; retry after Retry-After",
    ),
    ("500", "A bug; the problem names no cause"),
    (
        "503",
        "The database, the artifact store or the key server is unreachable; retry",
    ),
    (
        "504",
        "No answer within --default-deadline (--max-deadline for uploads)",
    ),
];

struct EveryOperation;

impl Modify for EveryOperation {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path == "/openapi.json" {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                // A handler lists its own failures by status and description; each is a
                // problem document.
                for (status, answer) in operation.responses.responses.iter_mut() {
                    let failure = status.starts_with('4') || status.starts_with('5');
                    if let RefOr::T(answer) = answer
                        && failure
                        && answer.content.is_empty()
                    {
                        *answer = problem_answer(&answer.description);
                    }
                }
                for (status, description) in COMMON_ANSWERS {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem_answer(description).into());
                }
            }
        }
    }
}

fn problem_answer(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemDetails")))
                .build(),
        )
        .build()
}

/// The document of `profile`, as served and as committed.
pub(crate) fn document(profile: RestProfile) -> String {
    let mut document = ApiDoc::openapi();
    match profile {
        RestProfile::R1ap => UnknownMembersRefused.modify(&mut document),
        RestProfile::Aimlfw => GoAnswers.modify(&mut document),
    }
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut text = document.to_pretty_json().expect("the document serializes");
    text.push('\n');
    text
}

pub(crate) async fn serve(State(gateway): State<Gateway>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document(gateway.profile),
    )
}

#[cfg(test)]
mod tests {
    use crate::config::RestProfile;

    /// The committed documents are what the code generates. `MODELREG_WRITE_OPENAPI=1 cargo
    /// test openapi` rewrites them after a change of the API.
    #[test]
    fn the_committed_openapi_documents_are_current() {
        for (profile, file) in [
            (RestProfile::R1ap, "openapi.json"),
            (RestProfile::Aimlfw, "openapi-aimlfw.json"),
        ] {
            let path = format!("{}/docs/{file}", env!("CARGO_MANIFEST_DIR"));
            let generated = super::document(profile);
            if std::env::var_os("MODELREG_WRITE_OPENAPI").is_some() {
                std::fs::write(&path, &generated).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == generated,
                "docs/{file} differs from the API; run MODELREG_WRITE_OPENAPI=1 cargo test openapi"
            );
        }
    }
}
