//! Parsing reports every violation at once, with the field's path.

use super::*;

fn valid() -> ModelDraft {
    ModelDraft {
        model_id: Some(ModelIdDraft {
            model_name: "qoe-predictor".into(),
            model_version: "1".into(),
        }),
        description: "predicts QoE".into(),
        model_information: Some(InformationDraft {
            metadata: Some(MetadataDraft {
                author: "alice".into(),
                owner: String::new(),
            }),
            input_data_type: vec!["pdcpBytesDl,pdcpBytesUl".into()],
            output_data_type: vec!["qoe".into()],
            target_environment: vec![EnvironmentDraft {
                platform_name: "kserve".into(),
                environment_type: "onnx".into(),
                dependency_list: "a,b,c".into(),
            }],
            spelling: Default::default(),
        }),
        model_location: "s3://models/qoe.zip".into(),
        labels: [("team".to_owned(), "ran".to_owned())].into(),
    }
}

fn fields(err: Error) -> Vec<String> {
    match err {
        Error::InvalidArgument(violations) => violations
            .into_iter()
            .map(|v| match v.field {
                FieldPath::Resource(path) => format!("m.{path}"),
                FieldPath::Request(path) => path,
            })
            .collect(),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

fn names(name: &str, version: &str) -> Option<ModelIdDraft> {
    Some(ModelIdDraft {
        model_name: name.into(),
        model_version: version.into(),
    })
}

#[test]
fn a_valid_model_parses_and_keeps_commas() {
    let spec = ModelSpec::parse(valid()).unwrap();
    assert_eq!(spec.input_data_type, ["pdcpBytesDl,pdcpBytesUl"]);
    assert_eq!(spec.owner.as_deref(), None);
    assert_eq!(spec.location.as_deref(), Some("s3://models/qoe.zip"));
    assert_eq!(spec.target_environments[0].dependency_list, "a,b,c");
}

#[test]
fn a_parsed_model_round_trips_through_its_draft() {
    let spec = ModelSpec::parse(valid()).unwrap();
    assert_eq!(ModelSpec::parse(spec.to_draft()).unwrap(), spec);
}

#[test]
fn every_violation_is_reported_at_once() {
    let mut draft = valid();
    draft.model_id = names(" padded", "bad\u{7}");
    draft.description = String::new();
    draft.model_location = "relative/path".into();
    let information = draft.model_information.as_mut().unwrap();
    information.metadata.as_mut().unwrap().author = String::new();
    information.input_data_type = vec![];
    information.output_data_type = vec!["ok".into(), String::new()];
    information
        .target_environment
        .push(EnvironmentDraft::default());
    assert_eq!(
        fields(ModelSpec::parse(draft).unwrap_err()),
        [
            "m.model_id.model_name",
            "m.model_id.model_version",
            "m.description",
            "m.model_location",
            "m.model_information.metadata.author",
            "m.model_information.input_data_type",
            "m.model_information.output_data_type[1]",
            "m.model_information.target_environment[1].platform_name",
            "m.model_information.target_environment[1].environment_type",
            "m.model_information.target_environment[1].dependency_list",
        ]
    );
}

#[test]
fn missing_messages_are_required() {
    assert_eq!(
        fields(ModelSpec::parse(ModelDraft::default()).unwrap_err()),
        ["m.model_id", "m.description", "m.model_information"]
    );
}

#[test]
fn names_longer_than_the_limit_are_rejected() {
    let mut draft = valid();
    draft.model_id = names(&"x".repeat(limits::NAME_CHARS + 1), "1");
    assert_eq!(
        fields(ModelSpec::parse(draft.clone()).unwrap_err()),
        ["m.model_id.model_name"]
    );
    draft.model_id = names(&"é".repeat(limits::NAME_CHARS), "1");
    assert!(
        ModelSpec::parse(draft).is_ok(),
        "the limit counts characters, not bytes"
    );
}

#[test]
fn urns_and_urls_are_absolute_uris() {
    for location in [
        "urn:model:qoe",
        "https://example.com/m.zip",
        "file:///models/m",
    ] {
        let mut draft = valid();
        draft.model_location = location.into();
        assert!(ModelSpec::parse(draft).is_ok(), "{location}");
    }
}

#[test]
fn a_patch_replaces_what_it_names_and_is_validated_whole() {
    let current = ModelSpec::parse(valid()).unwrap();
    let patch = Patch {
        changes: vec![
            Change::Description("new".into()),
            Change::Owner("team".into()),
            Change::TargetEnvironment(Vec::new()),
        ],
        ..Default::default()
    };
    let updated = patch.apply_to(&current).unwrap();
    assert_eq!(updated.description, "new");
    assert_eq!(updated.owner.as_deref(), Some("team"));
    assert_eq!(updated.author, "alice");
    assert!(updated.target_environments.is_empty());

    let invalid = Patch {
        changes: vec![Change::Metadata(None)],
        ..Default::default()
    };
    assert_eq!(
        fields(invalid.apply_to(&current).unwrap_err()),
        ["m.model_information.metadata"]
    );
}

#[test]
fn renames_and_rejected_paths_are_reported_together() {
    let current = ModelSpec::parse(valid()).unwrap();
    let patch = Patch {
        model_id: names("renamed", "1"),
        changes: vec![Change::Description("ignored".into())],
        rejected: vec![FieldViolation::request("update_mask.paths[0]", "bad")],
        ..Default::default()
    };
    assert_eq!(
        fields(patch.apply_to(&current).unwrap_err()),
        ["m.model_id.model_name", "update_mask.paths[0]"]
    );
}

#[test]
fn a_model_is_named_exactly_one_way() {
    let id = uuid::Uuid::now_v7();
    assert_eq!(
        ModelRef::parse(&id.to_string(), None, None, "").unwrap(),
        ModelRef::Id(RegistrationId::from_uuid(id))
    );
    assert!(matches!(
        ModelRef::parse("", names("qoe", "1").as_ref(), None, "").unwrap(),
        ModelRef::NameVersion(name, version) if name.as_str() == "qoe" && version.as_str() == "1"
    ));
    let both = ModelRef::parse(&id.to_string(), names("qoe", "1").as_ref(), None, "");
    assert_eq!(fields(both.unwrap_err()), ["model_id"]);
    let neither = ModelRef::parse("", names("", "").as_ref(), None, "");
    assert_eq!(fields(neither.unwrap_err()), ["model_registration_id"]);
    let half = ModelRef::parse("", names("qoe", "").as_ref(), None, "");
    assert_eq!(fields(half.unwrap_err()), ["model_id.model_version"]);
}

#[test]
fn a_selector_names_a_model_by_version_or_alias() {
    let selector = |version_or_alias| SelectorDraft {
        model_name: "qoe".into(),
        version_or_alias,
    };
    let by_alias = selector(Some(VersionOrAlias::Alias("production".into())));
    assert!(matches!(
        ModelRef::parse("", None, Some(&by_alias), "").unwrap(),
        ModelRef::NameAlias(name, alias) if name.as_str() == "qoe" && alias.as_str() == "production"
    ));
    let by_version = selector(Some(VersionOrAlias::Version("1".into())));
    assert!(matches!(
        ModelRef::parse("", None, Some(&by_version), "").unwrap(),
        ModelRef::NameVersion(_, version) if version.as_str() == "1"
    ));
    let bad_alias = selector(Some(VersionOrAlias::Alias("-prod uction".into())));
    let err = ModelRef::parse("", None, Some(&bad_alias), "").unwrap_err();
    assert_eq!(fields(err), ["model.alias"]);
    let err = ModelRef::parse("", None, Some(&selector(None)), "").unwrap_err();
    assert_eq!(fields(err), ["model.version_or_alias"]);
    let id = uuid::Uuid::now_v7().to_string();
    let err = ModelRef::parse(&id, None, Some(&by_alias), "").unwrap_err();
    assert_eq!(fields(err), ["model"]);
}

#[test]
fn a_header_reports_every_violation() {
    let header = UploadDraft {
        model_registration_id: "not-a-uuid".into(),
        sha256: "abc".into(),
        filename: "../etc/passwd".into(),
        content_type: "text/plain\n".into(),
        ..Default::default()
    };
    assert_eq!(
        fields(UploadSpec::parse(header).unwrap_err()),
        [
            "header.model_registration_id",
            "header.sha256",
            "header.filename",
            "header.content_type"
        ]
    );
}

#[test]
fn a_header_gets_defaults_and_lowercase_digests() {
    let header = UploadDraft {
        model_id: names("qoe", "1"),
        sha256: "AB".repeat(32),
        ..Default::default()
    };
    let spec = UploadSpec::parse(header).unwrap();
    assert_eq!(spec.sha256.as_deref(), Some("ab".repeat(32).as_str()));
    assert_eq!(spec.size_bytes, None);
    assert_eq!(spec.filename, "artifact");
    assert_eq!(spec.content_type, "application/octet-stream");
}
