//! Recursive-descent parser producing [`Query`].

use serde_json::{Number, Value};

use super::ast::{BinOp, Expr, Func, Query, Select};
use super::lexer::{tokenize, Token};
use super::QueryError;

/// Words that cannot be used as identifiers or aliases.
pub(super) const RESERVED: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "TOP",
    "OFFSET",
    "LIMIT",
    "VALUE",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "BETWEEN",
    "JOIN",
    "GROUP",
    "DISTINCT",
    "TRUE",
    "FALSE",
    "NULL",
    "UNDEFINED",
    "EXISTS",
    "LIKE",
    "HAVING",
];

/// Longest accepted query text (the limit Azure reports in `maxSqlQueryInputLength`).
const MAX_QUERY_LEN: usize = 262_144;
/// Deepest nesting of parentheses, `NOT`s, signs and function calls.
const MAX_NESTING: usize = 32;
/// Most operators and accessors in one query. Bounds the depth of the syntax tree, so
/// evaluating (and dropping) it can never exhaust the stack.
const MAX_OPS: usize = 256;

/// Parses a complete query text.
pub(crate) fn parse(src: &str) -> Result<Query, QueryError> {
    if src.len() > MAX_QUERY_LEN {
        return Err(QueryError::unsupported(format!(
            "queries longer than {MAX_QUERY_LEN} characters"
        )));
    }
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        ops: 0,
    };
    let q = p.query()?;
    if let Some(t) = p.peek() {
        return Err(p.unexpected(t.clone(), "end of query"));
    }
    Ok(q)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    ops: usize,
}

fn describe(t: &Token) -> String {
    match t {
        Token::Ident(s) => format!("'{s}'"),
        Token::Param(s) => format!("parameter {s}"),
        Token::Number(n) => format!("number {n}"),
        Token::Str(s) => format!("string '{s}'"),
        Token::Sym(s) => format!("'{s}'"),
    }
}

