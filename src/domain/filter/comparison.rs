//! Comparisons: a field, an operator the field supports, and a value of the field's type.

use chrono::{DateTime, Datelike, Utc};

use super::fields::{self, Field, GROUP};
use super::lexer::{Kind, Op, Value};
use super::parser::{Parser, Tree};
use super::{
    Comparator, EnvironmentField, EnvironmentFilter, Filter, Pattern, SyntaxError, TextMatch, echo,
};

impl Tree for Filter {
    fn all(parts: Vec<Self>) -> Self {
        Filter::All(parts)
    }

    fn any(parts: Vec<Self>) -> Self {
        Filter::Any(parts)
    }

    fn not(self) -> Self {
        Filter::Not(Box::new(self))
    }

    fn comparison(
        parser: &mut Parser<'_>,
        name: String,
        position: usize,
    ) -> Result<Self, SyntaxError> {
        if name == GROUP && parser.lexer.peek()?.kind == Kind::Open {
            return parser.group();
        }
        parser.count_term(position)?;
        let field = Field::resolve(&name, position)?;
        let (op, _) = parser.operator(&name, field.operators())?;
        let (value, at) = parser.value(op)?;
        Ok(match field {
            Field::Text(f) => Filter::Text(f, text_match(op, &value)?),
            Field::Time(f) => Filter::Time(f, comparator(op), time(&value, at)?),
            Field::DataType(f) => Filter::DataType(f, exact(&value, &name)?),
            Field::Label(key) if op == Op::Has => {
                if !matches!(value.pieces.as_slice(), [p] if p.wild) {
                    let message = format!(
                        "expected * after {}: (a label's presence); compare its value with \
                         = or !=, found {}",
                        echo(&name),
                        echo(&value.text())
                    );
                    return Err(SyntaxError::new(at, message));
                }
                Filter::Label { key, value: None }
            }
            Field::Label(key) => Filter::Label {
                key,
                value: Some(text_match(op, &value)?),
            },
            Field::Labels => {
                let key = exact(&value, &name)?;
                fields::check_label_key(&key, |i| value.pieces.get(i).map_or(at, |p| p.position))?;
                Filter::Label { key, value: None }
            }
            Field::Aliases => Filter::Alias(exact(&value, &name)?),
            Field::Environment(f) => Filter::Environment(EnvironmentFilter::Field(
                f,
                text_match(if op == Op::Has { Op::Eq } else { op }, &value)?,
            )),
        })
    }
}

impl Tree for EnvironmentFilter {
    fn all(parts: Vec<Self>) -> Self {
        EnvironmentFilter::All(parts)
    }

    fn any(parts: Vec<Self>) -> Self {
        EnvironmentFilter::Any(parts)
    }

    fn not(self) -> Self {
        EnvironmentFilter::Not(Box::new(self))
    }

    fn comparison(
        parser: &mut Parser<'_>,
        name: String,
        position: usize,
    ) -> Result<Self, SyntaxError> {
        parser.count_term(position)?;
        let field = fields::resolve_in_group(&name, position)?;
        let (op, _) = parser.operator(&name, EnvironmentField::operators())?;
        let (value, _) = parser.value(op)?;
        let op = if op == Op::Has { Op::Eq } else { op };
        Ok(EnvironmentFilter::Field(field, text_match(op, &value)?))
    }
}

fn comparator(op: Op) -> Comparator {
    op.comparator()
        .expect("fields that take ':' are not compared")
}

/// A text compared with `op` (not `:`): wildcards at the ends make a pattern with `=` / `!=`.
fn text_match(op: Op, value: &Value) -> Result<TextMatch, SyntaxError> {
    let comparator = comparator(op);
    let pieces = &value.pieces;
    if !matches!(comparator, Comparator::Eq | Comparator::Ne) {
        return match value.first_wild() {
            Some(star) => Err(SyntaxError::new(
                star.position,
                "`*` is a wildcard only with = and !=; write \\* in quotes for a star",
            )),
            None => Ok(TextMatch::Compare(comparator, value.text())),
        };
    }
    let any_before = pieces.first().is_some_and(|p| p.wild);
    let any_after = pieces.len() >= 2 && pieces[pieces.len() - 1].wild;
    let middle = &pieces[usize::from(any_before)..pieces.len() - usize::from(any_after)];
    if let Some(star) = middle.iter().find(|p| p.wild) {
        return Err(SyntaxError::new(
            star.position,
            "`*` is allowed only at the start or the end; write \\* in quotes for a star",
        ));
    }
    let literal: String = middle.iter().map(|p| p.ch).collect();
    if !any_before && !any_after {
        return Ok(TextMatch::Compare(comparator, literal));
    }
    Ok(TextMatch::Pattern(Pattern {
        negated: comparator == Comparator::Ne,
        any_before: any_before || literal.is_empty(),
        any_after: any_after && !literal.is_empty(),
        literal,
    }))
}

/// A value without wildcards, for fields matched exactly.
fn exact(value: &Value, name: &str) -> Result<String, SyntaxError> {
    match value.first_wild() {
        Some(star) => Err(SyntaxError::new(
            star.position,
            format!("{name} takes no wildcards; write \\* in quotes for a star"),
        )),
        None => Ok(value.text()),
    }
}

fn time(value: &Value, position: usize) -> Result<DateTime<Utc>, SyntaxError> {
    let text = value.text();
    let parsed = DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc));
    match parsed {
        // Four-digit years only, in UTC too, so that the time prints as RFC 3339 again.
        Ok(time) if value.first_wild().is_none() && (0..=9999).contains(&time.year()) => Ok(time),
        _ => Err(SyntaxError::new(
            position,
            format!(
                "expected an RFC 3339 time such as \"2026-01-31T12:00:00Z\" (quoted), found {}",
                echo(&text)
            ),
        )),
    }
}
