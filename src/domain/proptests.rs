//! Properties of validation: parsing never panics, whatever a client sends; it accepts exactly
//! the inputs an independent oracle of the rules accepts, and names every violated field, in
//! order and the same way each time; a valid model survives the round trip through its draft.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use super::*;

/// Characters that validation treats specially, or that are awkward to carry: controls (C0,
/// DEL, C1), white space of every kind, quotes, escapes, multi-byte text, invisible ones.
const AWKWARD: &[char] = &[
    'a',
    'Z',
    '0',
    '-',
    '.',
    '/',
    ':',
    ' ',
    '\t',
    '\n',
    '\r',
    '\0',
    '\u{7}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{9f}',
    '\u{a0}',
    '\u{2028}',
    '\u{3000}',
    '\u{feff}',
    '\u{200b}',
    '"',
    '\\',
    '\'',
    '%',
    'é',
    'ß',
    '模',
    '型',
    '😀',
    '\u{10ffff}',
];

/// Lengths at and around every limit, and far beyond them.
const LENGTHS: &[usize] = &[
    0, 1, 63, 64, 65, 127, 128, 129, 254, 255, 256, 2_047, 2_048, 2_049, 4_095, 4_096, 4_097,
    9_999, 10_000, 10_001, 100_000,
];

fn awkward_char() -> impl Strategy<Value = char> {
    prop_oneof![3 => select(AWKWARD), 1 => any::<char>()]
}

/// Any text: short and awkward, or of a length at a limit with awkward ends.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        4 => vec(awkward_char(), 0..12).prop_map(String::from_iter),
        1 => (select(LENGTHS), awkward_char(), awkward_char(), awkward_char()).prop_map(
            |(len, fill, first, last)| {
                let mut text: String = std::iter::repeat_n(fill, len).collect();
                if len >= 2 {
                    text.replace_range(..fill.len_utf8(), first.encode_utf8(&mut [0; 4]));
                    text.pop();
                    text.push(last);
                }
                text
            }
        ),
    ]
}

/// Printable text without surrounding white space, usually valid anywhere.
fn plain() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9 ,._/éß模😀-]{0,14}[a-zA-Z0-9]".prop_map(String::from)
}

/// Text that is usually valid, sometimes anything.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![4 => plain(), 1 => text()]
}

fn location() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        2 => select(&["s3://models/m.zip", "urn:model:qoe", "file:///models/m", "https://h/x"][..])
            .prop_map(String::from),
        1 => select(&["relative/path", "://nothing", "1a:b", "s3 ://x", "C:"][..])
            .prop_map(String::from),
        1 => text(),
    ]
}

/// List sizes: usually small, sometimes at or beyond the limit of 100.
fn list_of<S: Strategy>(item: impl Fn() -> S) -> impl Strategy<Value = Vec<S::Value>> {
    prop_oneof![8 => vec(item(), 0..4), 1 => vec(item(), 99..=101)]
}

fn model_id_draft() -> impl Strategy<Value = ModelIdDraft> {
    (field(), field()).prop_map(|(model_name, model_version)| ModelIdDraft {
        model_name,
        model_version,
    })
}

fn environment() -> impl Strategy<Value = EnvironmentDraft> {
    (field(), field(), field()).prop_map(|(platform_name, environment_type, dependency_list)| {
        EnvironmentDraft {
            platform_name,
            environment_type,
            dependency_list,
        }
    })
}

fn information() -> impl Strategy<Value = InformationDraft> {
    (
        prop::option::weighted(
            0.9,
            (field(), prop_oneof![Just(String::new()), field()])
                .prop_map(|(author, owner)| MetadataDraft { author, owner }),
        ),
        prop_oneof![4 => vec(field(), 1..3), 1 => list_of(field)],
        prop_oneof![4 => vec(field(), 1..3), 1 => list_of(field)],
        list_of(environment),
    )
        .prop_map(
            |(metadata, input_data_type, output_data_type, target_environment)| InformationDraft {
                metadata,
                input_data_type,
                output_data_type,
                target_environment,
                spelling: Default::default(),
            },
        )
}

