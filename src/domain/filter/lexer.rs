//! Tokens of a filter, made one at a time as the parser asks, so that an error early in the
//! text is reported before a malformed token further on.

use std::iter::Peekable;
use std::str::Chars;

use super::{Comparator, SyntaxError, echo};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Has,
}

impl Op {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Has => ":",
        }
    }

    /// `:` has no comparator of its own: each field that takes it says what it means.
    pub(crate) fn comparator(self) -> Option<Comparator> {
        Some(match self {
            Op::Eq => Comparator::Eq,
            Op::Ne => Comparator::Ne,
            Op::Lt => Comparator::Lt,
            Op::Le => Comparator::Le,
            Op::Gt => Comparator::Gt,
            Op::Ge => Comparator::Ge,
            Op::Has => return None,
        })
    }
}

/// One character of a value, with where it was written (an escape: where its `\` was).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) ch: char,
    /// An unescaped `*`.
    pub(crate) wild: bool,
    pub(crate) position: usize,
}

/// A quoted string or a bare word; field names are bare words too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Value {
    pub(crate) pieces: Vec<Piece>,
    pub(crate) quoted: bool,
}

impl Value {
    pub(crate) fn text(&self) -> String {
        self.pieces.iter().map(|p| p.ch).collect()
    }

    pub(crate) fn first_wild(&self) -> Option<&Piece> {
        self.pieces.iter().find(|p| p.wild)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Open,
    Close,
    Comma,
    Op(Op),
    And,
    Or,
    Not,
    Value(Value),
    End,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) position: usize,
}

impl Token {
    /// What was found, for "expected …, found …".
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::Open => "\"(\"".into(),
            Kind::Close => "\")\"".into(),
            Kind::Comma => "\",\"".into(),
            Kind::Op(op) => format!("\"{}\"", op.symbol()),
            Kind::And => "AND".into(),
            Kind::Or => "OR".into(),
            Kind::Not => "NOT".into(),
            Kind::Value(v) if v.quoted => format!("string {}", echo(&v.text())),
            Kind::Value(v) => echo(&v.text()),
            Kind::End => "end of filter".into(),
        }
    }

    pub(crate) fn is_bare_word(&self) -> bool {
        matches!(&self.kind, Kind::Value(v) if !v.quoted)
    }
}

pub(crate) struct Lexer<'a> {
    chars: Peekable<Chars<'a>>,
    /// 1-based position of the next character.
    position: usize,
    ahead: Option<Token>,
}

