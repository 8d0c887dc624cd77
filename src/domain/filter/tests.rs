//! Fields, operators and values.

use chrono::{DateTime, Utc};

use super::*;

pub(super) fn parse(text: &str) -> Filter {
    match Filter::parse(text) {
        Ok(Some(filter)) => filter,
        other => panic!("{text:?}: {other:?}"),
    }
}

/// Rejected at `position` with a message containing `part`.
pub(super) fn rejects(text: &str, position: usize, part: &str) {
    let error = Filter::parse(text).expect_err(text);
    assert_eq!(error.position, position, "{text:?}: {error}");
    assert!(error.message.contains(part), "{text:?}: {error}");
    assert!(error.message.chars().count() <= 450, "{text:?}: {error}");
}

/// Parsed, printed as `printed`, and read back as the same tree.
pub(super) fn canonical(text: &str, printed: &str) -> Filter {
    let filter = parse(text);
    assert_eq!(filter.to_string(), printed, "{text:?}");
    assert_eq!(parse(printed), filter, "{printed:?}");
    filter
}

pub(super) fn compare(c: Comparator, text: &str) -> TextMatch {
    TextMatch::Compare(c, text.into())
}

pub(super) fn pattern(
    negated: bool,
    any_before: bool,
    literal: &str,
    any_after: bool,
) -> TextMatch {
    TextMatch::Pattern(Pattern {
        negated,
        any_before,
        literal: literal.into(),
        any_after,
    })
}

pub(super) fn name(text: &str) -> Filter {
    Filter::Text(TextField::ModelName, compare(Comparator::Eq, text))
}

fn platform(m: TextMatch) -> EnvironmentFilter {
    EnvironmentFilter::Field(EnvironmentField::PlatformName, m)
}

#[test]
fn empty_filters_match_everything() {
    assert_eq!(Filter::parse(""), Ok(None));
    assert_eq!(Filter::parse(" \t\n\u{3000}"), Ok(None));
}

#[test]
fn text_fields_take_their_operators() {
    use Comparator::*;
    for field in TextField::ALL {
        let path = field.path();
        let eq = canonical(&format!("{path}=qoe"), &format!("{path} = \"qoe\""));
        assert_eq!(eq, Filter::Text(field, compare(Eq, "qoe")));
        assert_eq!(
            parse(&format!("{path} != \"x\"")),
            Filter::Text(field, compare(Ne, "x"))
        );
        for (op, c) in [("<", Lt), ("<=", Le), (">", Gt), (">=", Ge)] {
            let text = format!("{path} {op} \"1.0\"");
            if field.is_ordered() {
                assert_eq!(
                    canonical(&text, &text),
                    Filter::Text(field, compare(c, "1.0"))
                );
            } else {
                rejects(&text, path.len() + 2, "supported: =, !=");
            }
        }
        rejects(&format!("{path}:x"), path.len() + 1, "is not supported");
    }
    assert_eq!(parse("model_id.model_version = 1.0-rc"), {
        Filter::Text(TextField::ModelVersion, compare(Comparator::Eq, "1.0-rc"))
    });
}

#[test]
fn times_are_rfc_3339() {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let f = canonical(
        "create_time >= \"2026-01-31T14:00:00.5+02:00\"",
        "create_time >= \"2026-01-31T12:00:00.500Z\"",
    );
    assert_eq!(
        f,
        Filter::Time(
            TimeField::CreateTime,
            Comparator::Ge,
            at("2026-01-31T12:00:00.5Z")
        )
    );
    for op in ["=", "!=", "<", "<=", ">", ">="] {
        let text = format!("update_time {op} \"2026-01-31T12:00:00Z\"");
        assert!(matches!(
            parse(&text),
            Filter::Time(TimeField::UpdateTime, _, _)
        ));
    }
    rejects(
        "create_time > \"2026-01-31\"",
        15,
        "expected an RFC 3339 time such as",
    );
    rejects("create_time > \"2026-01-31T12:00:00*\"", 15, "RFC 3339");
    rejects(
        "create_time > 2026-01-31T12:00:00Z",
        15,
        "found \"2026-01-31T12\"",
    );
    rejects(
        "create_time:\"2026-01-31T12:00:00Z\"",
        12,
        "supported: =, !=, <, <=, >, >=",
    );
}

