//! Parsing never panics, whatever a client sends; every valid tree survives the round trip
//! through its canonical text; and any accepted text's canonical form is a fixed point.

use chrono::{DateTime, Utc};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};

use super::*;

/// Pieces of the grammar and characters that are awkward to carry.
const TOKENS: &[&str] = &[
    "model_id.model_name",
    "description",
    "create_time",
    "labels.app",
    "labels",
    "aliases",
    "model_information.input_data_type",
    "model_information.target_environment",
    "platform_name",
    "model_information.target_environment.platform_name",
    "update_time desc",
    "AND",
    "OR",
    "NOT",
    "and",
    "-",
    "--",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "!",
    "<",
    "<=",
    ">",
    ">=",
    ":",
    "*",
    "\\*",
    "\"",
    "\\",
    "\\u{",
    "}",
    "\\u{1F600}",
    "\\u{0}",
    "\\n",
    "\\q",
    " ",
    "\t",
    "\n",
    "\0",
    "x",
    "qoe*",
    "1.0-rc",
    "\"2026-01-31T12:00:00Z\"",
    "%",
    "_",
    ";",
    "'",
    "é",
    "😀",
    "\u{200b}",
    "\u{feff}",
    "\u{85}",
    "asc",
    "DESC",
];

fn fuzz_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        vec(select(TOKENS), 0..40).prop_map(|t| t.concat()),
        mutated(),
    ]
}

/// A canonical filter with up to three characters replaced by a token: mostly nearly valid.
fn mutated() -> impl Strategy<Value = String> {
    (filter(), any::<Index>(), 0..4usize, select(TOKENS)).prop_map(|(f, at, cut, token)| {
        let chars: Vec<char> = f.to_string().chars().collect();
        let start = at.index(chars.len() + 1);
        let end = (start + cut).min(chars.len());
        chars[..start]
            .iter()
            .copied()
            .chain(token.chars())
            .chain(chars[end..].iter().copied())
            .collect()
    })
}

/// Characters a value may hold: any but NUL, with the awkward ones more likely.
fn text() -> impl Strategy<Value = String> {
    let awkward = select(
        &[
            '"', '\\', '*', ' ', '\n', '\u{7}', '\u{85}', 'é', '😀', '(', ':',
        ][..],
    );
    let ch = prop_oneof![awkward, any::<char>(), proptest::char::range('a', 'z')];
    vec(ch.prop_filter("no NUL", |&c| c != '\0'), 0..8).prop_map(String::from_iter)
}

fn comparator(ordered: bool) -> impl Strategy<Value = Comparator> {
    use Comparator::*;
    let all: &'static [Comparator] = if ordered {
        &[Eq, Ne, Lt, Le, Gt, Ge]
    } else {
        &[Eq, Ne]
    };
    select(all)
}

/// A canonical `TextMatch`: a pattern has a wildcard, and an empty literal only the first.
fn text_match(ordered: bool) -> impl Strategy<Value = TextMatch> {
    let pattern = (any::<bool>(), 0..3u8, text()).prop_map(|(negated, ends, literal)| {
        let empty = literal.is_empty();
        let any_before = ends != 1 || empty;
        let any_after = ends != 0 && !empty;
        TextMatch::Pattern(Pattern {
            negated,
            any_before,
            literal,
            any_after,
        })
    });
    prop_oneof![
        (comparator(ordered), text()).prop_map(|(c, t)| TextMatch::Compare(c, t)),
        pattern
    ]
}

fn label_key() -> impl Strategy<Value = String> {
    let chars: Vec<char> = ('\0'..='\u{7f}')
        .filter(|&c| fields::is_label_key_char(c))
        .collect();
    vec(select(chars), 1..12).prop_map(String::from_iter)
}

/// Microseconds, as the registry stores them, from 1970 to 2200.
fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..7_258_118_400, 0u32..1_000_000)
        .prop_map(|(s, us)| DateTime::from_timestamp(s, us * 1_000).expect("in range"))
}

