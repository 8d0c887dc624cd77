//! The `filter` and `order_by` of ListModels: a subset of AIP-160 filtering and AIP-132
//! ordering, parsed into the tree of `ast`, and printed back in one canonical form.
//!
//! Filter grammar (keywords upper-case only, as in AIP-160):
//!
//! ```text
//! filter      = [expression]
//! expression  = factor { ["AND"] factor }         (adjacent factors: implicit AND)
//! factor      = term { "OR" term }                (OR binds tighter than AND)
//! term        = { "NOT" | "-" } simple
//! simple      = comparison | "(" expression ")"
//!             | "model_information.target_environment" "(" expression ")"
//! comparison  = FIELD OPERATOR value
//! value       = "quoted string" | bare-word
//! ```
//!
//! Fields and their operators:
//!
//! ```text
//! model_id.{model_name,model_version,artifact_version}      = != < <= > >=
//! description, model_information.metadata.{author,owner}    = !=
//! create_time, update_time                                  = != < <= > >=  "RFC 3339"
//! model_information.{input_data_type,output_data_type}      :
//! labels.KEY                                                = !=, and :* (present)
//! labels                                                    :KEY (present)
//! aliases                                                   :
//! model_information.target_environment.{platform_name,
//!     environment_type,dependency_list}                     = != and : (same as =)
//! ```
//!
//! A group `model_information.target_environment(...)` compares the short names
//! `platform_name`, `environment_type` and `dependency_list` of one and the same target
//! environment; groups do not nest.
//!
//! Unparenthesised chains flatten (`a AND b AND c` is one `All` of three); a parenthesised
//! chain stays its own node, and `(a)` is just `a`. Quoted strings know the escapes `\"`
//! `\\` `\*` `\n` `\t` `\r` and `\u{HEX}`; bare words have none and run to white space or
//! one of `( ) " = ! < > : ,`; a bare word starting a term with `-` is negated. In a text
//! of `=` or `!=`, an unescaped `*` at the start and/or the end is a wildcard; a value of
//! wildcards only (`"*"`, `"**"`) is always the pattern with `any_before` set, an empty
//! literal and `any_after` clear. Label keys hold ASCII letters, digits, `.`, `/`, `-`, `_`.
//!
//! Canonical text: explicit `AND` / `OR` / `NOT`, every value quoted (with `*` escaped
//! unless it is a wildcard, and controls and invisible characters as `\u{HEX}`), a child
//! parenthesised exactly when it is itself an `AND` or an `OR`, and a target-environment
//! condition that is a single comparison written with the field's full name. Parsing that
//! text gives the tree back, as long as the text stays within the limits below: printing
//! adds quotes, spaces and parentheses.

mod ast;
mod comparison;
mod fields;
mod lexer;
mod matches;
mod order;
mod parser;
mod print;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod syntax_tests;
#[cfg(test)]
mod tests;

pub(crate) use ast::*;

/// Limits, documented to users.
pub(crate) const MAX_FILTER_CHARS: usize = 2_000;
/// Comparisons, those inside `target_environment(...)` groups included.
pub(crate) const MAX_FILTER_TERMS: usize = 50;
/// Levels of parentheses and `NOT` / `-` one inside the other; bounds the parser's recursion.
pub(crate) const MAX_FILTER_NESTING: usize = 32;
pub(crate) const MAX_ORDER_KEYS: usize = 4;
pub(crate) const MAX_ORDER_CHARS: usize = 200;

/// Why a filter or order_by was rejected: `position` is the 1-based character (not byte)
/// offset of the problem, `message` says what was found and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) position: usize,
    pub(crate) message: String,
}

impl SyntaxError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

impl std::error::Error for SyntaxError {}

impl Filter {
    /// `Ok(None)` for an empty or all-white-space filter: everything matches.
    pub(crate) fn parse(text: &str) -> Result<Option<Filter>, SyntaxError> {
        parser::parse(text)
    }
}

impl OrderBy {
    /// An empty text gives the default order.
    pub(crate) fn parse(text: &str) -> Result<OrderBy, SyntaxError> {
        order::parse(text)
    }
}

/// Client text quoted for an error message: at most `SHOWN` characters of it, escapes
/// included, so that a huge input cannot make a huge message, and with controls escaped, so
/// that it cannot garble a log line.
fn echo(text: &str) -> String {
    const SHOWN: usize = 64;
    let mut out = String::from("\"");
    let mut shown = 0;
    let mut one = String::new();
    for c in text.chars() {
        one.clear();
        print::escape_into(&mut one, c.encode_utf8(&mut [0; 4]), false);
        shown += one.chars().count();
        if shown > SHOWN {
            out.push('…');
            break;
        }
        out.push_str(&one);
    }
    out.push('"');
    out
}
