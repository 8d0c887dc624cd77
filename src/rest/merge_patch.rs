//! JSON Merge Patch (RFC 7396) on a registration: the members of the patch replace the stored
//! fields, `null` clears one, objects (`modelInformation`, `metadata`, `labels`) merge member
//! by member, and arrays replace the stored ones whole. The result is validated as a whole by
//! the core, like a registration.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::resource::{self, ModelId, TargetEnvironment};
use crate::domain::{Change, FieldViolation, Labels, Patch};

/// The change a merge patch asks for, and the etag its body carries (a precondition, as in a
/// `PUT`).
pub(crate) fn patch(document: Value) -> (Patch, String) {
    let mut patch = Patch::default();
    let mut etag = String::new();
    let Value::Object(members) = document else {
        patch.rejected.push(FieldViolation::request(
            "body",
            "a merge patch of a registration is a JSON object",
        ));
        return (patch, etag);
    };
    for (name, value) in members {
        match name.as_str() {
            "description" => {
                if let Some(text) = text(&mut patch, "description", value) {
                    patch.changes.push(Change::Description(text));
                }
            }
            "modelLocation" | "model_location" => {
                if let Some(text) = text(&mut patch, "model_location", value) {
                    patch.changes.push(Change::ModelLocation(text));
                }
            }
            "modelInformation" | "model_information" => information(&mut patch, value),
            "labels" => labels(&mut patch, value),
            "modelId" | "model_id" => match value {
                Value::Null => reject(&mut patch, "model_id", "cannot change after registration"),
                value => {
                    if let Some(model_id) = typed::<ModelId>(&mut patch, "model_id", value) {
                        if !model_id.artifact_version.is_empty() {
                            reject(
                                &mut patch,
                                "model_id.artifact_version",
                                "is output only: it changes when an artifact is stored",
                            );
                        }
                        patch.model_id = Some(model_id.into_draft());
                    }
                }
            },
            "etag" => etag = text(&mut patch, "etag", value).unwrap_or_default(),
            "modelRegistrationId"
            | "model_registration_id"
            | "id"
            | "createTime"
            | "create_time"
            | "updateTime"
            | "update_time"
            | "aliases" => reject(&mut patch, &snake(&name), "is output only"),
            _ => reject(
                &mut patch,
                &name,
                "is not a field of ModelRelatedInformation",
            ),
        }
    }
    (patch, etag)
}

fn information(patch: &mut Patch, value: Value) {
    let members = match value {
        Value::Null => {
            patch.changes.push(Change::ModelInformation(None));
            return;
        }
        Value::Object(members) => members,
        _ => return reject(patch, "model_information", "must be an object or null"),
    };
    for (name, value) in members {
        match name.as_str() {
            "metadata" => metadata(patch, value),
            "inputDataType" | "input_data_type" => {
                if let Some(ids) = data_types(patch, "model_information.input_data_type", value) {
                    patch.changes.push(Change::InputDataType(ids));
                }
            }
            "outputDataType" | "output_data_type" => {
                if let Some(ids) = data_types(patch, "model_information.output_data_type", value) {
                    patch.changes.push(Change::OutputDataType(ids));
                }
            }
            "targetEnvironment" | "target_environment" => {
                let field = "model_information.target_environment";
                let environments = match value {
                    Value::Null => Some(Vec::new()),
                    value => typed::<Vec<TargetEnvironment>>(patch, field, value),
                };
                if let Some(environments) = environments {
                    patch.changes.push(Change::TargetEnvironment(
                        environments
                            .into_iter()
                            .map(TargetEnvironment::into_draft)
                            .collect(),
                    ));
                }
            }
            _ => reject(
                patch,
                &format!("model_information.{name}"),
                "is not a field of ModelInformation",
            ),
        }
    }
}

fn metadata(patch: &mut Patch, value: Value) {
    let members = match value {
        Value::Null => {
            patch.changes.push(Change::Metadata(None));
            return;
        }
        Value::Object(members) => members,
        _ => {
            return reject(
                patch,
                "model_information.metadata",
                "must be an object or null",
            );
        }
    };
    for (name, value) in members {
        let field = format!("model_information.metadata.{name}");
        match name.as_str() {
            "author" => {
                if let Some(author) = text(patch, &field, value) {
                    patch.changes.push(Change::Author(author));
                }
            }
            "owner" => {
                if let Some(owner) = text(patch, &field, value) {
                    patch.changes.push(Change::Owner(owner));
                }
            }
            _ => reject(patch, &field, "is not a field of Metadata"),
        }
    }
}

