//! AIP-134 update semantics for ModelRelatedInformation: which fields of a request's resource
//! replace the stored ones, as a domain `Patch`. The core applies it and validates the result
//! as a whole, like a registration.

use prost_types::FieldMask;

use super::convert;
use crate::domain::{
    Change, FieldViolation, InformationDraft, MetadataDraft, ModelDraft, Patch, echo, key_problem,
    limits,
};
use crate::pb;

/// Mask paths a client may name, relative to ModelRelatedInformation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Path {
    Description,
    ModelLocation,
    ModelInformation,
    Metadata,
    Author,
    Owner,
    InputDataType,
    OutputDataType,
    TargetEnvironment,
    Labels,
    /// `labels.KEY`: one label.
    Label(String),
}

impl Path {
    /// `*` names every mutable field; the others are subsumed by these four.
    const ALL: [Path; 4] = [
        Path::Description,
        Path::ModelLocation,
        Path::ModelInformation,
        Path::Labels,
    ];

    fn parse(path: &str) -> Result<Vec<Path>, String> {
        if let Some(key) = path.strip_prefix("labels.") {
            return match key_problem(key) {
                None => Ok(vec![Path::Label(key.to_owned())]),
                Some(problem) => Err(format!("names no valid label key: {problem}")),
            };
        }
        Ok(match path {
            "*" => Self::ALL.to_vec(),
            "labels" => vec![Path::Labels],
            "description" => vec![Path::Description],
            "model_location" => vec![Path::ModelLocation],
            "model_information" => vec![Path::ModelInformation],
            "model_information.metadata" => vec![Path::Metadata],
            "model_information.metadata.author" => vec![Path::Author],
            "model_information.metadata.owner" => vec![Path::Owner],
            "model_information.input_data_type" => vec![Path::InputDataType],
            "model_information.output_data_type" => vec![Path::OutputDataType],
            "model_information.target_environment" => vec![Path::TargetEnvironment],
            "model_id" | "model_id.model_name" | "model_id.model_version" => {
                return Err("names a field that cannot change after registration".into());
            }
            "model_registration_id"
            | "model_id.artifact_version"
            | "create_time"
            | "update_time"
            | "etag"
            | "aliases" => return Err("names an output-only field".into()),
            _ => {
                return Err("is not a field of ModelRelatedInformation that can be updated".into());
            }
        })
    }
}

/// The change an UpdateModelRegistration asks for. With a non-empty mask, each named field is
/// replaced, even by an empty value. Without one, every populated field of the resource is
/// applied, and empty strings and lists leave stored values alone. `model_id` may be sent,
/// but must name the stored model.
pub(super) fn patch(resource: pb::ModelRelatedInformation, mask: Option<FieldMask>) -> Patch {
    let draft = convert::model_draft(resource);
    let mut patch = Patch {
        model_id: draft.model_id.clone(),
        ..Patch::default()
    };
    match mask.filter(|mask| !mask.paths.is_empty()) {
        Some(mask) if mask.paths.len() > limits::MASK_PATHS => {
            patch.rejected.push(FieldViolation::request(
                "update_mask.paths",
                format!(
                    "must name at most {} paths (names {})",
                    limits::MASK_PATHS,
                    mask.paths.len()
                ),
            ));
        }
        Some(mask) => {
            for (index, path) in mask.paths.iter().enumerate() {
                let parsed = if path.chars().count() > limits::MASK_PATH_CHARS {
                    Err("is longer than any field path".to_owned())
                } else {
                    Path::parse(path)
                };
                match parsed {
                    Ok(paths) => patch
                        .changes
                        .extend(paths.into_iter().map(|path| replacement(&draft, path))),
                    Err(why) => patch.rejected.push(FieldViolation::request(
                        format!("update_mask.paths[{index}]"),
                        format!("{} {why}", echo(path)),
                    )),
                }
            }
        }
        None => patch.changes = populated(draft),
    }
    patch
}

