//! The REST front-end over real HTTP (reqwest), on the gRPC port of a real server: R1AP's
//! routes, the Go service's routes and the ports of its tests, the event stream, the OpenAPI
//! document and the curl examples of the docs.

mod client;
mod compat;
mod discovery;
mod docs;
pub(crate) mod events;
mod registration;
pub(crate) mod transport;

pub(crate) use client::{
    Answer, Rest, assert_problem, download_path, only_artifact_version, registration_body, zip_form,
};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    [
        registration::trials(),
        discovery::trials(),
        compat::trials(),
        events::trials(),
        docs::trials(),
        transport::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
