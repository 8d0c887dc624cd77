//! The OpenAPI 3.1 document of the REST API, generated from the handlers and the types they
//! read and write. It is served at `/openapi.json` and kept in `docs/openapi.json`, which a
//! test compares with what the code generates.

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use utoipa::OpenApi;

use super::problem::{InvalidParam, ProblemDetails};
use super::resource::{
    Metadata, ModelId, ModelInformation, ModelRelatedInformation, TargetEnvironment,
};
use super::{compat, discovery, events, registration};

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
        compat::upload,
        compat::download,
        compat::model_info,
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
        compat::Uploaded,
        compat::ArtifactInfo,
    )),
    tags(
        (name = "registration", description = "R1AP §10.1 AI/ML model registration"),
        (name = "discovery", description = "R1AP §10.2 AI/ML model discovery"),
        (name = "events", description = "Changes of models as Server-Sent Events"),
        (name = "artifacts", description = "The routes of the Go model management service for artifacts"),
    ),
)]
struct ApiDoc;

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