/// The change a masked path makes: the field's value in the request, even an empty one.
fn replacement(draft: &ModelDraft, path: Path) -> Change {
    let information = draft.model_information.clone().unwrap_or_default();
    let metadata = information.metadata.clone().unwrap_or_default();
    match path {
        Path::Description => Change::Description(draft.description.clone()),
        Path::ModelLocation => Change::ModelLocation(draft.model_location.clone()),
        Path::ModelInformation => Change::ModelInformation(draft.model_information.clone()),
        Path::Metadata => Change::Metadata(information.metadata),
        Path::Author => Change::Author(metadata.author),
        Path::Owner => Change::Owner(metadata.owner),
        Path::InputDataType => Change::InputDataType(information.input_data_type),
        Path::OutputDataType => Change::OutputDataType(information.output_data_type),
        Path::TargetEnvironment => Change::TargetEnvironment(information.target_environment),
        Path::Labels => Change::Labels(draft.labels.clone()),
        Path::Label(key) => {
            let value = draft.labels.get(&key).cloned();
            Change::Label(key, value)
        }
    }
}

/// The changes of every populated field.
fn populated(draft: ModelDraft) -> Vec<Change> {
    let ModelDraft {
        model_id: _,
        description,
        model_location,
        model_information,
        labels,
    } = draft;
    let mut changes = Vec::new();
    let mut change = |populated: bool, change: Change| {
        if populated {
            changes.push(change);
        }
    };
    change(!description.is_empty(), Change::Description(description));
    change(
        !model_location.is_empty(),
        Change::ModelLocation(model_location),
    );
    if let Some(InformationDraft {
        metadata,
        input_data_type,
        output_data_type,
        target_environment,
        spelling: _,
    }) = model_information
    {
        if let Some(MetadataDraft { author, owner }) = metadata {
            change(!author.is_empty(), Change::Author(author));
            change(!owner.is_empty(), Change::Owner(owner));
        }
        change(
            !input_data_type.is_empty(),
            Change::InputDataType(input_data_type),
        );
        change(
            !output_data_type.is_empty(),
            Change::OutputDataType(output_data_type),
        );
        change(
            !target_environment.is_empty(),
            Change::TargetEnvironment(target_environment),
        );
    }
    change(!labels.is_empty(), Change::Labels(labels));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Error, FieldPath, ModelSpec};

    /// Applies `resource` onto `stored` as `mask` says, without validating the result.
    fn apply(
        stored: &mut pb::ModelRelatedInformation,
        resource: &pb::ModelRelatedInformation,
        mask: Option<&FieldMask>,
    ) -> Result<(), Error> {
        let spec = ModelSpec::parse(convert::model_draft(stored.clone())).unwrap();
        let draft = patch(resource.clone(), mask.cloned()).draft_from(&spec)?;
        let artifact_version = stored.model_id.as_ref().unwrap().artifact_version.clone();
        *stored = to_proto(draft, artifact_version);
        Ok(())
    }

    fn to_proto(draft: ModelDraft, artifact_version: String) -> pb::ModelRelatedInformation {
        pb::ModelRelatedInformation {
            model_id: draft.model_id.map(|id| pb::ModelId {
                model_name: id.model_name,
                model_version: id.model_version,
                artifact_version,
            }),
            description: draft.description,
            model_location: draft.model_location,
            model_information: draft.model_information.map(|info| pb::ModelInformation {
                metadata: info.metadata.map(|m| pb::Metadata {
                    author: m.author,
                    owner: m.owner,
                }),
                input_data_type: info.input_data_type,
                output_data_type: info.output_data_type,
                target_environment: info
                    .target_environment
                    .into_iter()
                    .map(|env| pb::TargetEnvironment {
                        platform_name: env.platform_name,
                        environment_type: env.environment_type,
                        dependency_list: env.dependency_list,
                    })
                    .collect(),
            }),
            ..Default::default()
        }
    }

    fn env(name: &str) -> pb::TargetEnvironment {
        pb::TargetEnvironment {
            platform_name: name.into(),
            environment_type: "t".into(),
            dependency_list: "d".into(),
        }
    }

    fn stored() -> pb::ModelRelatedInformation {
        pb::ModelRelatedInformation {
            model_id: Some(pb::ModelId {
                model_name: "m".into(),
                model_version: "1".into(),
                artifact_version: "0.0.0".into(),
            }),
            description: "old".into(),
            model_location: "s3://b/old".into(),
            model_information: Some(pb::ModelInformation {
                metadata: Some(pb::Metadata {
                    author: "alice".into(),
                    owner: "team".into(),
                }),
                input_data_type: vec!["in".into()],
                output_data_type: vec!["out".into()],
                target_environment: vec![env("a"), env("b")],
            }),
            ..Default::default()
        }
    }

    fn mask(paths: &[&str]) -> FieldMask {
        FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn info(m: &pb::ModelRelatedInformation) -> &pb::ModelInformation {
        m.model_information.as_ref().unwrap()
    }

    #[test]
    fn without_a_mask_empty_lists_keep_the_stored_lists() {
        let mut target = stored();
        let patch = pb::ModelRelatedInformation {
            description: "new".into(),
            model_information: Some(pb::ModelInformation::default()),
            ..Default::default()
        };
        apply(&mut target, &patch, None).unwrap();
        assert_eq!(target.description, "new");
        assert_eq!(target.model_location, "s3://b/old");
        assert_eq!(info(&target).target_environment, [env("a"), env("b")]);
        assert_eq!(info(&target).input_data_type, ["in"]);
        assert_eq!(info(&target).metadata.as_ref().unwrap().owner, "team");
    }

    #[test]
    fn without_a_mask_a_given_list_replaces_the_stored_one() {
        let mut target = stored();
        let patch = pb::ModelRelatedInformation {
            model_information: Some(pb::ModelInformation {
                target_environment: vec![env("c")],
                ..Default::default()
            }),
            ..Default::default()
        };
        apply(&mut target, &patch, Some(&mask(&[]))).unwrap();
        assert_eq!(info(&target).target_environment, [env("c")]);
    }

    #[test]
    fn a_masked_empty_list_clears_the_stored_one() {
        let mut target = stored();
        let patch = pb::ModelRelatedInformation::default();
        apply(
            &mut target,
            &patch,
            Some(&mask(&["model_information.target_environment"])),
        )
        .unwrap();
        assert!(info(&target).target_environment.is_empty());
        assert_eq!(target.description, "old", "unmasked fields stay");
    }

    #[test]
    fn masked_leaf_fields_replace_only_themselves() {
        let mut target = stored();
        let patch = pb::ModelRelatedInformation {
            description: "ignored, not in the mask".into(),
            model_information: Some(pb::ModelInformation {
                metadata: Some(pb::Metadata {
                    author: "bob".into(),
                    owner: String::new(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        apply(
            &mut target,
            &patch,
            Some(&mask(&[
                "model_information.metadata.owner",
                "model_location",
            ])),
        )
        .unwrap();
        let metadata = info(&target).metadata.as_ref().unwrap();
        assert_eq!(
            (metadata.author.as_str(), metadata.owner.as_str()),
            ("alice", "")
        );
        assert_eq!(target.model_location, "");
        assert_eq!(target.description, "old");
    }

    #[test]
    fn star_replaces_every_mutable_field() {
        let mut target = stored();
        let patch = pb::ModelRelatedInformation {
            description: "only".into(),
            ..Default::default()
        };
        apply(&mut target, &patch, Some(&mask(&["*"]))).unwrap();
        assert_eq!(target.description, "only");
        assert_eq!(target.model_location, "");
        assert!(target.model_information.is_none());
        assert_eq!(
            target.model_id,
            stored().model_id,
            "identity is not mutable"
        );
    }

    #[test]
    fn bad_paths_and_renames_are_all_reported() {
        let mut target = stored();
        let patch = pb::ModelRelatedInformation {
            model_id: Some(pb::ModelId {
                model_name: "renamed".into(),
                model_version: "1".into(),
                artifact_version: "7.0.0".into(),
            }),
            ..Default::default()
        };
        let err = apply(
            &mut target,
            &patch,
            Some(&mask(&[
                "description",
                "etag",
                "model_id.model_name",
                "nope",
            ])),
        )
        .unwrap_err();
        let Error::InvalidArgument(violations) = err else {
            panic!("{err:?}")
        };
        let fields: Vec<_> = violations
            .into_iter()
            .map(|v| match v.field {
                FieldPath::Resource(path) => format!("model_related_information.{path}"),
                FieldPath::Request(path) => path,
            })
            .collect();
        assert_eq!(
            fields,
            [
                "model_related_information.model_id.model_name",
                "update_mask.paths[1]",
                "update_mask.paths[2]",
                "update_mask.paths[3]",
            ]
        );
        assert_eq!(
            target,
            stored(),
            "nothing is applied when the request is invalid"
        );
    }
}
