//! Code generated from `proto/` by `build.rs`.

#![allow(clippy::doc_lazy_continuation, clippy::doc_overindented_list_items)]

pub mod modelregistry {
    pub mod v1 {
        tonic::include_proto!("modelregistry.v1");
    }
}

pub use modelregistry::v1::*;

/// The encoded descriptors of `proto/` (with their imports), served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("modelregistry_descriptor");
