//! Structure, errors and limits of filters; order_by.

use super::tests::{canonical, compare, name, parse, pattern, rejects};
use super::*;

#[test]
fn or_binds_tighter_than_and() {
    let [a, b, c] = [name("a"), name("b"), name("c")];
    let any_bc = Filter::Any(vec![b.clone(), c.clone()]);
    let text = "model_id.model_name = \"a\" AND model_id.model_name = \"b\" OR model_id.model_name = \"c\"";
    let printed = "model_id.model_name = \"a\" AND (model_id.model_name = \"b\" OR model_id.model_name = \"c\")";
    assert_eq!(
        canonical(text, printed),
        Filter::All(vec![a.clone(), any_bc.clone()])
    );
    let n = |x: &str| format!("model_id.model_name={x}");
    let (na, nb, nc) = (n("a"), n("b"), n("c"));
    assert_eq!(parse(&format!("{na} OR {nb} AND {nc}")), {
        Filter::All(vec![Filter::Any(vec![a.clone(), b.clone()]), c.clone()])
    });
    let chain = Filter::All(vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(parse(&format!("{na} AND {nb} AND {nc}")), chain);
    assert_eq!(parse(&format!("{na} {nb}\n{nc}")), chain, "implicit AND");
    assert_eq!(parse(&format!("{na} {nb} AND {nc}")), chain);
    let three = Filter::Any(vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(parse(&format!("{na} OR {nb} OR {nc}")), three);
    let ab = Filter::All(vec![a.clone(), b.clone()]);
    assert_eq!(
        parse(&format!("({na} AND {nb}) AND {nc}")),
        Filter::All(vec![ab.clone(), c.clone()])
    );
    assert_eq!(parse(&format!("(({na} AND {nb}))")), ab);
    assert_eq!(parse(&format!("(({na}))")), a);
    assert_eq!(
        parse(&format!("({na}) OR ({nb} OR {nc})")),
        Filter::Any(vec![a.clone(), any_bc])
    );
}

#[test]
fn negation() {
    let not = |f: Filter| Filter::Not(Box::new(f));
    let a = name("a");
    for text in [
        "NOT model_id.model_name=a",
        "-model_id.model_name=a",
        "- model_id.model_name = a",
    ] {
        assert_eq!(parse(text), not(a.clone()), "{text}");
    }
    let twice = canonical(
        "NOT -model_id.model_name=a",
        "NOT NOT model_id.model_name = \"a\"",
    );
    assert_eq!(twice, not(not(a.clone())));
    let any = Filter::Any(vec![a.clone(), name("b")]);
    let text = "-(model_id.model_name=a OR model_id.model_name=b)";
    let printed = "NOT (model_id.model_name = \"a\" OR model_id.model_name = \"b\")";
    assert_eq!(canonical(text, printed), not(any));
    assert_eq!(
        parse("model_id.model_name = -1"),
        name("-1"),
        "a value is not negated"
    );
    rejects(
        "NOT",
        4,
        "expected a comparison, NOT or \"(\", found end of filter",
    );
    rejects("-", 2, "found end of filter");
}

#[test]
fn escapes() {
    let text = r#"description = "q\"b\\s\*\n\t\r\u{1F600}\u{e9}é""#;
    let f = canonical(text, r#"description = "q\"b\\s\*\n\t\r😀éé""#);
    assert_eq!(
        f,
        Filter::Text(
            TextField::Description,
            compare(Comparator::Eq, "q\"b\\s*\n\t\r😀éé")
        )
    );
    let invisible = "description = \"\u{7}a\u{202e}b\u{a0}c d\"";
    let printed = r#"description = "\u{7}a\u{202e}b\u{a0}c d""#;
    assert_eq!(canonical(invisible, printed), canonical(printed, printed));
    rejects(r#"description = "a\x""#, 17, r#"invalid escape "\\x""#);
    rejects(r#"description = "\u{}""#, 16, "1 to 6 hex digits");
    rejects(r#"description = "\u{1234567}""#, 16, "1 to 6 hex digits");
    rejects(r#"description = "\u41""#, 16, "1 to 6 hex digits");
    rejects(
        r#"description = "\u{D800}""#,
        16,
        "not a Unicode scalar value",
    );
    rejects(r#"description = "\u{0}""#, 16, "NUL");
    rejects("description = \"a\0\"", 17, "NUL");
    rejects("description = a\0", 16, "NUL");
    rejects("description = \"abc", 15, "unterminated string");
    rejects("description = \"abc\\", 15, "unterminated string");
}

#[test]
fn wildcards() {
    let cases = [
        ("= \"qoe*\"", pattern(false, false, "qoe", true)),
        ("= *qoe", pattern(false, true, "qoe", false)),
        ("!= \"*q\\*e*\"", pattern(true, true, "q*e", true)),
        ("= \"*\"", pattern(false, true, "", false)),
        ("= **", pattern(false, true, "", false)),
        ("!= *", pattern(true, true, "", false)),
        ("= \"\\*\"", compare(Comparator::Eq, "*")),
    ];
    for (rest, expected) in cases {
        let f = parse(&format!("model_id.model_name {rest}"));
        assert_eq!(f, Filter::Text(TextField::ModelName, expected), "{rest}");
        assert_eq!(parse(&f.to_string()), f);
    }
    assert_eq!(
        parse("description = \"**\"").to_string(),
        "description = \"*\""
    );
    rejects("description = \"a*b\"", 17, "only at the start or the end");
    rejects("description = ***", 16, "only at the start or the end");
    rejects(
        "model_id.model_name < \"a*\"",
        25,
        "wildcard only with = and !=",
    );
}

#[test]
fn errors_say_where_and_what() {
    rejects(
        "description =",
        14,
        "expected a value after \"=\", found end of filter",
    );
    rejects(
        "description = AND",
        15,
        "expected a value after \"=\", found AND",
    );
    rejects(
        "description \"x\"",
        13,
        "expected an operator (=, !=) after \"description\"",
    );
    rejects(
        "model_id.nmae = x",
        1,
        "unknown field \"model_id.nmae\"; known fields: model_id.{",
    );
    rejects(
        "description = x and b = y",
        17,
        "(AND, OR and NOT are upper-case)",
    );
    rejects(
        "(description = x",
        17,
        "expected \")\" to close the \"(\" at character 1",
    );
    rejects("description = x)", 16, "unbalanced \")\"");
    rejects(
        "description = x \"y\"",
        17,
        "expected AND, OR, a comparison or end of filter",
    );
    rejects("description ! x", 13, "expected \"=\" after \"!\"");
    rejects("description = x, y", 16, "found \",\"");
    rejects("()", 2, "found \")\"");
    rejects("description = x AND", 20, "found end of filter");
    rejects("description = x OR OR", 20, "found OR");
    let long = "x".repeat(100);
    let error = Filter::parse(&format!("{long} = y")).unwrap_err();
    assert!(
        error
            .message
            .starts_with(&format!("unknown field \"{}…\"", &long[..64]))
    );
    let error = Filter::parse("description =").unwrap_err();
    assert_eq!(
        error.to_string(),
        "at character 14: expected a value after \"=\", found end of filter"
    );
}

#[test]
fn limits() {
    let head = "description = \"";
    let fill = |n: usize| format!("{head}{}\"", "é".repeat(n - head.len() - 1));
    assert_eq!(fill(MAX_FILTER_CHARS).chars().count(), MAX_FILTER_CHARS);
    assert!(Filter::parse(&fill(MAX_FILTER_CHARS)).is_ok());
    rejects(
        &fill(MAX_FILTER_CHARS + 1),
        2001,
        "filter too long: at most 2000 characters",
    );
    rejects(&"(".repeat(1_000_000), 2001, "too long");

    let terms = |n: usize| vec!["description = x"; n].join(" ");
    assert!(matches!(parse(&terms(MAX_FILTER_TERMS)), Filter::All(parts) if parts.len() == 50));
    rejects(
        &terms(MAX_FILTER_TERMS + 1),
        50 * 16 + 1,
        "too many comparisons: at most 50",
    );
    let group = format!(
        "{} model_information.target_environment(platform_name = a OR platform_name = b)",
        terms(49)
    );
    rejects(&group, 49 * 16 + 1 + 37 + 21, "too many comparisons");

    let nested = |n: usize| format!("{}description = x{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(parse(&nested(MAX_FILTER_NESTING)), parse("description = x"));
    rejects(
        &nested(MAX_FILTER_NESTING + 1),
        33,
        "nesting too deep: at most 32",
    );
    rejects(&nested(900), 33, "nesting too deep");
    assert!(matches!(
        parse(&format!("{}description = x", "-".repeat(32))),
        Filter::Not(_)
    ));
    rejects(
        &format!("{}description = x", "-".repeat(1900)),
        33,
        "nesting too deep",
    );
    rejects(
        &format!("{}description = x", "NOT ".repeat(40)),
        129,
        "nesting too deep",
    );
}

#[test]
fn order_by() {
    let key = |field, descending| OrderKey { field, descending };
    assert_eq!(OrderBy::parse(" \t"), Ok(OrderBy::default()));
    let order = OrderBy::parse(" model_id.model_name ,create_time DESC,update_time asc ").unwrap();
    let expected = vec![
        key(OrderField::ModelName, false),
        key(OrderField::CreateTime, true),
        key(OrderField::UpdateTime, false),
    ];
    assert_eq!(order, OrderBy(expected));
    assert_eq!(
        order.to_string(),
        "model_id.model_name, create_time desc, update_time"
    );
    let all = "update_time desc, create_time, model_id.model_version desc, model_id.model_name";
    assert_eq!(OrderBy::parse(all).unwrap().to_string(), all);

    let rejects = |text: &str, position: usize, part: &str| {
        let error = OrderBy::parse(text).expect_err(text);
        assert_eq!(error.position, position, "{text:?}: {error}");
        assert!(error.message.contains(part), "{text:?}: {error}");
    };
    rejects(
        "description",
        1,
        "cannot order by \"description\"; known fields: model_id.model_name",
    );
    rejects("create_time up", 13, "expected \"asc\", \"desc\"");
    rejects(
        "create_time desc x",
        18,
        "expected \",\" or end of order_by",
    );
    rejects("create_time,", 13, "found end of order_by");
    rejects("create_time,,update_time", 13, "found \",\"");
    rejects(",create_time", 1, "expected a field to order by");
    rejects(
        "create_time, update_time, create_time desc",
        27,
        "ordered by already",
    );
    rejects(
        &format!("{all}, model_id.model_name"),
        82,
        "ordered by already",
    );
    let long = format!("create_time{}", " ".repeat(MAX_ORDER_CHARS - 11));
    assert!(OrderBy::parse(&long).is_ok());
    rejects(
        &format!("{long} "),
        201,
        "order_by too long: at most 200 characters",
    );
}
