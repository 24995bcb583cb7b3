//! Syntax tree of the supported Cosmos SQL subset.

use serde_json::Value;

/// A parsed `SELECT` statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    /// `TOP n`.
    pub top: Option<Expr>,
    /// What each result is made of.
    pub select: Select,
    /// Alias the documents are bound to (`FROM c` binds `c`).
    pub alias: String,
    /// `WHERE` filter.
    pub filter: Option<Expr>,
    /// `ORDER BY` items; `true` means descending.
    pub order_by: Vec<(Expr, bool)>,
    /// `OFFSET n LIMIT m`.
    pub offset_limit: Option<(Expr, Expr)>,
}

/// The select list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Select {
    /// `SELECT *`.
    Star,
    /// `SELECT VALUE expr`.
    Value(Expr),
    /// `SELECT a, b AS x, ...`.
    List(Vec<(Expr, Option<String>)>),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// Scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    IsDefined,
    IsNull,
    IsString,
    IsNumber,
    IsBool,
    IsArray,
    IsObject,
    Contains,
    StartsWith,
    EndsWith,
    ArrayContains,
    ArrayLength,
    Length,
    Lower,
    Upper,
}

impl Func {
    /// Looks a function up by its (case-insensitive) name.
    pub(crate) fn by_name(name: &str) -> Option<(Func, usize, usize)> {
        let f = match name.to_ascii_uppercase().as_str() {
            "IS_DEFINED" => (Func::IsDefined, 1, 1),
            "IS_NULL" => (Func::IsNull, 1, 1),
            "IS_STRING" => (Func::IsString, 1, 1),
            "IS_NUMBER" => (Func::IsNumber, 1, 1),
            "IS_BOOL" => (Func::IsBool, 1, 1),
            "IS_ARRAY" => (Func::IsArray, 1, 1),
            "IS_OBJECT" => (Func::IsObject, 1, 1),
            "CONTAINS" => (Func::Contains, 2, 3),
            "STARTSWITH" => (Func::StartsWith, 2, 3),
            "ENDSWITH" => (Func::EndsWith, 2, 3),
            "ARRAY_CONTAINS" => (Func::ArrayContains, 2, 3),
            "ARRAY_LENGTH" => (Func::ArrayLength, 1, 1),
            "LENGTH" => (Func::Length, 1, 1),
            "LOWER" => (Func::Lower, 1, 1),
            "UPPER" => (Func::Upper, 1, 1),
            _ => return None,
        };
        Some(f)
    }
}

/// Expressions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A JSON literal.
    Literal(Value),
    /// The `undefined` literal.
    Undefined,
    /// `@name`.
    Param(String),
    /// A bare identifier (the FROM alias).
    Ident(String),
    /// `expr.name`.
    Prop(Box<Expr>, String),
    /// `expr[index]`.
    Index(Box<Expr>, Box<Expr>),
    /// `NOT expr`.
    Not(Box<Expr>),
    /// `-expr`.
    Neg(Box<Expr>),
    /// `a op b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `expr [NOT] IN (a, b, ...)`.
    In(Box<Expr>, Vec<Expr>, bool),
    /// Scalar function call.
    Call(Func, Vec<Expr>),
    /// `COUNT(expr)` aggregate.
    Count(Box<Expr>),
    /// `[a, b]`.
    Array(Vec<Expr>),
    /// `{"k": v}`.
    Object(Vec<(String, Expr)>),
}

impl Expr {
    /// Whether this expression contains an aggregate.
    pub(crate) fn has_aggregate(&self) -> bool {
        match self {
            Expr::Count(_) => true,
            Expr::Literal(_) | Expr::Undefined | Expr::Param(_) | Expr::Ident(_) => false,
            Expr::Prop(e, _) | Expr::Not(e) | Expr::Neg(e) => e.has_aggregate(),
            Expr::Index(a, b) | Expr::Binary(_, a, b) => a.has_aggregate() || b.has_aggregate(),
            Expr::In(e, list, _) => e.has_aggregate() || list.iter().any(Expr::has_aggregate),
            Expr::Call(_, args) | Expr::Array(args) => args.iter().any(Expr::has_aggregate),
            Expr::Object(fields) => fields.iter().any(|(_, e)| e.has_aggregate()),
        }
    }
}