/// Any draft: every field any text, any part missing, lists of any size.
fn any_draft() -> impl Strategy<Value = ModelDraft> {
    (
        prop::option::weighted(0.9, model_id_draft()),
        field(),
        location(),
        prop::option::weighted(0.9, information()),
    )
        .prop_map(
            |(model_id, description, model_location, model_information)| ModelDraft {
                model_id,
                description,
                model_location,
                model_information,
                labels: Default::default(),
            },
        )
}

/// A draft that is valid by construction.
fn valid_draft() -> impl Strategy<Value = ModelDraft> {
    let environment = (plain(), plain(), plain()).prop_map(
        |(platform_name, environment_type, dependency_list)| EnvironmentDraft {
            platform_name,
            environment_type,
            dependency_list,
        },
    );
    (
        (plain(), plain(), plain()),
        prop_oneof![Just(String::new()), Just("s3://models/m.zip".to_owned())],
        (plain(), prop_oneof![Just(String::new()), plain()]),
        (
            vec(plain(), 1..4),
            vec(plain(), 1..4),
            vec(environment, 0..4),
        ),
    )
        .prop_map(
            |(
                (model_name, model_version, description),
                model_location,
                (author, owner),
                (input_data_type, output_data_type, target_environment),
            )| ModelDraft {
                model_id: Some(ModelIdDraft {
                    model_name,
                    model_version,
                }),
                description,
                model_location,
                model_information: Some(InformationDraft {
                    metadata: Some(MetadataDraft { author, owner }),
                    input_data_type,
                    output_data_type,
                    target_environment,
                    spelling: Default::default(),
                }),
                labels: Default::default(),
            },
        )
}

fn model_draft() -> impl Strategy<Value = ModelDraft> {
    prop_oneof![1 => valid_draft(), 2 => any_draft()]
}

fn model_spec() -> impl Strategy<Value = ModelSpec> {
    prop_oneof![4 => valid_draft(), 1 => any_draft()]
        .prop_filter_map("invalid draft", |draft| ModelSpec::parse(draft).ok())
}

// The oracle: the rules of the proto, written again without the checker.

fn chars(text: &str) -> usize {
    text.chars().count()
}

fn blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}

fn identifier_ok(text: &str) -> bool {
    let (Some(first), Some(last)) = (text.chars().next(), text.chars().last()) else {
        return false;
    };
    !first.is_whitespace()
        && !last.is_whitespace()
        && text.chars().all(|c| !c.is_control())
        && chars(text) <= 255
}

/// Within `max` characters, and without NUL (which no text may hold).
fn bounded_ok(text: &str, max: usize) -> bool {
    chars(text) <= max && !text.contains('\0')
}

fn required_ok(text: &str, max: usize) -> bool {
    !blank(text) && bounded_ok(text, max)
}

fn location_ok(text: &str) -> bool {
    // The rule delegates to the URL parser: an absolute URI is what it accepts.
    text.is_empty() || (bounded_ok(text, 2_048) && url::Url::parse(text).is_ok())
}

