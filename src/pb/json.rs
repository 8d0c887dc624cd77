//! Proto3 JSON of the registry's messages, for the CLI and the REST front-end's event stream:
//! messages are written and read with the canonical JSON mapping (camelCase names out;
//! camelCase or snake_case names in, as grpcurl accepts), driven by the descriptors compiled
//! into the binary.

use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

/// The registry's messages and what they import (google.protobuf.*).
fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(crate::pb::FILE_DESCRIPTOR_SET)
            .expect("the compiled-in descriptor set decodes")
    })
}

fn descriptor(full_name: &str) -> MessageDescriptor {
    pool()
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("{full_name} is not in the descriptor set"))
}

/// A message as pretty-printed proto3 JSON.
pub fn to_json<M: Message>(message: &M, full_name: &str) -> String {
    let mut out = serde_json::Serializer::pretty(Vec::new());
    serialize(message, full_name, &mut out);
    String::from_utf8(out.into_inner()).expect("JSON is UTF-8")
}

/// A message as proto3 JSON on one line, for JSON Lines streams (`models watch -o json`).
pub fn to_json_line<M: Message>(message: &M, full_name: &str) -> String {
    let mut out = serde_json::Serializer::new(Vec::new());
    serialize(message, full_name, &mut out);
    String::from_utf8(out.into_inner()).expect("JSON is UTF-8")
}

fn serialize<M: Message, S>(message: &M, full_name: &str, out: S)
where
    S: serde::Serializer,
    S::Error: std::fmt::Debug,
{
    let dynamic = DynamicMessage::decode(descriptor(full_name), message.encode_to_vec().as_slice())
        .expect("a message decodes with its own descriptor");
    dynamic
        .serialize_with_options(out, &SerializeOptions::new())
        .expect("serializing to memory cannot fail");
}

/// Parses proto3 JSON into a message; the error names what is wrong and where.
pub fn from_json<M: Message + Default>(text: &str, full_name: &str) -> Result<M, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let dynamic = DynamicMessage::deserialize(descriptor(full_name), &mut deserializer)
        .map_err(|err| err.to_string())?;
    deserializer.end().map_err(|err| err.to_string())?;
    dynamic.transcode_to::<M>().map_err(|err| err.to_string())
}

pub const MODEL: &str = "modelregistry.v1.ModelRelatedInformation";
pub const LIST_MODELS: &str = "modelregistry.v1.ListModelsResponse";
pub const ARTIFACT: &str = "modelregistry.v1.ArtifactInfo";
pub const LIST_ARTIFACTS: &str = "modelregistry.v1.ListArtifactsResponse";
pub const EVENT: &str = "modelregistry.v1.ModelEvent";
pub const LIST_EVENTS: &str = "modelregistry.v1.ListEventsResponse";
