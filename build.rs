//! Compiles `proto/` with protox (pure Rust, so no system `protoc` is needed) and generates the
//! tonic server and client code. The encoded descriptor set is written to `OUT_DIR` as well,
//! because `compile_fds` does not write it and gRPC reflection needs it.

use std::path::PathBuf;

use prost::Message;

const PROTO_ROOT: &str = "proto";
const PROTOS: &[&str] = &[
    "proto/modelregistry/v1/resources.proto",
    "proto/modelregistry/v1/registration.proto",
    "proto/modelregistry/v1/discovery.proto",
    "proto/modelregistry/v1/artifacts.proto",
    "proto/modelregistry/v1/events.proto",
    "proto/modelregistry/v1/agent.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // tonic-prost-build does not emit these itself.
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }

    let descriptors = protox::compile(PROTOS, [PROTO_ROOT])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("modelregistry_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Artifact chunks pass through as `bytes::Bytes`, without copies.
        .bytes(".modelregistry.v1")
        // Labels come out in key order, in every answer and every JSON rendering.
        .btree_map(".modelregistry.v1.ModelRelatedInformation.labels")
        .compile_fds(descriptors)?;
    Ok(())
}
