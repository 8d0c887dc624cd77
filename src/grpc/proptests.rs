//! Properties of the gRPC front-end's own logic: field masks (which fields a mask replaces, and
//! nothing else), page tokens (round trips, binding to filters, garbage), and the size of error
//! answers for any list of violations.

use std::collections::HashMap;

use chrono::DateTime;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::LazyJust;
use prost_types::FieldMask;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::{convert, update_mask};
use crate::domain::{
    ArtifactCursor, AuthFailure, Error, FieldPath, FieldViolation, ModelCursor, ModelDraft,
    ModelSpec, Patch, RegistrationId, Role, StreamFailure, limits, page_token,
};
use crate::pb;

/// Characters that are awkward to carry: controls, white space, quotes, escapes, characters of
/// two to four bytes, and the ones a percent-encoding or JSON escapes.
const AWKWARD: &[char] = &[
    'a',
    'Z',
    '0',
    '.',
    ' ',
    '\t',
    '\n',
    '\0',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{2028}',
    '"',
    '\\',
    '%',
    '{',
    '}',
    '<',
    'é',
    '模',
    '😀',
    '\u{10ffff}',
];

fn awkward_char() -> impl Strategy<Value = char> {
    prop_oneof![3 => select(AWKWARD), 1 => any::<char>()]
}

/// Short awkward text, or `len` times one awkward character for a length from `lengths`.
fn text(lengths: &'static [usize]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => vec(awkward_char(), 0..12).prop_map(String::from_iter),
        1 => (select(lengths), awkward_char())
            .prop_map(|(len, c)| std::iter::repeat_n(c, len).collect()),
    ]
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9 ]{0,6}[a-z0-9]".prop_map(String::from)
}

fn maybe_word() -> impl Strategy<Value = String> {
    prop_oneof![1 => Just(String::new()), 3 => word()]
}

// Models: a stored one, and the resource of an update request.

fn environment(
    part: fn() -> BoxedStrategy<String>,
) -> impl Strategy<Value = pb::TargetEnvironment> {
    (part(), part(), part()).prop_map(|(platform_name, environment_type, dependency_list)| {
        pb::TargetEnvironment {
            platform_name,
            environment_type,
            dependency_list,
        }
    })
}

fn boxed_word() -> BoxedStrategy<String> {
    word().boxed()
}

fn boxed_maybe_word() -> BoxedStrategy<String> {
    maybe_word().boxed()
}

/// A registered model: always valid.
fn stored() -> impl Strategy<Value = ModelSpec> {
    (
        (word(), word(), word()),
        prop_oneof![Just(String::new()), Just("s3://models/m.zip".to_owned())],
        (word(), maybe_word()),
        (
            vec(word(), 1..3),
            vec(word(), 1..3),
            vec(environment(boxed_word), 0..3),
        ),
    )
        .prop_map(
            |((name, version, description), location, (author, owner), (inputs, outputs, envs))| {
                let resource = pb::ModelRelatedInformation {
                    model_id: Some(pb::ModelId {
                        model_name: name,
                        model_version: version,
                        artifact_version: String::new(),
                    }),
                    description,
                    model_location: location,
                    model_information: Some(pb::ModelInformation {
                        metadata: Some(pb::Metadata { author, owner }),
                        input_data_type: inputs,
                        output_data_type: outputs,
                        target_environment: envs,
                    }),
                    ..Default::default()
                };
                ModelSpec::parse(convert::model_draft(resource)).expect("a valid model")
            },
        )
}

/// The resource of an update: any part present or not, values often empty.
fn resource() -> impl Strategy<Value = pb::ModelRelatedInformation> {
    let information = (
        prop::option::of(
            (maybe_word(), maybe_word()).prop_map(|(author, owner)| pb::Metadata { author, owner }),
        ),
        vec(word(), 0..3),
        vec(word(), 0..3),
        vec(environment(boxed_maybe_word), 0..3),
    )
        .prop_map(|(metadata, inputs, outputs, envs)| pb::ModelInformation {
            metadata,
            input_data_type: inputs,
            output_data_type: outputs,
            target_environment: envs,
        });
    (
        maybe_word(),
        prop_oneof![
            Just(String::new()),
            Just("s3://models/new.zip".to_owned()),
            Just("not a uri".to_owned())
        ],
        prop::option::of(information),
        maybe_word(),
    )
        .prop_map(|(description, model_location, model_information, etag)| {
            pb::ModelRelatedInformation {
                description,
                model_location,
                model_information,
                etag,
                ..Default::default()
            }
        })
}