fn labels(patch: &mut Patch, value: Value) {
    let members: Map<String, Value> = match value {
        Value::Null => {
            patch.changes.push(Change::Labels(Labels::new()));
            return;
        }
        Value::Object(members) => members,
        _ => return reject(patch, "labels", "must be an object or null"),
    };
    for (key, value) in members {
        match value {
            Value::Null => patch.changes.push(Change::Label(key, None)),
            Value::String(text) => patch.changes.push(Change::Label(key, Some(text))),
            _ => reject(patch, &format!("labels.{key}"), "must be a string or null"),
        }
    }
}

/// A string member; `null` is the empty string (the field is cleared).
fn text(patch: &mut Patch, field: &str, value: Value) -> Option<String> {
    match value {
        Value::Null => Some(String::new()),
        Value::String(text) => Some(text),
        _ => {
            reject(patch, field, "must be a string or null");
            None
        }
    }
}

/// Data type ids, as an array or a comma-separated string; `null` is none.
fn data_types(patch: &mut Patch, field: &str, value: Value) -> Option<Vec<String>> {
    match resource::data_types(value) {
        Ok(ids) => Some(ids),
        Err(err) => {
            reject(patch, field, &err.to_string());
            None
        }
    }
}

fn typed<T: DeserializeOwned>(patch: &mut Patch, field: &str, value: Value) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(typed) => Some(typed),
        Err(err) => {
            let inner = err.path().to_string();
            let path = if inner == "." {
                field.to_owned()
            } else if inner.starts_with('[') {
                format!("{field}{inner}")
            } else {
                format!("{field}.{inner}")
            };
            reject(patch, &snake(&path), &err.into_inner().to_string());
            None
        }
    }
}

fn reject(patch: &mut Patch, field: &str, why: &str) {
    patch.rejected.push(FieldViolation::resource(field, why));
}

/// A JSON member name as the proto field name, which is how the core reports paths.
fn snake(name: &str) -> String {
    let mut snake = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            snake.push('_');
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{EnvironmentDraft, FieldPath};

    #[test]
    fn members_become_changes_in_order() {
        let (patch, etag) = super::patch(json!({
            "description": "new",
            "modelInformation": {
                "metadata": {"owner": null},
                "inputDataType": "a,b",
                "targetEnvironment": [{"platformName": "p", "environmentType": "t", "dependencyList": "d"}]
            },
            "labels": {"team": "ran", "old": null},
            "etag": "abc"
        }));
        assert!(patch.rejected.is_empty(), "{:?}", patch.rejected);
        assert_eq!(etag, "abc");
        // Members may come in any order; labels of one object keep theirs.
        let expected = vec![
            Change::Description("new".into()),
            Change::Owner(String::new()),
            Change::InputDataType(vec!["a".into(), "b".into()]),
            Change::TargetEnvironment(vec![EnvironmentDraft {
                platform_name: "p".into(),
                environment_type: "t".into(),
                dependency_list: "d".into(),
            }]),
            Change::Label("old".into(), None),
            Change::Label("team".into(), Some("ran".into())),
        ];
        assert_eq!(patch.changes.len(), expected.len(), "{:?}", patch.changes);
        for change in &expected {
            assert!(
                patch.changes.contains(change),
                "{change:?} in {:?}",
                patch.changes
            );
        }
    }

    #[test]
    fn null_clears_and_unknown_members_are_reported() {
        let (patch, _) = super::patch(json!({
            "labels": null,
            "modelInformation": {"targetEnvironment": null, "colour": 1},
            "createTime": "2020-01-01T00:00:00Z",
            "modelId": {"artifactVersion": "9.9.9"},
            "bogus": true,
            "description": 5
        }));
        assert_eq!(
            patch.changes,
            vec![
                Change::Labels(Labels::new()),
                Change::TargetEnvironment(Vec::new()),
            ]
        );
        let mut fields: Vec<_> = patch
            .rejected
            .iter()
            .map(|v| match &v.field {
                FieldPath::Resource(path) | FieldPath::Request(path) => path.as_str(),
            })
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "bogus",
                "create_time",
                "description",
                "model_id.artifact_version",
                "model_information.colour",
            ]
        );
    }
}
