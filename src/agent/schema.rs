//! The JSON Schema of a tool's arguments, generated from the request message its operation
//! takes: the same descriptors that decode the arguments (proto3 JSON), with the proto's own
//! comments as descriptions. A field added to the contract is a field the LLM is told of.

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

/// Messages nest at most this deep in a schema (the registry's go four levels deep).
const MAX_DEPTH: usize = 6;

/// The object schema of `message`'s proto3 JSON.
pub(super) fn of_message(message: &MessageDescriptor) -> Value {
    object(message, 0)
}

/// The leading comment of a descriptor at `path` of `file`, as one paragraph.
pub(super) fn comment(file: &prost_reflect::FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info
        .location
        .iter()
        .find(|location| location.path == path)?;
    let text = location.leading_comments.as_deref()?;
    let words: Vec<&str> = text.split_whitespace().collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The registry's descriptors, as compiled into the binary.
pub(super) fn pool() -> &'static DescriptorPool {
    static POOL: std::sync::OnceLock<DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(crate::pb::FILE_DESCRIPTOR_SET)
            .expect("the compiled-in descriptor set decodes")
    })
}

fn object(message: &MessageDescriptor, depth: usize) -> Value {
    let mut properties = Map::new();
    for field in message.fields() {
        let mut schema = field_schema(&field, depth);
        if let Some(text) = comment(&field.parent_file(), field.path())
            && let Value::Object(members) = &mut schema
        {
            members.insert("description".into(), Value::String(text));
        }
        properties.insert(field.json_name().to_owned(), schema);
    }
    json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    })
}

fn field_schema(field: &FieldDescriptor, depth: usize) -> Value {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return json!({"type": "object"});
        };
        let value = entry.map_entry_value_field();
        return json!({
            "type": "object",
            "additionalProperties": kind_schema(&value.kind(), depth + 1),
        });
    }
    let single = kind_schema(&field.kind(), depth);
    if field.is_list() {
        json!({"type": "array", "items": single})
    } else {
        single
    }
}

fn kind_schema(kind: &Kind, depth: usize) -> Value {
    match kind {
        Kind::String => json!({"type": "string"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Kind::Float | Kind::Double => json!({"type": "number"}),
        Kind::Int32
        | Kind::Sint32
        | Kind::Sfixed32
        | Kind::Uint32
        | Kind::Fixed32
        | Kind::Int64
        | Kind::Sint64
        | Kind::Sfixed64
        | Kind::Uint64
        | Kind::Fixed64 => json!({"type": "integer"}),
        Kind::Enum(descriptor) => json!({
            "type": "string",
            "enum": descriptor.values().map(|value| value.name().to_owned()).collect::<Vec<_>>(),
        }),
        Kind::Message(message) => match message.full_name() {
            "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
            "google.protobuf.FieldMask" => json!({
                "type": "string",
                "description": "comma-separated field paths, e.g. \"description,labels\"",
            }),
            _ if depth >= MAX_DEPTH => json!({"type": "object"}),
            _ => object(message, depth + 1),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(name: &str) -> Value {
        of_message(&pool().get_message_by_name(name).unwrap())
    }

    #[test]
    fn fields_are_named_as_proto3_json_names_them_and_described_by_their_comments() {
        let register = schema("modelregistry.v1.RegisterModelRequest");
        let information = &register["properties"]["modelRelatedInformation"];
        assert_eq!(information["type"], "object");
        let model_id = &information["properties"]["modelId"]["properties"];
        assert_eq!(model_id["modelName"]["type"], "string");
        let environments =
            &information["properties"]["modelInformation"]["properties"]["targetEnvironment"];
        assert_eq!(environments["type"], "array");
        assert_eq!(
            environments["items"]["properties"]["platformName"]["type"],
            "string"
        );
        assert_eq!(information["properties"]["labels"]["type"], "object");
        let filter = &schema("modelregistry.v1.ListModelsRequest")["properties"]["filter"];
        assert!(
            filter["description"]
                .as_str()
                .unwrap()
                .contains("target_environment"),
            "{filter}"
        );
    }

    #[test]
    fn enums_list_their_names_and_masks_are_strings() {
        let events = schema("modelregistry.v1.ListEventsRequest");
        let types = &events["properties"]["types"];
        assert_eq!(types["type"], "array");
        assert!(
            types["items"]["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("MODEL_REGISTERED"))
        );
        let update = schema("modelregistry.v1.UpdateModelRegistrationRequest");
        assert_eq!(update["properties"]["updateMask"]["type"], "string");
    }
}