/// Every field a draft violates, in the order of the resource.
fn oracle(draft: &ModelDraft) -> Vec<String> {
    let mut violated = Vec::new();
    let mut expect = |ok: bool, field: String| {
        if !ok {
            violated.push(field);
        }
    };
    match &draft.model_id {
        None => expect(false, "model_id".into()),
        Some(id) => {
            expect(identifier_ok(&id.model_name), "model_id.model_name".into());
            expect(
                identifier_ok(&id.model_version),
                "model_id.model_version".into(),
            );
        }
    }
    expect(
        required_ok(&draft.description, 10_000),
        "description".into(),
    );
    expect(location_ok(&draft.model_location), "model_location".into());
    let Some(info) = &draft.model_information else {
        expect(false, "model_information".into());
        return violated;
    };
    match &info.metadata {
        None => expect(false, "model_information.metadata".into()),
        Some(metadata) => {
            expect(
                required_ok(&metadata.author, 255),
                "model_information.metadata.author".into(),
            );
            expect(
                bounded_ok(&metadata.owner, 255),
                "model_information.metadata.owner".into(),
            );
        }
    }
    for (name, types) in [
        ("input_data_type", &info.input_data_type),
        ("output_data_type", &info.output_data_type),
    ] {
        let field = format!("model_information.{name}");
        if types.is_empty() || types.len() > 100 {
            expect(false, field);
        } else {
            for (index, value) in types.iter().enumerate() {
                expect(required_ok(value, 255), format!("{field}[{index}]"));
            }
        }
    }
    let environments = &info.target_environment;
    if environments.len() > 100 {
        expect(false, "model_information.target_environment".into());
    } else {
        for (index, env) in environments.iter().enumerate() {
            let at = format!("model_information.target_environment[{index}]");
            expect(
                required_ok(&env.platform_name, 255),
                format!("{at}.platform_name"),
            );
            expect(
                required_ok(&env.environment_type, 255),
                format!("{at}.environment_type"),
            );
            expect(
                required_ok(&env.dependency_list, 4_096),
                format!("{at}.dependency_list"),
            );
        }
    }
    violated
}

fn violations(err: Error) -> Vec<FieldViolation> {
    match err {
        Error::InvalidArgument(violations) => violations,
        other => panic!("validation failed with {other:?}"),
    }
}

fn resource_paths(violations: &[FieldViolation]) -> Vec<String> {
    violations
        .iter()
        .map(|v| match &v.field {
            FieldPath::Resource(path) => path.clone(),
            FieldPath::Request(path) => panic!("a model's violation outside the model: {path}"),
        })
        .collect()
}

fn request_paths(violations: &[FieldViolation]) -> Vec<String> {
    violations
        .iter()
        .map(|v| match &v.field {
            FieldPath::Request(path) => path.clone(),
            FieldPath::Resource(path) => panic!("a request's violation inside the model: {path}"),
        })
        .collect()
}

/// The value a field path names in a draft, if the draft has it: every violation must name a
/// field that exists in the resource (or the list that is too long or too short).
fn names_a_field(draft: &ModelDraft, path: &str) -> bool {
    let info = draft.model_information.as_ref();
    let indexed = |path: &str, prefix: &str, len: usize| -> Option<bool> {
        let rest = path.strip_prefix(prefix)?.strip_prefix('[')?;
        let (index, rest) = rest.split_once(']')?;
        Some(index.parse::<usize>().is_ok_and(|i| i < len) && rest.is_empty())
    };
    let env_field = |path: &str| -> Option<bool> {
        let rest = path.strip_prefix("model_information.target_environment[")?;
        let (index, rest) = rest.split_once("].")?;
        let len = info?.target_environment.len();
        Some(
            index.parse::<usize>().is_ok_and(|i| i < len)
                && ["platform_name", "environment_type", "dependency_list"].contains(&rest),
        )
    };
    match path {
        "model_id" | "description" | "model_location" | "model_information" => true,
        "model_id.model_name" | "model_id.model_version" => draft.model_id.is_some(),
        "model_information.metadata"
        | "model_information.input_data_type"
        | "model_information.output_data_type"
        | "model_information.target_environment" => info.is_some(),
        "model_information.metadata.author" | "model_information.metadata.owner" => {
            info.is_some_and(|info| info.metadata.is_some())
        }
        _ => info.is_some_and(|info| {
            indexed(
                path,
                "model_information.input_data_type",
                info.input_data_type.len(),
            )
            .or_else(|| {
                indexed(
                    path,
                    "model_information.output_data_type",
                    info.output_data_type.len(),
                )
            })
            .or_else(|| env_field(path))
            .unwrap_or(false)
        }),
    }
}

fn uuid_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        1 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).simple().to_string()),
        1 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).urn().to_string()),
        1 => Just(String::new()),
        2 => text(),
    ]
}

