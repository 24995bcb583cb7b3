//! A small Cosmos DB SQL engine: lexer, parser and evaluator for the subset the emulator
//! supports (see the crate README for the grammar).

mod ast;
mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod proptests;

pub(crate) use ast::Query;
pub(crate) use eval::{execute, QueryPlanInfo};
pub(crate) use parser::parse;

/// Why a query was refused (every variant becomes a 400 `BadRequest`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QueryError {
    /// The text is not valid SQL.
    #[error("Syntax error: {0}")]
    Syntax(String),
    /// Valid Cosmos SQL that this emulator does not implement.
    #[error("Unsupported query: this emulator does not support {0}")]
    Unsupported(String),
    /// A parameter is missing or has an unusable value.
    #[error("Invalid query parameter: {0}")]
    Parameter(String),
}

impl QueryError {
    pub(crate) fn syntax(msg: impl Into<String>) -> Self {
        QueryError::Syntax(msg.into())
    }

    pub(crate) fn unsupported(msg: impl Into<String>) -> Self {
        QueryError::Unsupported(msg.into())
    }
}
