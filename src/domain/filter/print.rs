//! The canonical text of a filter: the parser reads it back as the same tree.

use std::fmt::{self, Display, Formatter, Write};

use chrono::SecondsFormat;

use super::fields::{ALIASES, GROUP};
use super::lexer::Op;
use super::{Comparator, EnvironmentFilter, Filter, TextMatch};

impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Filter::All(parts) => join(f, parts, " AND "),
            Filter::Any(parts) => join(f, parts, " OR "),
            Filter::Not(inner) => {
                f.write_str("NOT ")?;
                part(f, &**inner)
            }
            Filter::Text(field, m) => text_match(f, field.path(), m),
            Filter::Time(field, comparator, time) => {
                let time = time.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                write!(f, "{} {} ", field.path(), symbol(*comparator))?;
                quoted(f, &time)
            }
            Filter::DataType(field, value) => {
                write!(f, "{}:", field.path())?;
                quoted(f, value)
            }
            Filter::Label { key, value: None } => write!(f, "labels.{key}:*"),
            Filter::Label {
                key,
                value: Some(m),
            } => text_match(f, &format!("labels.{key}"), m),
            Filter::Alias(alias) => {
                write!(f, "{ALIASES}:")?;
                quoted(f, alias)
            }
            Filter::Environment(EnvironmentFilter::Field(field, m)) => {
                text_match(f, field.path(), m)
            }
            Filter::Environment(tree) => write!(f, "{GROUP}({})", Body(tree)),
        }
    }
}

/// The inside of a `target_environment(...)` group, with the fields' short names.
struct Body<'a>(&'a EnvironmentFilter);

impl Display for Body<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            EnvironmentFilter::All(parts) => join(f, &wrap(parts), " AND "),
            EnvironmentFilter::Any(parts) => join(f, &wrap(parts), " OR "),
            EnvironmentFilter::Not(inner) => {
                f.write_str("NOT ")?;
                part(f, &Body(inner))
            }
            EnvironmentFilter::Field(field, m) => text_match(f, field.name(), m),
        }
    }
}

fn wrap(parts: &[EnvironmentFilter]) -> Vec<Body<'_>> {
    parts.iter().map(Body).collect()
}

/// Whether a tree is an `AND` or an `OR` of parts, and so needs parentheses as a part of
/// another: always for the parser to keep it as its own node, and for `OR` within `AND`
/// for the reader, who may not know that AIP-160's `OR` binds tighter.
trait Compound {
    fn is_compound(&self) -> bool;
}

impl Compound for Filter {
    fn is_compound(&self) -> bool {
        matches!(self, Filter::All(_) | Filter::Any(_))
    }
}

impl Compound for Body<'_> {
    fn is_compound(&self) -> bool {
        matches!(
            self.0,
            EnvironmentFilter::All(_) | EnvironmentFilter::Any(_)
        )
    }
}

fn part(f: &mut Formatter<'_>, tree: &(impl Display + Compound)) -> fmt::Result {
    if tree.is_compound() {
        write!(f, "({tree})")
    } else {
        write!(f, "{tree}")
    }
}

fn join(f: &mut Formatter<'_>, parts: &[impl Display + Compound], separator: &str) -> fmt::Result {
    for (i, tree) in parts.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        part(f, tree)?;
    }
    Ok(())
}

fn text_match(f: &mut Formatter<'_>, name: &str, m: &TextMatch) -> fmt::Result {
    match m {
        TextMatch::Compare(comparator, text) => {
            write!(f, "{name} {} ", symbol(*comparator))?;
            quoted(f, text)
        }
        TextMatch::Pattern(p) => {
            let op = if p.negated { "!=" } else { "=" };
            let mut text = String::from("\"");
            if p.any_before || (p.literal.is_empty() && p.any_after) {
                text.push('*');
            }
            escape_into(&mut text, &p.literal, true);
            if p.any_after && !p.literal.is_empty() {
                text.push('*');
            }
            write!(f, "{name} {op} {text}\"")
        }
    }
}

fn symbol(comparator: Comparator) -> &'static str {
    let op = match comparator {
        Comparator::Eq => Op::Eq,
        Comparator::Ne => Op::Ne,
        Comparator::Lt => Op::Lt,
        Comparator::Le => Op::Le,
        Comparator::Gt => Op::Gt,
        Comparator::Ge => Op::Ge,
    };
    op.symbol()
}

fn quoted(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    escape_into(&mut out, text, true);
    out.push('"');
    f.write_str(&out)
}

/// Escapes `text` for a quoted string; `stars`: a literal `*` too, which is off for echoing
/// a client's text in a message.
pub(crate) fn escape_into(out: &mut String, text: &str, stars: bool) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '*' if stars => out.push_str("\\*"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || is_invisible(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// Characters that show nothing or reorder the text around them, escaped so that a printed
/// filter, or a message quoting one, reads as what it is.
fn is_invisible(c: char) -> bool {
    (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}
