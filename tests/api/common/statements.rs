//! The SQL a test server issues, as its `StatementObserver` sees it, classified with sqlparser
//! by kind and main table, so that query budgets can say which statements an RPC may issue and
//! not only how many.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use modelreg::StatementObserver;
use sqlparser::ast::{
    FromTable, ObjectName, Query, SetExpr, Statement, TableFactor, TableObject, TableWithJoins,
};
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Select,
    Insert,
    Update,
    Delete,
    /// Anything else, and whatever the parser does not understand.
    Other,
}

/// One statement: its kind, its main table (unquoted) and its text.
#[derive(Clone, Debug)]
pub struct Classified {
    pub kind: Kind,
    pub table: Option<String>,
    pub sql: String,
}

/// Classifies one SQL text; the first dialect that parses it wins.
pub fn classify(sql: &str) -> Classified {
    let dialects: [&dyn Dialect; 4] = [
        &PostgreSqlDialect {},
        &SQLiteDialect {},
        &MySqlDialect {},
        &GenericDialect,
    ];
    let parsed = dialects
        .iter()
        .find_map(|dialect| Parser::parse_sql(*dialect, sql).ok());
    let (kind, table) = match parsed.as_deref() {
        Some([statement]) => kind_and_table(statement),
        _ => (Kind::Other, None),
    };
    Classified {
        kind,
        table,
        sql: sql.to_owned(),
    }
}

fn kind_and_table(statement: &Statement) -> (Kind, Option<String>) {
    match statement {
        Statement::Query(query) => (Kind::Select, query_table(query)),
        Statement::Insert(insert) => match &insert.table {
            TableObject::TableName(name) => (Kind::Insert, Some(unquoted(name))),
            _ => (Kind::Insert, None),
        },
        Statement::Update(update) => (Kind::Update, relation_table(&update.table)),
        Statement::Delete(delete) => {
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
            let table = match from.first() {
                Some(first) => relation_table(first),
                None => delete.tables.first().map(unquoted),
            };
            (Kind::Delete, table)
        }
        _ => (Kind::Other, None),
    }
}

/// The first table a query reads from.
fn query_table(query: &Query) -> Option<String> {
    set_expr_table(&query.body)
}

fn set_expr_table(body: &SetExpr) -> Option<String> {
    match body {
        SetExpr::Select(select) => select.from.first().and_then(relation_table),
        SetExpr::Query(query) => query_table(query),
        SetExpr::SetOperation { left, .. } => set_expr_table(left),
        _ => None,
    }
}

fn relation_table(from: &TableWithJoins) -> Option<String> {
    match &from.relation {
        TableFactor::Table { name, .. } => Some(unquoted(name)),
        TableFactor::Derived { subquery, .. } => query_table(subquery),
        _ => None,
    }
}

/// The last part of a possibly qualified name, without quotes.
fn unquoted(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|part| part.as_ident())
        .map(|ident| ident.value.clone())
        .unwrap_or_else(|| name.to_string())
}

/// The statements a server has issued since the last `take`.
#[derive(Clone, Default)]
pub struct StatementLog(Arc<Mutex<Vec<String>>>);

impl StatementLog {
    /// An observer for `ServeConfig::statement_observer` that records into this log.
    pub fn observer(&self) -> StatementObserver {
        let log = Arc::clone(&self.0);
        StatementObserver::new(move |sql| log.lock().unwrap().push(sql.to_owned()))
    }

    /// The statements recorded so far, classified; the log starts empty again.
    pub fn take(&self) -> Issued {
        let texts = std::mem::take(&mut *self.0.lock().unwrap());
        Issued(texts.iter().map(|sql| classify(sql)).collect())
    }
}

/// Classified statements, in the order they were issued.
pub struct Issued(pub Vec<Classified>);

impl Issued {
    pub fn total(&self) -> usize {
        self.0.len()
    }

    /// How many statements of each kind each table got, sorted; statements without a table
    /// count under "?".
    pub fn by_kind_and_table(&self) -> Vec<(Kind, String, usize)> {
        let mut counts = BTreeMap::new();
        for statement in &self.0 {
            let table = statement.table.clone().unwrap_or_else(|| "?".into());
            *counts.entry((statement.kind, table)).or_insert(0) += 1;
        }
        counts
            .into_iter()
            .map(|((kind, table), count)| (kind, table, count))
            .collect()
    }

    /// Asserts the counts by kind and table exactly; the message lists every statement.
    #[track_caller]
    pub fn assert_counts(&self, expected: &[(Kind, &str, usize)], what: &str) {
        let mut expected: Vec<(Kind, String, usize)> = expected
            .iter()
            .map(|(kind, table, count)| (*kind, (*table).to_owned(), *count))
            .collect();
        expected.sort();
        assert_eq!(self.by_kind_and_table(), expected, "{what}:\n{self}");
    }
}

impl fmt::Display for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} statements", self.0.len())?;
        for statement in &self.0 {
            let table = statement.table.as_deref().unwrap_or("?");
            writeln!(f, "  {:?} {table}: {}", statement.kind, statement.sql)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