fn names_draft() -> impl Strategy<Value = Option<ModelIdDraft>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(ModelIdDraft::default())),
        3 => model_id_draft().prop_map(Some),
    ]
}

/// The fields `ModelRef::check` violates, by the rules: exactly one way of naming a model.
fn model_ref_oracle(id: &str, names: Option<&ModelIdDraft>, prefix: &str) -> Vec<String> {
    let names = names.filter(|n| !(n.model_name.is_empty() && n.model_version.is_empty()));
    match (id.is_empty(), names) {
        (false, Some(_)) => vec![format!("{prefix}model_id")],
        (false, None) if uuid::Uuid::parse_str(id).is_err() => {
            vec![format!("{prefix}model_registration_id")]
        }
        (false, None) => vec![],
        (true, None) => vec![format!("{prefix}model_registration_id")],
        (true, Some(names)) => [
            ("model_name", &names.model_name),
            ("model_version", &names.model_version),
        ]
        .into_iter()
        .filter(|(_, value)| !identifier_ok(value))
        .map(|(field, _)| format!("{prefix}model_id.{field}"))
        .collect(),
    }
}

fn sha256_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        2 => "[0-9a-fA-F]{64}".prop_map(String::from),
        1 => "[0-9a-fA-F]{63,65}".prop_map(String::from),
        1 => text(),
    ]
}

