//! Evaluation of a parsed query over a set of documents.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::ast::{BinOp, Expr, Func, Query, Select};
use super::QueryError;

/// A value that may be `undefined` (`None`).
type V = Option<Value>;

/// Facts about a query that a query-plan response reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryPlanInfo {
    /// `SELECT VALUE ...`.
    pub has_select_value: bool,
}

impl QueryPlanInfo {
    /// Describes a parsed query.
    pub(crate) fn of(q: &Query) -> QueryPlanInfo {
        QueryPlanInfo {
            has_select_value: matches!(q.select, Select::Value(_)),
        }
    }
}

struct Ctx<'a> {
    alias: &'a str,
    params: &'a HashMap<String, Value>,
}

/// Runs `query` over `docs` and returns every result, in order.
pub(crate) fn execute(
    query: &Query,
    params: &HashMap<String, Value>,
    docs: Vec<Value>,
) -> Result<Vec<Value>, QueryError> {
    let ctx = Ctx {
        alias: &query.alias,
        params,
    };
    if let Some(f) = &query.filter {
        if f.has_aggregate() {
            return Err(QueryError::syntax("aggregates are not allowed in WHERE"));
        }
    }
    for (e, _) in &query.order_by {
        if e.has_aggregate() {
            return Err(QueryError::syntax("aggregates are not allowed in ORDER BY"));
        }
    }
    let mut rows = Vec::with_capacity(docs.len());
    for doc in docs {
        let keep = match &query.filter {
            Some(f) => ctx.eval(f, &doc)? == Some(Value::Bool(true)),
            None => true,
        };
        if keep {
            rows.push(doc);
        }
    }

    let aggregate = match &query.select {
        Select::Star => false,
        Select::Value(e) => e.has_aggregate(),
        Select::List(items) => {
            let n = items.iter().filter(|(e, _)| e.has_aggregate()).count();
            if n > 0 && n < items.len() {
                return Err(QueryError::unsupported(
                    "mixing aggregates and plain values in one SELECT (GROUP BY)",
                ));
            }
            n > 0
        }
    };

    let mut results = if aggregate {
        if !query.order_by.is_empty() {
            return Err(QueryError::syntax(
                "ORDER BY cannot be combined with an aggregate",
            ));
        }
        vec![ctx.project_aggregate(&query.select, &rows)?]
    } else {
        if !query.order_by.is_empty() {
            let mut keyed = Vec::with_capacity(rows.len());
            for doc in rows {
                let mut keys = Vec::with_capacity(query.order_by.len());
                for (e, _) in &query.order_by {
                    keys.push(ctx.eval(e, &doc)?);
                }
                keyed.push((keys, doc));
            }
            keyed.sort_by(|(a, _), (b, _)| {
                for (i, (_, desc)) in query.order_by.iter().enumerate() {
                    let o = order_values(&a[i], &b[i]);
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
            rows = keyed.into_iter().map(|(_, d)| d).collect();
        }
        let mut out = Vec::with_capacity(rows.len());
        for doc in &rows {
            if let Some(v) = ctx.project(&query.select, doc)? {
                out.push(v);
            }
        }
        out
    };

    if let Some((off, lim)) = &query.offset_limit {
        let off = ctx.count(off, "OFFSET")?;
        let lim = ctx.count(lim, "LIMIT")?;
        results = results.into_iter().skip(off).take(lim).collect();
    }
    if let Some(top) = &query.top {
        let top = ctx.count(top, "TOP")?;
        results.truncate(top);
    }
    Ok(results)
}

/// Cosmos orders values of different types by type: undefined, null, booleans, numbers,
/// strings, arrays, objects.
fn type_rank(v: &V) -> u8 {
    match v {
        None => 0,
        Some(Value::Null) => 1,
        Some(Value::Bool(_)) => 2,
        Some(Value::Number(_)) => 3,
        Some(Value::String(_)) => 4,
        Some(Value::Array(_)) => 5,
        Some(Value::Object(_)) => 6,
    }
}

fn order_values(a: &V, b: &V) -> Ordering {
    let (ra, rb) = (type_rank(a), type_rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    compare_same_type(a, b).unwrap_or(Ordering::Equal)
}

fn compare_same_type(a: &V, b: &V) -> Option<Ordering> {
    match (a.as_ref()?, b.as_ref()?) {
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Deep equality with numbers compared by value.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn num(n: f64) -> V {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        Some(Value::from(n as i64))
    } else {
        serde_json::Number::from_f64(n).map(Value::Number)
    }
}

fn as_bool(v: &V) -> Option<bool> {
    match v {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

impl Ctx<'_> {
    fn param(&self, name: &str) -> Result<&Value, QueryError> {
        self.params.get(name).ok_or_else(|| {
            QueryError::Parameter(format!(
                "{name} is used in the query but not given in \"parameters\""
            ))
        })
    }

    fn count(&self, e: &Expr, clause: &str) -> Result<usize, QueryError> {
        let v = match e {
            Expr::Param(p) => self.param(p)?.clone(),
            Expr::Literal(v) => v.clone(),
            _ => return Err(QueryError::syntax(format!("{clause} needs a number"))),
        };
        v.as_u64()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .ok_or_else(|| {
                QueryError::Parameter(format!("{clause} must be a non-negative integer"))
            })
    }

    fn project(&self, select: &Select, doc: &Value) -> Result<Option<Value>, QueryError> {
        match select {
            Select::Star => Ok(Some(doc.clone())),
            Select::Value(e) => self.eval(e, doc),
            Select::List(items) => {
                let mut obj = Map::new();
                let mut unnamed = 0;
                for (e, alias) in items {
                    let name = match alias {
                        Some(a) => a.clone(),
                        None => match implicit_name(e) {
                            Some(n) => n,
                            None => {
                                unnamed += 1;
                                format!("${unnamed}")
                            }
                        },
                    };
                    if let Some(v) = self.eval(e, doc)? {
                        obj.insert(name, v);
                    }
                }
                Ok(Some(Value::Object(obj)))
            }
        }
    }

    fn project_aggregate(&self, select: &Select, rows: &[Value]) -> Result<Value, QueryError> {
        match select {
            Select::Star => Err(QueryError::syntax("SELECT * has no aggregate")),
            Select::Value(e) => Ok(self.eval_aggregate(e, rows)?.unwrap_or(Value::Null)),
            Select::List(items) => {
                let mut obj = Map::new();
                let mut unnamed = 0;
                for (e, alias) in items {
                    let name = alias.clone().unwrap_or_else(|| {
                        unnamed += 1;
                        format!("${unnamed}")
                    });
                    if let Some(v) = self.eval_aggregate(e, rows)? {
                        obj.insert(name, v);
                    }
                }
                Ok(Value::Object(obj))
            }
        }
    }

    fn eval_aggregate(&self, e: &Expr, rows: &[Value]) -> Result<V, QueryError> {
        match e {
            Expr::Count(arg) => {
                let mut n = 0u64;
                for doc in rows {
                    if self.eval(arg, doc)?.is_some() {
                        n += 1;
                    }
                }
                Ok(Some(Value::from(n)))
            }
            _ => Err(QueryError::unsupported(
                "expressions around an aggregate (use VALUE COUNT(...) alone)",
            )),
        }
    }

    fn eval(&self, e: &Expr, doc: &Value) -> Result<V, QueryError> {
        Ok(match e {
            Expr::Literal(v) => Some(v.clone()),
            Expr::Undefined => None,
            Expr::Param(p) => Some(self.param(p)?.clone()),
            Expr::Ident(name) => {
                if name == self.alias {
                    Some(doc.clone())
                } else {
                    return Err(QueryError::syntax(format!(
                        "identifier '{name}' could not be resolved; the FROM alias is '{}'",
                        self.alias
                    )));
                }
            }
            Expr::Prop(base, name) => match self.eval(base, doc)? {
                Some(Value::Object(m)) => m.get(name).cloned(),
                _ => None,
            },
            Expr::Index(base, idx) => {
                let b = self.eval(base, doc)?;
                let i = self.eval(idx, doc)?;
                match (b, i) {
                    (Some(Value::Object(m)), Some(Value::String(k))) => m.get(&k).cloned(),
                    (Some(Value::Array(a)), Some(Value::Number(n))) => n
                        .as_u64()
                        .and_then(|n| a.get(usize::try_from(n).ok()?).cloned()),
                    _ => None,
                }
            }
            Expr::Not(inner) => as_bool(&self.eval(inner, doc)?).map(|b| Value::Bool(!b)),
            Expr::Neg(inner) => match self.eval(inner, doc)? {
                Some(Value::Number(n)) => n.as_f64().and_then(|f| num(-f)),
                _ => None,
            },
            Expr::Binary(op, a, b) => self.binary(*op, a, b, doc)?,
            Expr::In(needle, list, negated) => {
                let Some(n) = self.eval(needle, doc)? else {
                    return Ok(None);
                };
                let mut found = false;
                for item in list {
                    if let Some(v) = self.eval(item, doc)? {
                        if same_kind(&n, &v) && json_eq(&n, &v) {
                            found = true;
                            break;
                        }
                    }
                }
                Some(Value::Bool(found != *negated))
            }
            Expr::Call(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, doc)?);
                }
                call(*f, &vals)
            }
            Expr::Count(_) => {
                return Err(QueryError::syntax(
                    "COUNT is only allowed in the SELECT clause",
                ));
            }
            Expr::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    // Cosmos drops undefined array elements.
                    if let Some(v) = self.eval(i, doc)? {
                        out.push(v);
                    }
                }
                Some(Value::Array(out))
            }
            Expr::Object(fields) => {
                let mut m = Map::new();
                for (k, v) in fields {
                    if let Some(v) = self.eval(v, doc)? {
                        m.insert(k.clone(), v);
                    }
                }
                Some(Value::Object(m))
            }
        })
    }

    fn binary(&self, op: BinOp, a: &Expr, b: &Expr, doc: &Value) -> Result<V, QueryError> {
        let x = self.eval(a, doc)?;
        match op {
            BinOp::And => {
                if as_bool(&x) == Some(false) {
                    return Ok(Some(Value::Bool(false)));
                }
                let y = as_bool(&self.eval(b, doc)?);
                return Ok(match (as_bool(&x), y) {
                    (_, Some(false)) => Some(Value::Bool(false)),
                    (Some(true), Some(true)) => Some(Value::Bool(true)),
                    _ => None,
                });
            }
            BinOp::Or => {
                if as_bool(&x) == Some(true) {
                    return Ok(Some(Value::Bool(true)));
                }
                let y = as_bool(&self.eval(b, doc)?);
                return Ok(match (as_bool(&x), y) {
                    (_, Some(true)) => Some(Value::Bool(true)),
                    (Some(false), Some(false)) => Some(Value::Bool(false)),
                    _ => None,
                });
            }
            _ => {}
        }
        let y = self.eval(b, doc)?;
        let (Some(x), Some(y)) = (x, y) else {
            return Ok(None);
        };
        Ok(match op {
            BinOp::Eq | BinOp::Ne => {
                if !same_kind(&x, &y) {
                    None
                } else {
                    let eq = json_eq(&x, &y);
                    Some(Value::Bool(if op == BinOp::Eq { eq } else { !eq }))
                }
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => compare_same_type(&Some(x), &Some(y))
                .map(|o| {
                    Value::Bool(match op {
                        BinOp::Lt => o == Ordering::Less,
                        BinOp::Le => o != Ordering::Greater,
                        BinOp::Gt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    })
                }),
            _ => {
                let (Some(p), Some(q)) = (x.as_f64(), y.as_f64()) else {
                    return Ok(None);
                };
                match op {
                    BinOp::Add => num(p + q),
                    BinOp::Sub => num(p - q),
                    BinOp::Mul => num(p * q),
                    BinOp::Div if q != 0.0 => num(p / q),
                    BinOp::Mod if q != 0.0 => num(p % q),
                    _ => None,
                }
            }
        })
    }
}

/// The property name a projection gets when it has no alias.
fn implicit_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Prop(_, name) => Some(name.clone()),
        Expr::Ident(name) => Some(name.clone()),
        Expr::Index(_, idx) => match idx.as_ref() {
            Expr::Literal(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn str_fn(args: &[V], f: impl Fn(&str, &str) -> bool) -> V {
    let (Some(Value::String(s)), Some(Value::String(p))) = (&args[0], &args[1]) else {
        return None;
    };
    let ignore_case = match args.get(2) {
        None => false,
        Some(Some(Value::Bool(b))) => *b,
        Some(_) => return None,
    };
    Some(Value::Bool(if ignore_case {
        f(&s.to_lowercase(), &p.to_lowercase())
    } else {
        f(s, p)
    }))
}

fn partial_match(item: &Value, pattern: &Value) -> bool {
    match (item, pattern) {
        (Value::Object(i), Value::Object(p)) => p
            .iter()
            .all(|(k, v)| i.get(k).is_some_and(|w| json_eq(w, v))),
        _ => json_eq(item, pattern) && same_kind(item, pattern),
    }
}

fn call(f: Func, a: &[V]) -> V {
    let is = |pred: fn(&Value) -> bool| Some(Value::Bool(a[0].as_ref().is_some_and(pred)));
    match f {
        Func::IsDefined => Some(Value::Bool(a[0].is_some())),
        Func::IsNull => is(Value::is_null),
        Func::IsString => is(Value::is_string),
        Func::IsNumber => is(Value::is_number),
        Func::IsBool => is(Value::is_boolean),
        Func::IsArray => is(Value::is_array),
        Func::IsObject => is(Value::is_object),
        Func::Contains => str_fn(a, |s, p| s.contains(p)),
        Func::StartsWith => str_fn(a, |s, p| s.starts_with(p)),
        Func::EndsWith => str_fn(a, |s, p| s.ends_with(p)),
        Func::ArrayContains => {
            let Some(Value::Array(items)) = &a[0] else {
                return None;
            };
            let needle = a[1].as_ref()?;
            let partial = matches!(a.get(2), Some(Some(Value::Bool(true))));
            Some(Value::Bool(items.iter().any(|i| {
                if partial {
                    partial_match(i, needle)
                } else {
                    same_kind(i, needle) && json_eq(i, needle)
                }
            })))
        }
        Func::ArrayLength => match &a[0] {
            Some(Value::Array(items)) => Some(Value::from(items.len())),
            _ => None,
        },
        Func::Length => match &a[0] {
            Some(Value::String(s)) => Some(Value::from(s.chars().count())),
            _ => None,
        },
        Func::Lower => match &a[0] {
            Some(Value::String(s)) => Some(Value::String(s.to_lowercase())),
            _ => None,
        },
        Func::Upper => match &a[0] {
            Some(Value::String(s)) => Some(Value::String(s.to_uppercase())),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use serde_json::json;

    fn docs() -> Vec<Value> {
        vec![
            json!({"id": "1", "n": 3, "s": "apple", "tags": ["a", "b"], "o": {"x": 1}}),
            json!({"id": "2", "n": 1, "s": "banana", "tags": ["b"], "o": {"x": 2}}),
            json!({"id": "3", "n": 2, "s": "cherry"}),
            json!({"id": "4", "s": "Apricot", "n": "text"}),
        ]
    }

    fn run(q: &str, params: &[(&str, Value)]) -> Vec<Value> {
        let q = parse(q).expect("parse");
        let p: HashMap<String, Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        execute(&q, &p, docs()).expect("execute")
    }

    #[test]
    fn filters_and_projection() {
        assert_eq!(
            run("SELECT VALUE c.id FROM c WHERE c.n > 1", &[]),
            vec![json!("1"), json!("3")]
        );
        assert_eq!(
            run(
                "SELECT c.id, c.o.x AS ox FROM c WHERE c.n = @n",
                &[("@n", json!(1))]
            ),
            vec![json!({"id": "2", "ox": 2})]
        );
        assert_eq!(
            run(
                "SELECT VALUE c.id FROM c WHERE NOT (c.n < 2) AND c.n != 3",
                &[]
            ),
            vec![json!("3")]
        );
        assert_eq!(
            run("SELECT VALUE c.id FROM c WHERE STARTSWITH(c.s, 'ap', true) OR CONTAINS(c.s, 'err')", &[]),
            vec![json!("1"), json!("3"), json!("4")]
        );
        assert_eq!(
            run("SELECT VALUE c.id FROM c WHERE NOT IS_DEFINED(c.tags)", &[]),
            vec![json!("3"), json!("4")]
        );
        assert_eq!(
            run("SELECT VALUE COUNT(1) FROM c WHERE c.n >= 2", &[]),
            vec![json!(2)]
        );
        assert_eq!(
            run("SELECT COUNT(c.tags) AS t FROM c", &[]),
            vec![json!({"t": 2})]
        );
    }

    #[test]
    fn ordering_and_paging() {
        assert_eq!(
            run(
                "SELECT VALUE c.id FROM c WHERE IS_NUMBER(c.n) ORDER BY c.n DESC",
                &[]
            ),
            vec![json!("1"), json!("3"), json!("2")]
        );
        assert_eq!(
            run("SELECT TOP 2 VALUE c.id FROM c ORDER BY c.s", &[]),
            vec![json!("4"), json!("1")]
        );
        assert_eq!(
            run(
                "SELECT VALUE c.id FROM c ORDER BY c.id OFFSET @o LIMIT @l",
                &[("@o", json!(1)), ("@l", json!(2))]
            ),
            vec![json!("2"), json!("3")]
        );
    }

    #[test]
    fn missing_parameter_is_an_error() {
        let q = parse("SELECT * FROM c WHERE c.n = @missing").expect("parse");
        let err = execute(&q, &HashMap::new(), docs()).expect_err("missing param");
        assert!(err.to_string().contains("@missing"));
    }

    #[test]
    fn mixed_types_do_not_compare() {
        assert_eq!(
            run("SELECT VALUE c.id FROM c WHERE c.n > 'a'", &[]),
            vec![json!("4")]
        );
        assert_eq!(
            run("SELECT VALUE c.id FROM c WHERE c.n = '3'", &[]),
            Vec::<Value>::new()
        );
    }
}