impl Parser {
    /// Runs `f` one nesting level deeper, refusing absurd nesting.
    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        if self.depth >= MAX_NESTING {
            return Err(QueryError::unsupported(format!(
                "expressions nested more than {MAX_NESTING} levels deep"
            )));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Counts one operator or accessor.
    fn op(&mut self) -> Result<(), QueryError> {
        self.ops += 1;
        if self.ops > MAX_OPS {
            return Err(QueryError::unsupported(format!(
                "queries with more than {MAX_OPS} operators and property accesses"
            )));
        }
        Ok(())
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn is_kw_at(&self, offset: usize, kw: &str) -> bool {
        matches!(self.toks.get(self.pos + offset), Some(Token::Ident(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), QueryError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.expected(kw))
        }
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Token::Sym(x)) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), QueryError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{s}'")))
        }
    }

    fn expected(&self, what: &str) -> QueryError {
        match self.peek() {
            Some(t) => self.unexpected(t.clone(), what),
            None => QueryError::syntax(format!("expected {what} but the query ended")),
        }
    }

    fn unexpected(&self, t: Token, what: &str) -> QueryError {
        if let Token::Ident(w) = &t {
            if let Some(e) = unsupported_keyword(w) {
                return e;
            }
        }
        if let Token::Sym(s) = &t {
            if matches!(*s, "||" | "??" | "?" | "&" | "|" | "^" | "~") {
                return QueryError::unsupported(format!("the operator '{s}'"));
            }
        }
        QueryError::syntax(format!("expected {what}, found {}", describe(&t)))
    }

    fn identifier(&mut self, what: &str) -> Result<String, QueryError> {
        match self.peek() {
            Some(Token::Ident(w)) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(w)) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn query(&mut self) -> Result<Query, QueryError> {
        self.expect_kw("SELECT")?;
        if self.is_kw("DISTINCT") {
            return Err(QueryError::unsupported("SELECT DISTINCT"));
        }
        let top = if self.eat_kw("TOP") {
            Some(self.count_operand("TOP")?)
        } else {
            None
        };
        let select = if self.eat_sym("*") {
            Select::Star
        } else if self.eat_kw("VALUE") {
            Select::Value(self.expr()?)
        } else {
            let mut items = Vec::new();
            loop {
                let e = self.expr()?;
                let alias = if self.eat_kw("AS") {
                    Some(self.identifier("an alias after AS")?)
                } else if matches!(self.peek(), Some(Token::Ident(w)) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(w)))
                {
                    Some(self.identifier("an alias")?)
                } else {
                    None
                };
                items.push((e, alias));
                if !self.eat_sym(",") {
                    break;
                }
            }
            Select::List(items)
        };
        self.expect_kw("FROM")?;
        let source = self.identifier("a container name after FROM")?;
        if self.is_kw("IN") {
            return Err(QueryError::unsupported(
                "FROM ... IN (iteration over arrays)",
            ));
        }
        let alias = if self.eat_kw("AS") {
            self.identifier("an alias after AS")?
        } else if matches!(self.peek(), Some(Token::Ident(w)) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(w)))
        {
            self.identifier("an alias")?
        } else {
            source
        };
        if self.is_kw("JOIN") {
            return Err(QueryError::unsupported("JOIN"));
        }
        let filter = if self.eat_kw("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        if self.is_kw("GROUP") {
            return Err(QueryError::unsupported("GROUP BY"));
        }
        let mut order_by = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let e = self.expr()?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                order_by.push((e, desc));
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let offset_limit = if self.eat_kw("OFFSET") {
            let off = self.count_operand("OFFSET")?;
            self.expect_kw("LIMIT")?;
            let lim = self.count_operand("LIMIT")?;
            Some((off, lim))
        } else if self.is_kw("LIMIT") {
            return Err(QueryError::syntax(
                "LIMIT must follow OFFSET (write OFFSET 0 LIMIT n)",
            ));
        } else {
            None
        };
        Ok(Query {
            top,
            select,
            alias,
            filter,
            order_by,
            offset_limit,
        })
    }

    /// A non-negative integer literal or a parameter (for TOP, OFFSET and LIMIT).
    fn count_operand(&mut self, clause: &str) -> Result<Expr, QueryError> {
        match self.next() {
            Some(Token::Number(n)) if n >= 0.0 && n.fract() == 0.0 => {
                Ok(Expr::Literal(Value::from(n as u64)))
            }
            Some(Token::Param(p)) => Ok(Expr::Param(p)),
            _ => Err(QueryError::syntax(format!(
                "{clause} needs a non-negative integer or a parameter"
            ))),
        }
    }

    fn expr(&mut self) -> Result<Expr, QueryError> {
        self.nested(Self::or_expr)
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and_expr()?;
        while self.eat_kw("OR") {
            self.op()?;
            let right = self.and_expr()?;
            left = Expr::Binary(BinOp::Or, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.not_expr()?;
        while self.eat_kw("AND") {
            self.op()?;
            let right = self.not_expr()?;
            left = Expr::Binary(BinOp::And, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, QueryError> {
        if self.eat_kw("NOT") {
            self.op()?;
            let inner = self.nested(Self::not_expr)?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let left = self.additive()?;
        let op = match self.peek() {
            Some(Token::Sym("=")) => BinOp::Eq,
            Some(Token::Sym("!=")) | Some(Token::Sym("<>")) => BinOp::Ne,
            Some(Token::Sym("<")) => BinOp::Lt,
            Some(Token::Sym("<=")) => BinOp::Le,
            Some(Token::Sym(">")) => BinOp::Gt,
            Some(Token::Sym(">=")) => BinOp::Ge,
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case("IN") => {
                self.pos += 1;
                return self.in_list(left, false);
            }
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case("NOT") && self.is_kw_at(1, "IN") => {
                self.pos += 2;
                return self.in_list(left, true);
            }
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case("BETWEEN") => {
                return Err(QueryError::unsupported("BETWEEN"));
            }
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case("LIKE") => {
                return Err(QueryError::unsupported("LIKE"));
            }
            _ => return Ok(left),
        };
        self.pos += 1;
        self.op()?;
        let right = self.additive()?;
        Ok(Expr::Binary(op, Box::new(left), Box::new(right)))
    }

    fn in_list(&mut self, left: Expr, negated: bool) -> Result<Expr, QueryError> {
        self.expect_sym("(")?;
        let mut list = Vec::new();
        if !self.eat_sym(")") {
            loop {
                list.push(self.expr()?);
                if self.eat_sym(")") {
                    break;
                }
                self.expect_sym(",")?;
            }
        }
        Ok(Expr::In(Box::new(left), list, negated))
    }

    fn additive(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat_sym("+") {
                BinOp::Add
            } else if self.eat_sym("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            self.op()?;
            let right = self.multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                BinOp::Mul
            } else if self.eat_sym("/") {
                BinOp::Div
            } else if self.eat_sym("%") {
                BinOp::Mod
            } else {
                return Ok(left);
            };
            self.op()?;
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.eat_sym("-") {
            self.op()?;
            let inner = self.nested(Self::unary)?;
            return Ok(Expr::Neg(Box::new(inner)));
        }
        if self.eat_sym("+") {
            return self.nested(Self::unary);
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, QueryError> {
        let mut e = self.primary()?;
        loop {
            if self.eat_sym(".") {
                self.op()?;
                let name = match self.next() {
                    Some(Token::Ident(w)) => w,
                    _ => return Err(QueryError::syntax("expected a property name after '.'")),
                };
                e = Expr::Prop(Box::new(e), name);
            } else if self.eat_sym("[") {
                self.op()?;
                let idx = self.expr()?;
                self.expect_sym("]")?;
                e = Expr::Index(Box::new(e), Box::new(idx));
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let Some(t) = self.next() else {
            return Err(QueryError::syntax(
                "expected an expression but the query ended",
            ));
        };
        match t {
            Token::Number(n) => Ok(Expr::Literal(number(n))),
            Token::Str(s) => Ok(Expr::Literal(Value::String(s))),
            Token::Param(p) => Ok(Expr::Param(p)),
            Token::Sym("(") => {
                if self.is_kw("SELECT") {
                    return Err(QueryError::unsupported("subqueries"));
                }
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Token::Sym("[") => {
                let mut items = Vec::new();
                if !self.eat_sym("]") {
                    loop {
                        items.push(self.expr()?);
                        if self.eat_sym("]") {
                            break;
                        }
                        self.expect_sym(",")?;
                    }
                }
                Ok(Expr::Array(items))
            }
            Token::Sym("{") => {
                let mut fields = Vec::new();
                if !self.eat_sym("}") {
                    loop {
                        let key = match self.next() {
                            Some(Token::Str(s)) | Some(Token::Ident(s)) => s,
                            _ => {
                                return Err(QueryError::syntax(
                                    "expected a property name in object literal",
                                ))
                            }
                        };
                        self.expect_sym(":")?;
                        fields.push((key, self.expr()?));
                        if self.eat_sym("}") {
                            break;
                        }
                        self.expect_sym(",")?;
                    }
                }
                Ok(Expr::Object(fields))
            }
            Token::Ident(w) => self.word(w),
            other => Err(self.unexpected(other, "an expression")),
        }
    }

    fn word(&mut self, w: String) -> Result<Expr, QueryError> {
        let upper = w.to_ascii_uppercase();
        match upper.as_str() {
            "TRUE" => return Ok(Expr::Literal(Value::Bool(true))),
            "FALSE" => return Ok(Expr::Literal(Value::Bool(false))),
            "NULL" => return Ok(Expr::Literal(Value::Null)),
            "UNDEFINED" => return Ok(Expr::Undefined),
            "UDF" if self.is_sym(".") => {
                return Err(QueryError::unsupported("user-defined functions (udf.*)"))
            }
            _ => {}
        }
        if let Some(e) = unsupported_keyword(&w) {
            return Err(e);
        }
        if self.is_sym("(") {
            self.pos += 1;
            let mut args = Vec::new();
            if !self.eat_sym(")") {
                loop {
                    if self.is_kw("SELECT") {
                        return Err(QueryError::unsupported("subqueries"));
                    }
                    if upper == "COUNT" && self.eat_sym("*") {
                        args.push(Expr::Literal(Value::from(1)));
                    } else {
                        args.push(self.expr()?);
                    }
                    if self.eat_sym(")") {
                        break;
                    }
                    self.expect_sym(",")?;
                }
            }
            if upper == "COUNT" {
                if args.len() != 1 {
                    return Err(QueryError::syntax("COUNT takes exactly one argument"));
                }
                let arg = args.remove(0);
                if arg.has_aggregate() {
                    return Err(QueryError::syntax("aggregates cannot be nested"));
                }
                return Ok(Expr::Count(Box::new(arg)));
            }
            let Some((func, min, max)) = Func::by_name(&w) else {
                return Err(QueryError::unsupported(format!("the function {upper}")));
            };
            if args.len() < min || args.len() > max {
                return Err(QueryError::syntax(format!(
                    "{upper} takes {min}{} arguments, got {}",
                    if max > min {
                        format!(" to {max}")
                    } else {
                        String::new()
                    },
                    args.len()
                )));
            }
            return Ok(Expr::Call(func, args));
        }
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&w)) {
            return Err(QueryError::syntax(format!("unexpected keyword {upper}")));
        }
        Ok(Expr::Ident(w))
    }
}

fn unsupported_keyword(w: &str) -> Option<QueryError> {
    let upper = w.to_ascii_uppercase();
    let what = match upper.as_str() {
        "JOIN" => "JOIN",
        "GROUP" => "GROUP BY",
        "DISTINCT" => "SELECT DISTINCT",
        "BETWEEN" => "BETWEEN",
        "LIKE" => "LIKE",
        "EXISTS" => "EXISTS",
        "HAVING" => "HAVING",
        _ => return None,
    };
    Some(QueryError::unsupported(what))
}

/// JSON number from a literal, as an integer when it is one.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        Value::from(n as i64)
    } else {
        Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_query() {
        let q = parse(
            "SELECT TOP 5 c.a, c.b.c AS bc FROM root c WHERE (c.x = @x OR NOT c.y < 3) AND IS_DEFINED(c.z) ORDER BY c.a DESC, c.b OFFSET 1 LIMIT 2",
        )
        .expect("parse");
        assert_eq!(q.alias, "c");
        assert!(q.top.is_some());
        assert_eq!(q.order_by.len(), 2);
        assert!(q.order_by[0].1);
        assert!(q.offset_limit.is_some());
        match q.select {
            Select::List(items) => {
                assert_eq!(items.len(), 2);
                assert_eq!(items[1].1.as_deref(), Some("bc"));
            }
            other => panic!("unexpected select {other:?}"),
        }
    }

    #[test]
    fn value_count() {
        let q = parse("select value count(1) from c").expect("parse");
        assert!(matches!(q.select, Select::Value(Expr::Count(_))));
    }

    #[test]
    fn unsupported_parts_are_named() {
        for (q, part) in [
            ("SELECT DISTINCT c.a FROM c", "DISTINCT"),
            ("SELECT * FROM c JOIN t IN c.tags", "JOIN"),
            ("SELECT * FROM c GROUP BY c.a", "GROUP BY"),
            ("SELECT * FROM c WHERE c.a BETWEEN 1 AND 2", "BETWEEN"),
            (
                "SELECT * FROM c WHERE SUBSTRING(c.a, 1, 2) = 'x'",
                "SUBSTRING",
            ),
            ("SELECT * FROM c WHERE c.a = (SELECT VALUE 1)", "subqueries"),
            ("SELECT * FROM c WHERE c.a ?? 1", "??"),
        ] {
            let err = parse(q).expect_err(q);
            assert!(err.to_string().contains(part), "{q}: {err}");
            assert!(matches!(err, QueryError::Unsupported(_)), "{q}: {err:?}");
        }
    }

    #[test]
    fn absurd_queries_are_refused_not_overflowed() {
        let deep = format!(
            "SELECT * FROM c WHERE {}c.a = 1{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(matches!(parse(&deep), Err(QueryError::Unsupported(_))));
        let nots = format!("SELECT * FROM c WHERE {}true", "NOT ".repeat(10_000));
        assert!(matches!(parse(&nots), Err(QueryError::Unsupported(_))));
        let chain = format!(
            "SELECT * FROM c WHERE {}",
            vec!["c.a = 1"; 5_000].join(" OR ")
        );
        assert!(matches!(parse(&chain), Err(QueryError::Unsupported(_))));
        let path = format!("SELECT VALUE c{} FROM c", ".a".repeat(5_000));
        assert!(matches!(parse(&path), Err(QueryError::Unsupported(_))));
        let negs = format!("SELECT VALUE {}1 FROM c", "-".repeat(5_000));
        assert!(parse(&negs).is_err());
        assert!(parse(&"x".repeat(300_000)).is_err());
        let ok = format!("SELECT * FROM c WHERE {}", vec!["c.a = 1"; 60].join(" OR "));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn syntax_errors() {
        assert!(parse("SELECT * FROM").is_err());
        assert!(parse("SELECT * FROM c WHERE").is_err());
        assert!(parse("SELECT * FROM c LIMIT 3").is_err());
        assert!(parse("DELETE FROM c").is_err());
    }
}
