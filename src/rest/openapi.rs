//! The OpenAPI 3.1 document of the REST API, generated from the handlers and the types they
//! read and write. It is served at `/openapi.json` and kept in `docs/openapi.json`, which a
//! test compares with what the code generates.

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use utoipa::openapi::{ContentBuilder, Ref, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::problem::{InvalidParam, ProblemDetails};
use super::resource::{
    Metadata, ModelId, ModelInformation, ModelRelatedInformation, TargetEnvironment,
};
use super::{discovery, download, events, registration, upload};

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
        events::watch,
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
        events::WatchEvent,
        events::WatchMessage,
    )),
    modifiers(&EveryOperation),
    tags(
        (name = "registration", description = "R1AP §10.1 AI/ML model registration"),
        (name = "discovery", description = "R1AP §10.2 AI/ML model discovery"),
        (name = "events", description = "Changes of models as Server-Sent Events"),
        (name = "artifacts", description = "The routes of the Go model management service for artifacts"),
    ),
)]
struct ApiDoc;

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

/// The document, as served and as committed.
pub(crate) fn document() -> String {
    let mut document = ApiDoc::openapi();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut text = document.to_pretty_json().expect("the document serializes");
    text.push('\n');
    text
}

pub(crate) async fn serve() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document(),
    )
}

#[cfg(test)]
mod tests {
    /// The committed document is what the code generates. `MODELREG_WRITE_OPENAPI=1 cargo
    /// test openapi` rewrites it after a change of the API.
    #[test]
    fn the_committed_openapi_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
        let generated = super::document();
        if std::env::var_os("MODELREG_WRITE_OPENAPI").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json differs from the API; run MODELREG_WRITE_OPENAPI=1 cargo test openapi"
        );
    }
}