/// `resource` naming the stored model, in one of the ways a client may: not at all, by its
/// stored name and version, or by empty ones.
fn naming_stored(resource: &mut pb::ModelRelatedInformation, stored: &ModelSpec, way: u8) {
    resource.model_id = match way % 3 {
        0 => None,
        1 => Some(pb::ModelId {
            model_name: stored.name.as_str().to_owned(),
            model_version: stored.version.as_str().to_owned(),
            artifact_version: "9.9.9".into(),
        }),
        _ => Some(pb::ModelId::default()),
    };
}

const KNOWN: [&str; 10] = [
    "*",
    "description",
    "model_location",
    "model_information",
    "model_information.metadata",
    "model_information.metadata.author",
    "model_information.metadata.owner",
    "model_information.input_data_type",
    "model_information.output_data_type",
    "model_information.target_environment",
];

const FORBIDDEN: [&str; 8] = [
    "model_id",
    "model_id.model_name",
    "model_id.model_version",
    "model_id.artifact_version",
    "model_registration_id",
    "create_time",
    "update_time",
    "etag",
];

const NEAR_MISSES: [&str; 8] = [
    "",
    "Description",
    "description ",
    "model_information.",
    "model_information.metadata.author.name",
    "modelInformation",
    "model_information.target_environment[0]",
    "**",
];

fn known_mask() -> impl Strategy<Value = Vec<String>> {
    vec(select(&KNOWN[..]).prop_map(String::from), 1..5)
}

fn any_path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(&KNOWN[..]).prop_map(String::from),
        2 => select(&FORBIDDEN[..]).prop_map(String::from),
        2 => select(&NEAR_MISSES[..]).prop_map(String::from),
        1 => text(&[127, 128, 129, 100_000]),
        1 => select(&KNOWN[..]).prop_map(|path| format!("{path}{}", " ".repeat(128))),
    ]
}

fn mask(paths: &[String]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.to_vec(),
    })
}

/// The leaf fields of a model, read through absent parents as empty values.
fn leaves(draft: &ModelDraft) -> HashMap<&'static str, String> {
    let info = draft.model_information.clone().unwrap_or_default();
    let metadata = info.metadata.clone().unwrap_or_default();
    HashMap::from([
        ("description", draft.description.clone()),
        ("model_location", draft.model_location.clone()),
        ("model_information.metadata.author", metadata.author),
        ("model_information.metadata.owner", metadata.owner),
        (
            "model_information.input_data_type",
            format!("{:?}", info.input_data_type),
        ),
        (
            "model_information.output_data_type",
            format!("{:?}", info.output_data_type),
        ),
        (
            "model_information.target_environment",
            format!("{:?}", info.target_environment),
        ),
    ])
}

/// Whether the inner messages of a model are present.
fn presence(draft: &ModelDraft) -> HashMap<&'static str, bool> {
    let info = draft.model_information.as_ref();
    HashMap::from([
        ("model_information", info.is_some()),
        (
            "model_information.metadata",
            info.is_some_and(|info| info.metadata.is_some()),
        ),
    ])
}

/// `path` or a field inside it.
fn within(field: &str, path: &str) -> bool {
    path == "*" || field == path || field.starts_with(&format!("{path}."))
}

