//! AIP-134 update semantics for ModelRelatedInformation: which fields of a patch replace the
//! stored ones. The result is validated as a whole afterwards, like a registration.

use prost_types::FieldMask;
use tonic_types::FieldViolation;

use crate::error::{Error, Result};
use crate::pb;

/// Mask paths a client may name, relative to ModelRelatedInformation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

impl Path {
    /// `*` names every mutable field; the others are subsumed by these three.
    const ALL: [Path; 3] = [
        Path::Description,
        Path::ModelLocation,
        Path::ModelInformation,
    ];

    fn parse(path: &str) -> Result<Vec<Path>, &'static str> {
        Ok(match path {
            "*" => Self::ALL.to_vec(),
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
                return Err("names a field that cannot change after registration");
            }
            "model_registration_id"
            | "model_id.artifact_version"
            | "create_time"
            | "update_time"
            | "etag" => return Err("names an output-only field"),
            _ => return Err("is not a field of ModelRelatedInformation that can be updated"),
        })
    }
}

/// Applies `patch` onto `stored` as `mask` says. Without a mask (or with an empty one) every
/// populated field of the patch is applied, and empty strings and lists leave stored values
/// alone. `model_id` may be sent, but must name the stored model.
pub fn apply(
    stored: &mut pb::ModelRelatedInformation,
    patch: &pb::ModelRelatedInformation,
    mask: Option<&FieldMask>,
) -> Result<()> {
    let mut violations = immutable_changes(stored, patch);
    let paths = match mask.filter(|mask| !mask.paths.is_empty()) {
        Some(mask) => {
            let mut paths = Vec::new();
            for (index, path) in mask.paths.iter().enumerate() {
                match Path::parse(path) {
                    Ok(parsed) => paths.extend(parsed),
                    Err(why) => violations.push(FieldViolation::new(
                        format!("update_mask.paths[{index}]"),
                        format!("{path:?} {why}"),
                    )),
                }
            }
            Some(paths)
        }
        None => None,
    };
    if !violations.is_empty() {
        return Err(Error::InvalidArgument(violations));
    }
    match paths {
        Some(paths) => paths
            .into_iter()
            .for_each(|path| replace(stored, patch, path)),
        None => merge_populated(stored, patch),
    }
    Ok(())
}

fn immutable_changes(
    stored: &pb::ModelRelatedInformation,
    patch: &pb::ModelRelatedInformation,
) -> Vec<FieldViolation> {
    let (Some(stored_id), Some(patch_id)) = (&stored.model_id, &patch.model_id) else {
        return Vec::new();
    };
    let mut violations = Vec::new();
    let field = "model_related_information.model_id";
    if !patch_id.model_name.is_empty() && patch_id.model_name != stored_id.model_name {
        violations.push(FieldViolation::new(
            format!("{field}.model_name"),
            format!(
                "cannot change after registration (is {:?})",
                stored_id.model_name
            ),
        ));
    }
    if !patch_id.model_version.is_empty() && patch_id.model_version != stored_id.model_version {
        violations.push(FieldViolation::new(
            format!("{field}.model_version"),
            format!(
                "cannot change after registration (is {:?})",
                stored_id.model_version
            ),
        ));
    }
    violations
}

/// Replaces one masked field, even by an empty value.
fn replace(
    stored: &mut pb::ModelRelatedInformation,
    patch: &pb::ModelRelatedInformation,
    path: Path,
) {
    let patch_info = patch.model_information.clone().unwrap_or_default();
    match path {
        Path::Description => stored.description = patch.description.clone(),
        Path::ModelLocation => stored.model_location = patch.model_location.clone(),
        Path::ModelInformation => stored.model_information = patch.model_information.clone(),
        path => {
            let info = stored.model_information.get_or_insert_default();
            match path {
                Path::Metadata => info.metadata = patch_info.metadata,
                Path::Author => {
                    info.metadata.get_or_insert_default().author =
                        patch_info.metadata.unwrap_or_default().author;
                }
                Path::Owner => {
                    info.metadata.get_or_insert_default().owner =
                        patch_info.metadata.unwrap_or_default().owner;
                }
                Path::InputDataType => info.input_data_type = patch_info.input_data_type,
                Path::OutputDataType => info.output_data_type = patch_info.output_data_type,
                Path::TargetEnvironment => info.target_environment = patch_info.target_environment,
                Path::Description | Path::ModelLocation | Path::ModelInformation => unreachable!(),
            }
        }
    }
}

/// Applies every populated field of the patch.
fn merge_populated(stored: &mut pb::ModelRelatedInformation, patch: &pb::ModelRelatedInformation) {
    set_if_populated(&mut stored.description, &patch.description);
    set_if_populated(&mut stored.model_location, &patch.model_location);
    let Some(patch_info) = &patch.model_information else {
        return;
    };
    let info = stored.model_information.get_or_insert_default();
    if let Some(patch_metadata) = &patch_info.metadata {
        let metadata = info.metadata.get_or_insert_default();
        set_if_populated(&mut metadata.author, &patch_metadata.author);
        set_if_populated(&mut metadata.owner, &patch_metadata.owner);
    }
    set_if_populated(&mut info.input_data_type, &patch_info.input_data_type);
    set_if_populated(&mut info.output_data_type, &patch_info.output_data_type);
    set_if_populated(&mut info.target_environment, &patch_info.target_environment);
}

fn set_if_populated<T: Clone + Default + PartialEq>(stored: &mut T, patch: &T) {
    if *patch != T::default() {
        *stored = patch.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
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
