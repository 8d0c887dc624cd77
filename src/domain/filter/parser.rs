//! Recursive descent over the tokens. The boolean structure is shared by the whole filter
//! and the inside of a `target_environment(...)` group; only their comparisons differ.

use super::fields;
use super::lexer::{Kind, Lexer, Op, Token, Value};
use super::{Filter, MAX_FILTER_CHARS, MAX_FILTER_NESTING, MAX_FILTER_TERMS, SyntaxError, echo};

pub(crate) fn parse(text: &str) -> Result<Option<Filter>, SyntaxError> {
    if text.chars().nth(MAX_FILTER_CHARS).is_some() {
        let message = format!("filter too long: at most {MAX_FILTER_CHARS} characters");
        return Err(SyntaxError::new(MAX_FILTER_CHARS + 1, message));
    }
    let mut parser = Parser {
        lexer: Lexer::new(text),
        depth: 0,
        terms: 0,
    };
    if parser.lexer.peek()?.kind == Kind::End {
        return Ok(None);
    }
    let filter = parser.expression::<Filter>()?;
    let token = parser.lexer.next()?;
    match token.kind {
        Kind::End => Ok(Some(filter)),
        Kind::Close => Err(SyntaxError::new(
            token.position,
            "unbalanced \")\": no \"(\" to close",
        )),
        _ => Err(SyntaxError::new(
            token.position,
            format!(
                "expected AND, OR, a comparison or end of filter, found {}",
                token.describe()
            ),
        )),
    }
}

/// A tree the boolean structure can be built of.
pub(crate) trait Tree: Sized {
    fn all(parts: Vec<Self>) -> Self;
    fn any(parts: Vec<Self>) -> Self;
    fn not(self) -> Self;
    /// The rest of a comparison (or group) whose field name has been read.
    fn comparison(
        parser: &mut Parser<'_>,
        name: String,
        position: usize,
    ) -> Result<Self, SyntaxError>;
}

pub(crate) struct Parser<'a> {
    pub(crate) lexer: Lexer<'a>,
    depth: usize,
    terms: usize,
}

impl Parser<'_> {
    fn expression<T: Tree>(&mut self) -> Result<T, SyntaxError> {
        let mut parts = vec![self.factor()?];
        loop {
            let token = self.lexer.peek()?;
            if token.kind == Kind::And {
                self.lexer.next()?;
            } else if !(matches!(token.kind, Kind::Not | Kind::Open) || token.is_bare_word()) {
                break;
            }
            parts.push(self.factor()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            T::all(parts)
        })
    }

    fn factor<T: Tree>(&mut self) -> Result<T, SyntaxError> {
        let mut parts = vec![self.term()?];
        while self.lexer.peek()?.kind == Kind::Or {
            self.lexer.next()?;
            parts.push(self.term()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            T::any(parts)
        })
    }

    fn term<T: Tree>(&mut self) -> Result<T, SyntaxError> {
        let mut negations = 0;
        loop {
            let mut token = self.lexer.next()?;
            match &mut token.kind {
                Kind::Not => {}
                Kind::Value(v) if !v.quoted && v.pieces.first().is_some_and(|p| p.ch == '-') => {
                    v.pieces.remove(0);
                    if let Some(first) = v.pieces.first() {
                        let position = first.position;
                        self.lexer.put_back(Token {
                            position,
                            ..token.clone()
                        });
                    }
                }
                _ => {
                    self.lexer.put_back(token);
                    break;
                }
            }
            self.enter(token.position)?;
            negations += 1;
        }
        let mut tree: T = self.simple()?;
        for _ in 0..negations {
            tree = tree.not();
        }
        self.depth -= negations;
        Ok(tree)
    }

    fn simple<T: Tree>(&mut self) -> Result<T, SyntaxError> {
        let token = self.lexer.next()?;
        match token.kind {
            Kind::Open => self.parenthesised(token.position, Self::expression),
            Kind::Value(v) if !v.quoted => T::comparison(self, v.text(), token.position),
            _ => Err(SyntaxError::new(
                token.position,
                format!(
                    "expected a comparison, NOT or \"(\", found {}",
                    token.describe()
                ),
            )),
        }
    }

    /// `inner` after an opening parenthesis, then the closing one.
    fn parenthesised<T>(
        &mut self,
        open: usize,
        inner: impl FnOnce(&mut Self) -> Result<T, SyntaxError>,
    ) -> Result<T, SyntaxError> {
        self.enter(open)?;
        let tree = inner(self)?;
        let token = self.lexer.next()?;
        if token.kind != Kind::Close {
            let message = format!(
                "expected \")\" to close the \"(\" at character {open}, found {}",
                token.describe()
            );
            return Err(SyntaxError::new(token.position, message));
        }
        self.depth -= 1;
        Ok(tree)
    }

    fn enter(&mut self, position: usize) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_NESTING {
            let message = format!(
                "nesting too deep: at most {MAX_FILTER_NESTING} levels of parentheses and NOT"
            );
            return Err(SyntaxError::new(position, message));
        }
        Ok(())
    }

    pub(crate) fn count_term(&mut self, position: usize) -> Result<(), SyntaxError> {
        self.terms += 1;
        if self.terms > MAX_FILTER_TERMS {
            let message = format!("too many comparisons: at most {MAX_FILTER_TERMS}");
            return Err(SyntaxError::new(position, message));
        }
        Ok(())
    }

    /// The operator after `name`, one of `allowed`, and where it stands.
    pub(crate) fn operator(
        &mut self,
        name: &str,
        allowed: &[Op],
    ) -> Result<(Op, usize), SyntaxError> {
        let token = self.lexer.next()?;
        let message = match token.kind {
            Kind::Op(op) if allowed.contains(&op) => return Ok((op, token.position)),
            Kind::Op(op) => format!(
                "operator \"{}\" is not supported on {}; supported: {}",
                op.symbol(),
                echo(name),
                fields::list(allowed)
            ),
            _ => format!(
                "expected an operator ({}) after {}, found {}",
                fields::list(allowed),
                echo(name),
                token.describe()
            ),
        };
        Err(SyntaxError::new(token.position, message))
    }

    pub(crate) fn value(&mut self, op: Op) -> Result<(Value, usize), SyntaxError> {
        let token = self.lexer.next()?;
        match token.kind {
            Kind::Value(v) => Ok((v, token.position)),
            _ => Err(SyntaxError::new(
                token.position,
                format!(
                    "expected a value after \"{}\", found {}",
                    op.symbol(),
                    token.describe()
                ),
            )),
        }
    }

    pub(crate) fn group(&mut self) -> Result<Filter, SyntaxError> {
        let open = self.lexer.next()?.position;
        self.parenthesised(open, |parser| {
            let token = parser.lexer.peek()?;
            if token.kind == Kind::Close {
                return Err(SyntaxError::new(
                    token.position,
                    "empty model_information.target_environment(...): expected a comparison \
                     of platform_name, environment_type or dependency_list",
                ));
            }
            parser.expression().map(Filter::Environment)
        })
    }
}