fn invalid(err: Error) -> Vec<FieldViolation> {
    match err {
        Error::InvalidArgument(violations) => violations,
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

fn described(result: Result<ModelDraft, Error>) -> Result<ModelDraft, String> {
    result.map_err(|err| format!("{err:?}"))
}

fn requests(violations: &[FieldViolation]) -> Vec<&str> {
    violations
        .iter()
        .filter_map(|v| match &v.field {
            FieldPath::Request(path) => Some(path.as_str()),
            FieldPath::Resource(_) => None,
        })
        .collect()
}

fn resources(violations: &[FieldViolation]) -> Vec<&str> {
    violations
        .iter()
        .filter_map(|v| match &v.field {
            FieldPath::Resource(path) => Some(path.as_str()),
            FieldPath::Request(_) => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn an_empty_patch_is_the_identity(current in stored()) {
        prop_assert_eq!(Patch::default().draft_from(&current).unwrap(), current.to_draft());
        prop_assert_eq!(Patch::default().apply_to(&current).unwrap(), current.clone());
        // An update that populates nothing, without a mask, is an empty patch too.
        let nothing = update_mask::patch(pb::ModelRelatedInformation::default(), None);
        prop_assert_eq!(nothing.apply_to(&current).unwrap(), current);
    }

    #[test]
    fn a_mask_replaces_its_fields_and_nothing_else(
        current in stored(),
        mut resource in resource(),
        way in any::<u8>(),
        paths in known_mask(),
    ) {
        naming_stored(&mut resource, &current, way);
        let requested = convert::model_draft(resource.clone());
        let draft = update_mask::patch(resource, mask(&paths)).draft_from(&current).unwrap();
        let before = current.to_draft();
        prop_assert_eq!(&draft.model_id, &before.model_id, "identity never changes");
        let (after, old, new) = (leaves(&draft), leaves(&before), leaves(&requested));
        for (field, value) in &after {
            let expected = if paths.iter().any(|path| within(field, path)) {
                &new[field]
            } else {
                &old[field]
            };
            prop_assert_eq!(value, expected, "{} under {:?}", field, paths);
        }
        let (after, old) = (presence(&draft), presence(&before));
        for (node, present) in after {
            let touched = paths
                .iter()
                .any(|path| within(node, path) || path.starts_with(&format!("{node}.")));
            if !touched {
                prop_assert_eq!(present, old[node], "{} under {:?}", node, paths);
            }
        }
    }

    #[test]
    fn applying_a_patch_twice_equals_once(
        current in stored(),
        mut resource in resource(),
        way in any::<u8>(),
        paths in prop_oneof![Just(Vec::new()), known_mask()],
    ) {
        naming_stored(&mut resource, &current, way);
        let patch = update_mask::patch(resource, mask(&paths));
        match patch.clone().apply_to(&current) {
            Ok(once) => prop_assert_eq!(patch.apply_to(&once).unwrap(), once),
            Err(first) => {
                // Rejected the same way each time.
                let again = patch.apply_to(&current).unwrap_err();
                prop_assert_eq!(invalid(again), invalid(first));
            }
        }
    }

    #[test]
    fn star_is_the_three_top_level_paths(
        current in stored(),
        mut resource in resource(),
        way in any::<u8>(),
    ) {
        naming_stored(&mut resource, &current, way);
        let star = update_mask::patch(resource.clone(), mask(&["*".into()]));
        let three = ["description", "model_location", "model_information"].map(String::from);
        let three = update_mask::patch(resource, mask(&three));
        prop_assert_eq!(described(star.draft_from(&current)), described(three.draft_from(&current)));
    }

    #[test]
    fn renames_are_always_reported(
        current in stored(),
        mut resource in resource(),
        name in prop_oneof![Just(String::new()), word()],
        version in prop_oneof![Just(String::new()), word()],
        paths in prop_oneof![Just(Vec::new()), known_mask()],
    ) {
        resource.model_id = Some(pb::ModelId {
            model_name: name.clone(),
            model_version: version.clone(),
            artifact_version: String::new(),
        });
        let mut expected = Vec::new();
        if !name.is_empty() && name != current.name.as_str() {
            expected.push("model_id.model_name");
        }
        if !version.is_empty() && version != current.version.as_str() {
            expected.push("model_id.model_version");
        }
        let patch = update_mask::patch(resource, mask(&paths));
        match patch.clone().draft_from(&current) {
            Ok(_) => prop_assert!(expected.is_empty(), "{:?} not reported", expected),
            Err(err) => {
                let violations = invalid(err);
                prop_assert_eq!(resources(&violations), expected);
                // Nothing is applied: the whole update is refused.
                prop_assert!(patch.apply_to(&current).is_err());
            }
        }
    }

    #[test]
    fn unknown_paths_are_rejected_by_index(
        current in stored(),
        mut resource in resource(),
        way in any::<u8>(),
        paths in prop_oneof![8 => vec(any_path(), 1..8), 1 => vec(any_path(), 30..40)],
    ) {
        naming_stored(&mut resource, &current, way);
        let expected: Vec<String> = if paths.len() > limits::MASK_PATHS {
            vec!["update_mask.paths".into()]
        } else {
            paths
                .iter()
                .enumerate()
                .filter(|(_, path)| !KNOWN.contains(&path.as_str()))
                .map(|(index, _)| format!("update_mask.paths[{index}]"))
                .collect()
        };
        let patch = update_mask::patch(resource, mask(&paths));
        let reported: Vec<String> = patch
            .rejected
            .iter()
            .map(|v| match &v.field {
                FieldPath::Request(path) => path.clone(),
                FieldPath::Resource(path) => panic!("a mask path reported in the resource: {path}"),
            })
            .collect();
        prop_assert_eq!(&reported, &expected);
        for violation in &patch.rejected {
            // The path is echoed, cut to 64 characters (each escaped in at most 10 bytes).
            prop_assert!(violation.description.len() < 800, "{}", violation.description);
        }
        if !expected.is_empty() {
            prop_assert!(patch.clone().draft_from(&current).is_err());
            let violations = invalid(patch.apply_to(&current).unwrap_err());
            prop_assert_eq!(requests(&violations), expected.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}

// Page tokens.

/// Filters and names of up to 255 characters (the longest a request may filter by), any
/// characters, many of them escaped in JSON or longer than a byte.
fn name_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => vec(awkward_char(), 0..12).prop_map(String::from_iter),
        2 => (select(&[254, 255][..]), awkward_char())
            .prop_map(|(len, c)| std::iter::repeat_n(c, len).collect()),
    ]
}

/// The position of a model: its name and version hold no control characters.
fn cursor() -> impl Strategy<Value = ModelCursor> {
    let name = || name_text().prop_map(|name| name.replace(char::is_control, "x"));
    let time = || {
        (-62_135_596_800i64..253_402_300_799, 0u32..1_000_000)
            .prop_map(|(seconds, micros)| DateTime::from_timestamp(seconds, micros * 1000).unwrap())
    };
    (name(), name(), time(), time()).prop_map(
        |(model_name, model_version, create_time, update_time)| ModelCursor {
            model_name,
            model_version,
            create_time,
            update_time,
        },
    )
}

fn rejected_token(result: crate::domain::Result<impl std::fmt::Debug>) -> Result<(), String> {
    match result {
        Err(Error::InvalidArgument(violations))
            if violations.len() == 1
                && violations[0].field == FieldPath::Request("page_token".into()) =>
        {
            Ok(())
        }
        other => Err(format!("not rejected as a bad page_token: {other:?}")),
    }
}

fn garbage() -> impl Strategy<Value = String> {
    prop_oneof![
        text(&[1, 100, 4_096, 20_000]),
        "[A-Za-z0-9_-]{0,200}".prop_map(String::from),
        vec(any::<u8>(), 0..300).prop_map(|bytes| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        }),
        select(&["e30", "bnVsbA", "W10", "eyJuYW1lIjoxfQ", "%%%", "="][..]).prop_map(String::from),
    ]
}

/// One server's page-token key for the whole run.
fn key() -> page_token::PageTokenKey {
    static KEY: std::sync::OnceLock<page_token::PageTokenKey> = std::sync::OnceLock::new();
    KEY.get_or_init(page_token::PageTokenKey::generate).clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn model_tokens_round_trip(name in name_text(), version in name_text(), after in cursor()) {
        let request = format!("{name}{version}");
        let token = page_token::encode(&key(), &request, after.clone());
        prop_assert_eq!(page_token::decode(&key(), &token, &request).unwrap(), after);
    }

    #[test]
    fn model_tokens_are_bound_to_their_request(
        request in name_text(),
        other in name_text(),
        after in cursor(),
    ) {
        let token = page_token::encode(&key(), &request, after);
        if other != request {
            prop_assert_eq!(rejected_token(page_token::decode(&key(), &token, &other)), Ok(()));
        }
        prop_assert_eq!(rejected_token(page_token::decode_artifacts(&key(), &token)), Ok(()));
    }

    #[test]
    fn positions_with_control_characters_are_not_tokens_of_this_service(
        after in cursor(),
        control in prop_oneof![0u8..0x20, 0x7fu8..0xa0].prop_map(char::from),
        at_version in any::<bool>(),
    ) {
        let mut after = after;
        let name = if at_version { &mut after.model_version } else { &mut after.model_name };
        name.push(control);
        let token = page_token::encode(&key(), "", after);
        prop_assert_eq!(rejected_token(page_token::decode(&key(), &token, "")), Ok(()));
    }

    #[test]
    fn artifact_tokens_round_trip(id in any::<u128>(), before in any::<i64>()) {
        let cursor = ArtifactCursor {
            model: RegistrationId::from_uuid(uuid::Uuid::from_u128(id)),
            before_sequence: before,
        };
        let token = page_token::encode_artifacts(&key(), cursor);
        prop_assert_eq!(page_token::decode_artifacts(&key(), &token).unwrap(), cursor);
        prop_assert_eq!(rejected_token(page_token::decode(&key(), &token, "")), Ok(()));
    }

    #[test]
    fn garbage_tokens_are_invalid_arguments(token in garbage()) {
        prop_assert_eq!(rejected_token(page_token::decode(&key(), &token, "")), Ok(()));
        prop_assert_eq!(rejected_token(page_token::decode_artifacts(&key(), &token)), Ok(()));
    }

    #[test]
    fn over_long_tokens_are_rejected(after in cursor(), fill in "[A-Za-z0-9_-]") {
        let mut token = page_token::encode(&key(), "", after);
        while token.len() <= limits::PAGE_TOKEN_CHARS {
            token.push_str(&fill);
        }
        prop_assert_eq!(rejected_token(page_token::decode(&key(), &token, "")), Ok(()));
        prop_assert_eq!(rejected_token(page_token::decode_artifacts(&key(), &token)), Ok(()));
    }
}

// Error answers.

fn violation() -> impl Strategy<Value = FieldViolation> {
    (
        any::<bool>(),
        text(&[0, 30, 300]),
        text(&[0, 64, 700, 3_000]),
    )
        .prop_map(|(resource, field, description)| {
            if resource {
                FieldViolation::resource(field, description)
            } else {
                FieldViolation::request(field, description)
            }
        })
}

/// The size of a header list as HTTP/2 counts it (RFC 9113 §6.5.2): names, values and 32
/// bytes for each field.
fn header_list_size(headers: &tonic::codegen::http::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn error_answers_stay_small_and_count_every_violation(
        violations in prop_oneof![
            8 => vec(violation(), 1..30),
            1 => vec(violation(), 100..400),
        ],
    ) {
        let total = violations.len();
        let fields: Vec<String> = violations
            .iter()
            .map(|v| match &v.field {
                FieldPath::Resource(path) => format!("model_related_information.{path}"),
                FieldPath::Request(path) => path.clone(),
            })
            .collect();
        let status = Status::from(Error::InvalidArgument(violations));
        prop_assert_eq!(status.code(), Code::InvalidArgument);
        prop_assert!(status.message().len() < 2 * 1024, "message of {} bytes", status.message().len());
        prop_assert!(status.details().len() < 6 * 1024, "details of {} bytes", status.details().len());

        let details = status.get_error_details();
        let info = details.error_info().expect("an ErrorInfo");
        prop_assert_eq!(&info.reason, "INVALID_ARGUMENT");
        prop_assert_eq!(&info.metadata["violations"], &total.to_string());
        let listed: Vec<String> = details
            .bad_request()
            .map(|bad| bad.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default();
        prop_assert!(listed.len() <= 20);
        prop_assert_eq!(&listed[..], &fields[..listed.len()], "the first violations, in order");

        // The message summarizes the first violations and counts the others.
        let message = status.message();
        let parts: Vec<String> = details
            .bad_request()
            .map(|bad| {
                bad.field_violations
                    .iter()
                    .take(3)
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect()
            })
            .unwrap_or_default();
        let summarized = (1..=parts.len())
            .rev()
            .find(|&k| {
                let prefix = format!("invalid request: {}", parts[..k].join("; "));
                message == prefix || message.starts_with(&format!("{prefix}; and "))
            })
            .unwrap_or(0);
        if summarized == 0 {
            prop_assert!(message.starts_with(&format!("invalid request: {total} violation")), "{:?}", message);
        } else if summarized < total {
            prop_assert!(message.contains(&format!("; and {} more", total - summarized)), "{:?}", message);
        }

        // As it travels: grpc-message percent-encoded, grpc-status-details-bin in base64.
        let answer = status.into_http::<()>();
        let size = header_list_size(answer.headers());
        prop_assert!(size < 7 * 1024 + 512, "answer metadata of {} bytes", size);
    }
}

/// Every kind of error, with texts as long as requests may make them: names of 255
/// characters, an etag of 128, an artifact version of 64.
fn any_error() -> impl Strategy<Value = Error> {
    let id = || any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string());
    let name = || text(&[64, 65, 255]);
    let cause = || "a cause".into();
    prop_oneof![
        id().prop_map(|id| Error::RegistrationNotFound { id }),
        (name(), name())
            .prop_map(|(name, version)| Error::ModelAlreadyRegistered { name, version }),
        (id(), text(&[128])).prop_map(|(id, given)| Error::EtagMismatch { id, given }),
        (name(), name()).prop_map(|(name, version)| Error::ModelNotFound { name, version }),
        (id(), prop::option::of(text(&[64])))
            .prop_map(|(id, version)| Error::ArtifactNotFound { id, version }),
        any::<u64>().prop_map(|limit| Error::ArtifactTooLarge { limit }),
        (any::<u64>(), any::<u64>())
            .prop_map(|(offset, size)| Error::OffsetOutOfRange { offset, size }),
        (
            select(
                &[
                    StreamFailure::Cancelled,
                    StreamFailure::MessageTooLarge,
                    StreamFailure::Malformed
                ][..]
            ),
            text(&[300]),
        )
            .prop_map(|(failure, message)| Error::UploadStream { failure, message }),
        text(&[255]).prop_map(|key| Error::ArtifactDataLoss { key }),
        LazyJust::new(move || Error::ArtifactStoreUnavailable(cause())),
        LazyJust::new(move || Error::ArtifactStoreMisconfigured(cause())),
        LazyJust::new(move || Error::Contention(cause())),
        LazyJust::new(move || Error::DatabaseUnavailable(cause())),
        LazyJust::new(move || Error::Internal(cause())),
        select(
            &[
                AuthFailure::Missing,
                AuthFailure::Invalid,
                AuthFailure::Expired,
                AuthFailure::WrongAudience,
                AuthFailure::WrongIssuer
            ][..]
        )
        .prop_map(Error::Unauthenticated),
        LazyJust::new(move || Error::AuthenticationUnavailable(cause())),
        (
            text(&[4096]),
            select(&Role::ALL[..]),
            select(&Role::ALL[..])
        )
            .prop_map(|(principal, role, needed)| Error::RoleTooLow {
                principal,
                role,
                needed
            }),
        (text(&[4096]), name()).prop_map(|(principal, model_name)| Error::OutOfScope {
            principal,
            model_name
        }),
        text(&[4096]).prop_map(|principal| Error::UnknownConsumer { principal }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_error_answer_stays_small(err in any_error()) {
        let reason = err.reason();
        let status = Status::from(err);
        prop_assert_ne!(status.code(), Code::Unknown);
        prop_assert!(status.message().len() < 2 * 1024, "message of {} bytes", status.message().len());
        prop_assert!(status.details().len() < 6 * 1024, "details of {} bytes", status.details().len());
        let details = status.get_error_details();
        prop_assert_eq!(&details.error_info().expect("an ErrorInfo").reason, reason);
        let size = header_list_size(status.into_http::<()>().headers());
        prop_assert!(size < 7 * 1024 + 512, "answer metadata of {} bytes", size);
    }
}