const NUL: &str = "NUL (U+0000) is not allowed in a filter";

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            chars: text.chars().peekable(),
            position: 1,
            ahead: None,
        }
    }

    pub(crate) fn next(&mut self) -> Result<Token, SyntaxError> {
        match self.ahead.take() {
            Some(token) => Ok(token),
            None => self.lex(),
        }
    }

    /// Hands a token taken by `next` back, possibly changed, to be taken again.
    pub(crate) fn put_back(&mut self, token: Token) {
        debug_assert!(self.ahead.is_none());
        self.ahead = Some(token);
    }

    pub(crate) fn peek(&mut self) -> Result<&Token, SyntaxError> {
        if self.ahead.is_none() {
            self.ahead = Some(self.lex()?);
        }
        Ok(self.ahead.as_ref().expect("just filled"))
    }

    fn bump(&mut self) -> Option<(usize, char)> {
        let c = self.chars.next()?;
        self.position += 1;
        Some((self.position - 1, c))
    }

    fn lex(&mut self) -> Result<Token, SyntaxError> {
        while self.chars.next_if(|c| c.is_whitespace()).is_some() {
            self.position += 1;
        }
        let Some((position, c)) = self.bump() else {
            return Ok(Token {
                kind: Kind::End,
                position: self.position,
            });
        };
        let with_eq = |lexer: &mut Self, short, long| {
            if lexer.chars.next_if_eq(&'=').is_some() {
                lexer.position += 1;
                long
            } else {
                short
            }
        };
        let kind = match c {
            '(' => Kind::Open,
            ')' => Kind::Close,
            ',' => Kind::Comma,
            '=' => Kind::Op(Op::Eq),
            ':' => Kind::Op(Op::Has),
            '<' => Kind::Op(with_eq(self, Op::Lt, Op::Le)),
            '>' => Kind::Op(with_eq(self, Op::Gt, Op::Ge)),
            '!' if self.chars.next_if_eq(&'=').is_some() => {
                self.position += 1;
                Kind::Op(Op::Ne)
            }
            '!' => return Err(SyntaxError::new(position, "expected \"=\" after \"!\"")),
            '"' => Kind::Value(self.quoted(position)?),
            _ => self.bare(position, c)?,
        };
        Ok(Token { kind, position })
    }

    fn bare(&mut self, position: usize, first: char) -> Result<Kind, SyntaxError> {
        let mut pieces = vec![Piece {
            ch: first,
            wild: first == '*',
            position,
        }];
        while let Some(c) = self.chars.next_if(|&c| !ends_word(c)) {
            pieces.push(Piece {
                ch: c,
                wild: c == '*',
                position: self.position,
            });
            self.position += 1;
        }
        if let Some(nul) = pieces.iter().find(|p| p.ch == '\0') {
            return Err(SyntaxError::new(nul.position, NUL));
        }
        let value = Value {
            pieces,
            quoted: false,
        };
        Ok(match value.text().as_str() {
            "AND" => Kind::And,
            "OR" => Kind::Or,
            "NOT" => Kind::Not,
            _ => Kind::Value(value),
        })
    }

    fn quoted(&mut self, opening: usize) -> Result<Value, SyntaxError> {
        let unterminated = || {
            SyntaxError::new(
                opening,
                "unterminated string: no closing '\"' for this opening one",
            )
        };
        let mut pieces = Vec::new();
        loop {
            let (position, c) = self.bump().ok_or_else(unterminated)?;
            let (ch, wild) = match c {
                '"' => {
                    return Ok(Value {
                        pieces,
                        quoted: true,
                    });
                }
                '\\' => match self.bump().ok_or_else(unterminated)?.1 {
                    c @ ('"' | '\\' | '*') => (c, false),
                    'n' => ('\n', false),
                    't' => ('\t', false),
                    'r' => ('\r', false),
                    'u' => (self.unicode(position)?, false),
                    other => {
                        let message = format!(
                            "invalid escape {}; known escapes: \\\" \\\\ \\* \\n \\t \\r \\u{{HEX}}",
                            echo(&format!("\\{other}"))
                        );
                        return Err(SyntaxError::new(position, message));
                    }
                },
                '\0' => return Err(SyntaxError::new(position, NUL)),
                c => (c, c == '*'),
            };
            pieces.push(Piece { ch, wild, position });
        }
    }

    /// The rest of `\u{HEX}`, after the `u`.
    fn unicode(&mut self, backslash: usize) -> Result<char, SyntaxError> {
        let bad = || {
            SyntaxError::new(
                backslash,
                "invalid escape: \\u must be followed by {HEX} with 1 to 6 hex digits",
            )
        };
        if self.chars.next_if_eq(&'{').is_none() {
            return Err(bad());
        }
        self.position += 1;
        let mut code: u32 = 0;
        let mut digits = 0;
        while let Some(d) = self.chars.next_if(char::is_ascii_hexdigit) {
            self.position += 1;
            digits += 1;
            if digits > 6 {
                return Err(bad());
            }
            code = code * 16 + d.to_digit(16).expect("a hex digit");
        }
        if digits == 0 || self.chars.next_if_eq(&'}').is_none() {
            return Err(bad());
        }
        self.position += 1;
        match char::from_u32(code) {
            Some('\0') => Err(SyntaxError::new(backslash, NUL)),
            Some(c) => Ok(c),
            None => Err(SyntaxError::new(
                backslash,
                format!("\\u{{{code:X}}} is not a Unicode scalar value"),
            )),
        }
    }
}

fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '=' | '!' | '<' | '>' | ':' | ',')
}