fn environment() -> impl Strategy<Value = EnvironmentFilter> {
    let leaf = (select(&EnvironmentField::ALL[..]), text_match(false))
        .prop_map(|(f, m)| EnvironmentFilter::Field(f, m));
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 2..4).prop_map(EnvironmentFilter::All),
            vec(inner.clone(), 2..4).prop_map(EnvironmentFilter::Any),
            inner.prop_map(|e| EnvironmentFilter::Not(Box::new(e))),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let text_field = select(&TextField::ALL[..])
        .prop_flat_map(|f| text_match(f.is_ordered()).prop_map(move |m| Filter::Text(f, m)));
    let leaf = prop_oneof![
        text_field,
        (select(&TimeField::ALL[..]), comparator(true), time())
            .prop_map(|(f, c, t)| Filter::Time(f, c, t)),
        (select(&DataTypeField::ALL[..]), text()).prop_map(|(f, t)| Filter::DataType(f, t)),
        (label_key(), proptest::option::of(text_match(false)))
            .prop_map(|(key, value)| Filter::Label { key, value }),
        text().prop_map(Filter::Alias),
        environment().prop_map(Filter::Environment),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 2..4).prop_map(Filter::All),
            vec(inner.clone(), 2..4).prop_map(Filter::Any),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn order_by() -> impl Strategy<Value = OrderBy> {
    let keys = proptest::sample::subsequence(&OrderField::ALL[..], 0..=4).prop_shuffle();
    (keys, vec(any::<bool>(), 4)).prop_map(|(fields, desc)| {
        OrderBy(
            fields
                .into_iter()
                .zip(desc)
                .map(|(field, descending)| OrderKey { field, descending })
                .collect(),
        )
    })
}

/// Whether an error is one of the limits that printing can cross, adding characters and
/// parentheses.
fn is_limit(error: &SyntaxError) -> bool {
    ["too long", "too deep"]
        .iter()
        .any(|l| error.message.contains(l))
}

fn comparisons(filter: &Filter) -> usize {
    fn in_environment(tree: &EnvironmentFilter) -> usize {
        match tree {
            EnvironmentFilter::All(parts) | EnvironmentFilter::Any(parts) => {
                parts.iter().map(in_environment).sum()
            }
            EnvironmentFilter::Not(inner) => in_environment(inner),
            EnvironmentFilter::Field(..) => 1,
        }
    }
    match filter {
        Filter::All(parts) | Filter::Any(parts) => parts.iter().map(comparisons).sum(),
        Filter::Not(inner) => comparisons(inner),
        Filter::Environment(tree) => in_environment(tree),
        _ => 1,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn parsing_never_panics(text in fuzz_text()) {
        let length = text.chars().count();
        match Filter::parse(&text) {
            Err(error) => {
                prop_assert!((1..=length + 1).contains(&error.position), "{error}");
                prop_assert!(error.message.chars().count() <= 450, "{error}");
            }
            Ok(None) => prop_assert!(text.trim().is_empty()),
            Ok(Some(filter)) => {
                let printed = filter.to_string();
                match Filter::parse(&printed) {
                    Ok(again) => prop_assert_eq!(again, Some(filter), "{}", printed),
                    Err(error) => prop_assert!(is_limit(&error), "{printed}: {error}"),
                }
            }
        }
        if let Err(error) = OrderBy::parse(&text) {
            prop_assert!((1..=length + 1).contains(&error.position), "{error}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn canonical_text_reads_back(filter in filter()) {
        let printed = filter.to_string();
        let within = printed.chars().count() <= MAX_FILTER_CHARS
            && comparisons(&filter) <= MAX_FILTER_TERMS;
        match Filter::parse(&printed) {
            Ok(again) => prop_assert_eq!(again, Some(filter), "{}", printed),
            Err(error) => prop_assert!(!within && !error.message.contains("too deep"), "{printed}: {error}"),
        }
    }

    #[test]
    fn order_by_reads_back(order in order_by()) {
        prop_assert_eq!(OrderBy::parse(&order.to_string()), Ok(order));
    }
}