#[test]
fn data_types_aliases_and_labels() {
    let input = canonical(
        "model_information.input_data_type : \"a\\*b\"",
        "model_information.input_data_type:\"a\\*b\"",
    );
    assert_eq!(input, Filter::DataType(DataTypeField::Input, "a*b".into()));
    let output = parse("model_information.output_data_type:tensor");
    assert_eq!(
        output,
        Filter::DataType(DataTypeField::Output, "tensor".into())
    );
    rejects(
        "model_information.input_data_type:\"f*\"",
        37,
        "takes no wildcards",
    );
    rejects("model_information.input_data_type = x", 35, "supported: :");
    assert_eq!(
        canonical("aliases:prod", "aliases:\"prod\""),
        Filter::Alias("prod".into())
    );
    rejects("aliases = prod", 9, "supported: :");
    rejects("aliases:*", 9, "takes no wildcards");

    let present = |key: &str| Filter::Label {
        key: key.into(),
        value: None,
    };
    let key = "app.kubernetes.io/name-x_1";
    assert_eq!(
        canonical(&format!("labels.{key}:*"), &format!("labels.{key}:*")),
        present(key)
    );
    assert_eq!(parse("labels:\"team\""), present("team"));
    assert_eq!(canonical("labels:team", "labels.team:*"), present("team"));
    let valued = |m| Filter::Label {
        key: "team".into(),
        value: Some(m),
    };
    assert_eq!(
        parse("labels.team = ran"),
        valued(compare(Comparator::Eq, "ran"))
    );
    assert_eq!(
        parse("labels.team != \"r*\""),
        valued(pattern(true, false, "r", true))
    );
    rejects("labels.team < x", 13, "supported: =, !=, :");
    rejects("labels.team:x", 13, "expected * after \"labels.team\":");
    rejects("labels. = x", 8, "expected a label key");
    rejects("labels.te%m:*", 10, "label key \"te%m\" may hold only");
    rejects("labels:\"a\\u{e9}\"", 10, "may hold only");
    rejects("labels:\"\"", 8, "expected a label key");
    rejects("labels = x", 8, "supported: :");
    let long = format!("labels.{} x", "k".repeat(1900));
    rejects(
        &long,
        1909,
        "expected an operator (=, !=, :) after \"labels.kkk",
    );
}

#[test]
fn target_environments() {
    use EnvironmentField::*;
    for field in EnvironmentField::ALL {
        let path = field.path();
        let single = canonical(&format!("{path}:k*"), &format!("{path} = \"k*\""));
        assert_eq!(
            single,
            Filter::Environment(EnvironmentFilter::Field(
                field,
                pattern(false, false, "k", true)
            ))
        );
        let grouped = parse(&format!(
            "model_information.target_environment({}=k*)",
            field.name()
        ));
        assert_eq!(grouped, single);
        rejects(
            &format!("{path} >= k"),
            path.len() + 2,
            "supported: =, !=, :",
        );
    }
    let f = canonical(
        "model_information.target_environment (platform_name:kserve AND (environment_type=prod \
         OR -dependency_list = \"*cuda*\"))",
        "model_information.target_environment(platform_name = \"kserve\" AND \
         (environment_type = \"prod\" OR NOT dependency_list = \"*cuda*\"))",
    );
    let negated = EnvironmentFilter::Not(Box::new(EnvironmentFilter::Field(
        DependencyList,
        pattern(false, true, "cuda", true),
    )));
    let either = EnvironmentFilter::Any(vec![
        EnvironmentFilter::Field(EnvironmentType, compare(Comparator::Eq, "prod")),
        negated,
    ]);
    let kserve = platform(compare(Comparator::Eq, "kserve"));
    assert_eq!(
        f,
        Filter::Environment(EnvironmentFilter::All(vec![kserve, either]))
    );
    let not = "model_information.target_environment(NOT platform_name = \"x\")";
    assert!(matches!(
        canonical(not, not),
        Filter::Environment(EnvironmentFilter::Not(_))
    ));

    rejects(
        "model_information.target_environment()",
        38,
        "empty model_information",
    );
    rejects("model_information.target_environment( )", 39, "empty");
    rejects(
        "model_information.target_environment(platform = x)",
        38,
        "known fields: platform_name",
    );
    let nested = "model_information.target_environment(model_information.target_environment(a=b))";
    rejects(nested, 38, "inside model_information.target_environment");
    rejects(
        "model_information.target_environment(platform_name = x",
        55,
        "to close the \"(\" at character 37",
    );
    rejects(
        "model_information.target_environment = x",
        1,
        "unknown field",
    );
}
