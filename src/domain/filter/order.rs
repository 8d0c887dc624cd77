//! `order_by` as in AIP-132: `FIELD [asc|desc], ...`.

use std::fmt::{self, Display, Formatter};

use super::{MAX_ORDER_CHARS, MAX_ORDER_KEYS, OrderBy, OrderField, OrderKey, SyntaxError, echo};

const KNOWN: &str = "model_id.model_name, model_id.model_version, create_time, update_time";

impl OrderField {
    pub(crate) const ALL: [OrderField; 4] = [
        OrderField::ModelName,
        OrderField::ModelVersion,
        OrderField::CreateTime,
        OrderField::UpdateTime,
    ];

    pub(crate) fn path(self) -> &'static str {
        match self {
            OrderField::ModelName => "model_id.model_name",
            OrderField::ModelVersion => "model_id.model_version",
            OrderField::CreateTime => "create_time",
            OrderField::UpdateTime => "update_time",
        }
    }
}

impl Display for OrderBy {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, key) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(key.field.path())?;
            if key.descending {
                f.write_str(" desc")?;
            }
        }
        Ok(())
    }
}

/// A run of characters other than white space and commas, and where it starts.
struct Word {
    text: String,
    position: usize,
}

enum Piece {
    Word(Word),
    Comma(usize),
}

pub(crate) fn parse(text: &str) -> Result<OrderBy, SyntaxError> {
    if text.chars().nth(MAX_ORDER_CHARS).is_some() {
        let message = format!("order_by too long: at most {MAX_ORDER_CHARS} characters");
        return Err(SyntaxError::new(MAX_ORDER_CHARS + 1, message));
    }
    let (pieces, end) = split(text);
    if pieces.is_empty() {
        return Ok(OrderBy::default());
    }
    let mut keys: Vec<OrderKey> = Vec::new();
    let mut pieces = pieces.into_iter().peekable();
    loop {
        let word = match pieces.next() {
            Some(Piece::Word(word)) => word,
            other => {
                let (position, found) = match other {
                    Some(Piece::Comma(position)) => (position, "\",\""),
                    _ => (end, "end of order_by"),
                };
                let message = format!("expected a field to order by, found {found}");
                return Err(SyntaxError::new(position, message));
            }
        };
        let field = OrderField::ALL
            .into_iter()
            .find(|f| f.path() == word.text)
            .ok_or_else(|| {
                let message = format!(
                    "cannot order by {}; known fields: {KNOWN}",
                    echo(&word.text)
                );
                SyntaxError::new(word.position, message)
            })?;
        if keys.iter().any(|k| k.field == field) {
            let message = format!("{} is ordered by already", field.path());
            return Err(SyntaxError::new(word.position, message));
        }
        if keys.len() == MAX_ORDER_KEYS {
            let message = format!("too many fields to order by: at most {MAX_ORDER_KEYS}");
            return Err(SyntaxError::new(word.position, message));
        }
        let mut descending = false;
        if let Some(Piece::Word(direction)) = pieces.peek() {
            descending = match direction.text.to_ascii_lowercase().as_str() {
                "asc" => false,
                "desc" => true,
                _ => {
                    let message = format!(
                        "expected \"asc\", \"desc\", \",\" or end of order_by after {}, found {}",
                        field.path(),
                        echo(&direction.text)
                    );
                    return Err(SyntaxError::new(direction.position, message));
                }
            };
            pieces.next();
        }
        keys.push(OrderKey { field, descending });
        match pieces.next() {
            None => return Ok(OrderBy(keys)),
            Some(Piece::Comma(_)) => {}
            Some(Piece::Word(extra)) => {
                let message = format!(
                    "expected \",\" or end of order_by, found {}",
                    echo(&extra.text)
                );
                return Err(SyntaxError::new(extra.position, message));
            }
        }
    }
}

/// The words and commas of `text`, and the position just past its end.
fn split(text: &str) -> (Vec<Piece>, usize) {
    let mut pieces = Vec::new();
    let mut current: Option<Word> = None;
    let mut position = 1;
    for c in text.chars() {
        if c.is_whitespace() || c == ',' {
            pieces.extend(current.take().map(Piece::Word));
            if c == ',' {
                pieces.push(Piece::Comma(position));
            }
        } else {
            current
                .get_or_insert_with(|| Word {
                    text: String::new(),
                    position,
                })
                .text
                .push(c);
        }
        position += 1;
    }
    pieces.extend(current.take().map(Piece::Word));
    (pieces, position)
}