fn upload_draft() -> impl Strategy<Value = UploadDraft> {
    (
        prop_oneof![Just(String::new()), uuid_text()],
        names_draft(),
        sha256_text(),
        any::<u64>(),
        prop_oneof![Just(String::new()), field()],
        prop_oneof![Just(String::new()), field()],
    )
        .prop_map(
            |(model_registration_id, model_id, sha256, size_bytes, filename, content_type)| {
                UploadDraft {
                    model_registration_id,
                    model_id,
                    sha256,
                    size_bytes,
                    filename,
                    content_type,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_model_is_valid_exactly_when_every_rule_holds(draft in model_draft()) {
        let expected = oracle(&draft);
        match ModelSpec::parse(draft.clone()) {
            Ok(spec) => {
                prop_assert_eq!(expected, Vec::<String>::new());
                prop_assert_eq!(spec.to_draft().model_id, draft.model_id);
            }
            Err(err) => {
                let violations = violations(err);
                let paths = resource_paths(&violations);
                prop_assert_eq!(&paths, &expected);
                for path in &paths {
                    prop_assert!(names_a_field(&draft, path), "{} names no field", path);
                }
                prop_assert!(violations.iter().all(|v| !v.description.is_empty()));
                // The same draft is rejected the same way, word for word.
                let again = violations_of(ModelSpec::parse(draft));
                prop_assert_eq!(again, violations);
            }
        }
    }

    #[test]
    fn a_valid_model_round_trips_through_its_draft(spec in model_spec()) {
        prop_assert_eq!(ModelSpec::parse(spec.to_draft()).unwrap(), spec);
    }

    #[test]
    fn model_refs_name_a_model_exactly_one_way(
        id in uuid_text(),
        names in names_draft(),
        prefix in select(&["", "header."][..]),
    ) {
        let expected = model_ref_oracle(&id, names.as_ref(), prefix);
        match ModelRef::parse(&id, names.as_ref(), None, prefix) {
            Ok(model) => {
                prop_assert!(expected.is_empty(), "accepted, but {:?}", expected);
                match model {
                    ModelRef::Id(parsed) => {
                        prop_assert_eq!(parsed.uuid(), uuid::Uuid::parse_str(&id).unwrap());
                    }
                    ModelRef::NameVersion(name, version) => {
                        let names = names.unwrap();
                        prop_assert_eq!(name.as_str(), names.model_name);
                        prop_assert_eq!(version.as_str(), names.model_version);
                    }
                    ModelRef::NameAlias(..) => prop_assert!(false, "no selector was given"),
                }
            }
            Err(err) => prop_assert_eq!(request_paths(&violations(err)), expected),
        }
    }

    #[test]
    fn upload_headers_follow_their_rules(draft in upload_draft()) {
        let mut expected = model_ref_oracle(
            &draft.model_registration_id,
            draft.model_id.as_ref(),
            "header.",
        );
        let sha = &draft.sha256;
        let digest = sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit());
        if !sha.is_empty() && !digest {
            expected.push("header.sha256".into());
        }
        let filename = &draft.filename;
        if filename.contains('/') || filename.chars().any(char::is_control) || chars(filename) > 255 {
            expected.push("header.filename".into());
        }
        let content_type = &draft.content_type;
        if content_type.chars().any(char::is_control) || chars(content_type) > 255 {
            expected.push("header.content_type".into());
        }
        match UploadSpec::parse(draft.clone()) {
            Ok(spec) => {
                prop_assert!(expected.is_empty(), "accepted, but {:?}", expected);
                prop_assert_eq!(spec.sha256.is_some(), !sha.is_empty());
                if let Some(parsed) = &spec.sha256 {
                    prop_assert_eq!(parsed, &sha.to_ascii_lowercase());
                }
                prop_assert_eq!(spec.size_bytes, Some(draft.size_bytes).filter(|&n| n > 0));
                prop_assert!(!spec.filename.is_empty() && !spec.content_type.is_empty());
            }
            Err(err) => prop_assert_eq!(request_paths(&violations(err)), expected),
        }
    }

    #[test]
    fn downloads_bound_their_version(
        id in uuid_text(),
        names in names_draft(),
        version in prop_oneof![Just(String::new()), text()],
        offset in any::<u64>(),
    ) {
        let mut expected = model_ref_oracle(&id, names.as_ref(), "");
        if !bounded_ok(&version, 64) {
            expected.push("artifact_version".into());
        }
        match DownloadSpec::parse(&id, names.as_ref(), None, version.clone(), offset) {
            Ok(spec) => {
                prop_assert!(expected.is_empty(), "accepted, but {:?}", expected);
                prop_assert_eq!(spec.offset, offset);
                prop_assert_eq!(
                    spec.artifact_version.map(ArtifactVersion::into_string),
                    Some(version).filter(|v| !v.is_empty())
                );
            }
            Err(err) => prop_assert_eq!(request_paths(&violations(err)), expected),
        }
    }

    #[test]
    fn page_sizes_are_defaulted_capped_or_rejected(requested in any::<i32>()) {
        match PageSize::parse(requested) {
            Ok(size) => {
                prop_assert!(requested >= 0);
                let expected = if requested == 0 { 50 } else { requested.min(1000) as u64 };
                prop_assert_eq!(size.get(), expected);
            }
            Err(err) => {
                prop_assert!(requested < 0);
                prop_assert_eq!(request_paths(&violations(err)), ["page_size"]);
            }
        }
    }

    #[test]
    fn list_queries_bound_their_filters(
        name in text(),
        version in text(),
        page_size in prop_oneof![Just(0), 1..2000i32, any::<i32>()],
    ) {
        let mut expected = Vec::new();
        if !bounded_ok(&name, 255) {
            expected.push("model_name");
        }
        if !bounded_ok(&version, 255) {
            expected.push("model_version");
        }
        if page_size < 0 {
            expected.push("page_size");
        }
        let draft = ListQueryDraft {
            model_name: &name,
            model_version: &version,
            page_size,
            ..ListQueryDraft::default()
        };
        match ListQuery::parse(draft, None) {
            Ok(query) => {
                prop_assert!(expected.is_empty(), "accepted, but {:?}", expected);
                prop_assert_eq!(query.model_name, Some(name).filter(|n| !n.is_empty()));
                prop_assert_eq!(query.model_version, Some(version).filter(|v| !v.is_empty()));
            }
            Err(err) => prop_assert_eq!(request_paths(&violations(err)), expected),
        }
    }
}

fn violations_of(result: Result<ModelSpec>) -> Vec<FieldViolation> {
    violations(result.expect_err("rejected before"))
}
