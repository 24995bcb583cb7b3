//! Property tests of the query lexer and parser: no input panics, every refusal says what was
//! wrong, and generated valid queries parse to the tree they were generated from.

use proptest::prelude::*;
use serde_json::Value;

use super::ast::{BinOp, Expr, Func, Query, Select};
use super::lexer::tokenize;
use super::{parse, QueryError};

/// The refusal's reason is a real sentence, under a prefix that says which kind it is.
fn assert_clear(err: &QueryError) -> Result<(), TestCaseError> {
    let (reason, prefix) = match err {
        QueryError::Syntax(r) => (r, "Syntax error: "),
        QueryError::Unsupported(r) => (r, "Unsupported query: "),
        QueryError::Parameter(r) => (r, "Invalid query parameter: "),
    };
    prop_assert!(
        reason.trim().len() >= 3 && reason.chars().any(char::is_alphabetic),
        "unclear reason {:?}",
        reason
    );
    let text = err.to_string();
    prop_assert!(
        text.starts_with(prefix) && text.ends_with(reason.as_str()),
        "{}",
        text
    );
    Ok(())
}

fn check(src: &str) -> Result<(), TestCaseError> {
    if let Err(e) = tokenize(src) {
        assert_clear(&e)?;
    }
    match parse(src) {
        Ok(_) => Ok(()),
        Err(e) => assert_clear(&e),
    }
}

/// The parser's reserved words, plus `UDF` (a prefix the parser treats specially), none of
/// which may be generated as an identifier.
fn reserved() -> Vec<&'static str> {
    let mut words = super::parser::RESERVED.to_vec();
    words.push("UDF");
    words
}

/// An identifier usable as a container name or alias.
fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}".prop_filter("not a keyword", |w| {
        !reserved().iter().any(|r| r.eq_ignore_ascii_case(w))
    })
}

/// A property name (any word, keywords included, is fine after '.').
fn prop_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}"
}

fn string_literal() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 '\"\\\\é😀%_]{0,8}"
}

fn leaf(alias: String) -> BoxedStrategy<Expr> {
    let doc = alias.clone();
    prop_oneof![
        (0u32..1_000_000_000).prop_map(|n| Expr::Literal(Value::from(n))),
        string_literal().prop_map(|s| Expr::Literal(Value::String(s))),
        any::<bool>().prop_map(|b| Expr::Literal(Value::Bool(b))),
        Just(Expr::Literal(Value::Null)),
        Just(Expr::Undefined),
        "[a-zA-Z_][a-zA-Z0-9_]{0,6}".prop_map(|p| Expr::Param(format!("@{p}"))),
        Just(Expr::Ident(alias)),
        prop::collection::vec(prop_name(), 1..4).prop_map(move |path| {
            path.into_iter()
                .fold(Expr::Ident(doc.clone()), |e, p| Expr::Prop(Box::new(e), p))
        }),
    ]
    .boxed()
}

const FUNCS: &[(Func, &str, usize)] = &[
    (Func::IsDefined, "IS_DEFINED", 1),
    (Func::IsNull, "is_null", 1),
    (Func::Contains, "CONTAINS", 2),
    (Func::StartsWith, "StartsWith", 3),
    (Func::ArrayLength, "ARRAY_LENGTH", 1),
    (Func::Lower, "LOWER", 1),
];

const OPS: &[(BinOp, &str)] = &[
    (BinOp::Eq, "="),
    (BinOp::Ne, "!="),
    (BinOp::Lt, "<"),
    (BinOp::Le, "<="),
    (BinOp::Gt, ">"),
    (BinOp::Ge, ">="),
    (BinOp::And, "AND"),
    (BinOp::Or, "or"),
    (BinOp::Add, "+"),
    (BinOp::Sub, "-"),
    (BinOp::Mul, "*"),
    (BinOp::Div, "/"),
    (BinOp::Mod, "%"),
];

fn expr(alias: String) -> BoxedStrategy<Expr> {
    leaf(alias)
        .prop_recursive(3, 24, 3, |inner| {
            prop_oneof![
                (0..OPS.len(), inner.clone(), inner.clone()).prop_map(|(i, a, b)| Expr::Binary(
                    OPS[i].0,
                    Box::new(a),
                    Box::new(b)
                )),
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                inner.clone().prop_map(|e| Expr::Neg(Box::new(e))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Expr::Index(Box::new(a), Box::new(b))),
                (
                    inner.clone(),
                    prop::collection::vec(inner.clone(), 0..3),
                    any::<bool>()
                )
                    .prop_map(|(e, list, not)| Expr::In(Box::new(e), list, not)),
                (0..FUNCS.len(), prop::collection::vec(inner.clone(), 3)).prop_map(
                    |(i, mut args)| {
                        args.truncate(FUNCS[i].2);
                        Expr::Call(FUNCS[i].0, args)
                    }
                ),
                prop::collection::vec(inner.clone(), 0..3).prop_map(Expr::Array),
                prop::collection::vec((prop_name(), inner), 0..3).prop_map(Expr::Object),
            ]
        })
        .boxed()
}

fn quote(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Fully parenthesised tokens of `e`.
fn print(e: &Expr, out: &mut Vec<String>) {
    let list = |items: &[Expr], open: &str, close: &str, out: &mut Vec<String>| {
        out.push(open.into());
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(",".into());
            }
            print(item, out);
        }
        out.push(close.into());
    };
    match e {
        Expr::Literal(Value::String(s)) => out.push(quote(s)),
        Expr::Literal(Value::Bool(b)) => out.push(if *b { "true" } else { "FALSE" }.into()),
        Expr::Literal(Value::Null) => out.push("null".into()),
        Expr::Literal(v) => out.push(v.to_string()),
        Expr::Undefined => out.push("undefined".into()),
        Expr::Param(p) | Expr::Ident(p) => out.push(p.clone()),
        Expr::Prop(e, name) => {
            print(e, out);
            out.push(".".into());
            out.push(name.clone());
        }
        Expr::Index(e, i) => {
            out.push("(".into());
            print(e, out);
            out.push(")".into());
            out.push("[".into());
            print(i, out);
            out.push("]".into());
        }
        Expr::Not(inner) | Expr::Neg(inner) => {
            out.push("(".into());
            out.push(
                if matches!(e, Expr::Not(_)) {
                    "NOT"
                } else {
                    "-"
                }
                .into(),
            );
            out.push("(".into());
            print(inner, out);
            out.push(")".into());
            out.push(")".into());
        }
        Expr::Binary(op, a, b) => {
            out.push("(".into());
            print(a, out);
            out.push(
                OPS.iter()
                    .find(|(o, _)| o == op)
                    .map_or("?", |(_, s)| s)
                    .into(),
            );
            print(b, out);
            out.push(")".into());
        }
        Expr::In(e, items, not) => {
            out.push("(".into());
            print(e, out);
            if *not {
                out.push("NOT".into());
            }
            out.push("IN".into());
            list(items, "(", ")", out);
            out.push(")".into());
        }
        Expr::Call(f, args) => {
            out.push(
                FUNCS
                    .iter()
                    .find(|(g, _, _)| g == f)
                    .map_or("?", |(_, n, _)| n)
                    .into(),
            );
            list(args, "(", ")", out);
        }
        Expr::Count(e) => {
            out.push("COUNT".into());
            list(std::slice::from_ref(e), "(", ")", out);
        }
        Expr::Array(items) => list(items, "[", "]", out),
        Expr::Object(fields) => {
            out.push("{".into());
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(",".into());
                }
                out.push(quote(k));
                out.push(":".into());
                print(v, out);
            }
            out.push("}".into());
        }
    }
}

/// Operators and accessors of `e`, as the parser counts them against its limit.
fn ops(e: &Expr) -> usize {
    match e {
        Expr::Literal(_) | Expr::Undefined | Expr::Param(_) | Expr::Ident(_) => 0,
        Expr::Prop(e, _) | Expr::Not(e) | Expr::Neg(e) => 1 + ops(e),
        Expr::Index(a, b) | Expr::Binary(_, a, b) => 1 + ops(a) + ops(b),
        Expr::Count(e) => ops(e),
        Expr::In(e, list, _) => ops(e) + list.iter().map(ops).sum::<usize>(),
        Expr::Call(_, list) | Expr::Array(list) => list.iter().map(ops).sum(),
        Expr::Object(fields) => fields.iter().map(|(_, e)| ops(e)).sum(),
    }
}

fn query_ops(q: &Query) -> usize {
    let select = match &q.select {
        Select::Star => 0,
        Select::Value(e) => ops(e),
        Select::List(items) => items.iter().map(|(e, _)| ops(e)).sum(),
    };
    select
        + q.filter.as_ref().map_or(0, ops)
        + q.order_by.iter().map(|(e, _)| ops(e)).sum::<usize>()
}

/// A valid query, its tokens, and the tree it must parse to.
fn query() -> impl Strategy<Value = (Vec<String>, Query)> {
    (ident(), prop::option::of(ident()), any::<bool>()).prop_flat_map(|(source, alias, as_kw)| {
        let bound = alias.clone().unwrap_or_else(|| source.clone());
        let select = prop_oneof![
            Just(Select::Star),
            expr(bound.clone()).prop_map(Select::Value),
            prop::collection::vec((expr(bound.clone()), prop::option::of(ident())), 1..4)
                .prop_map(Select::List),
        ];
        (
            prop::option::of(0u32..1000),
            select,
            prop::option::of(expr(bound.clone())),
            prop::collection::vec((expr(bound.clone()), prop::option::of(any::<bool>())), 0..3),
            prop::option::of((0u32..1000, 0u32..1000)),
        )
            .prop_map(move |(top, select, filter, order, offset)| {
                let mut t: Vec<String> = vec!["SELECT".into()];
                if let Some(n) = top {
                    t.extend(["TOP".into(), n.to_string()]);
                }
                match &select {
                    Select::Star => t.push("*".into()),
                    Select::Value(e) => {
                        t.push("VALUE".into());
                        print(e, &mut t);
                    }
                    Select::List(items) => {
                        for (i, (e, a)) in items.iter().enumerate() {
                            if i > 0 {
                                t.push(",".into());
                            }
                            print(e, &mut t);
                            if let Some(a) = a {
                                if as_kw {
                                    t.push("AS".into());
                                }
                                t.push(a.clone());
                            }
                        }
                    }
                }
                t.extend(["FROM".into(), source.clone()]);
                if let Some(a) = &alias {
                    if as_kw {
                        t.push("as".into());
                    }
                    t.push(a.clone());
                }
                if let Some(f) = &filter {
                    t.push("WHERE".into());
                    print(f, &mut t);
                }
                for (i, (e, dir)) in order.iter().enumerate() {
                    t.push(if i == 0 { "ORDER BY" } else { "," }.into());
                    print(e, &mut t);
                    match dir {
                        Some(true) => t.push("DESC".into()),
                        Some(false) => t.push("ASC".into()),
                        None => {}
                    }
                }
                if let Some((o, l)) = offset {
                    t.extend([
                        "OFFSET".into(),
                        o.to_string(),
                        "LIMIT".into(),
                        l.to_string(),
                    ]);
                }
                let q = Query {
                    top: top.map(|n| Expr::Literal(Value::from(n))),
                    select,
                    alias: bound.clone(),
                    filter,
                    order_by: order
                        .into_iter()
                        .map(|(e, dir)| (e, dir == Some(true)))
                        .collect(),
                    offset_limit: offset.map(|(o, l)| {
                        (Expr::Literal(Value::from(o)), Expr::Literal(Value::from(l)))
                    }),
                };
                (t, q)
            })
    })
}

/// Tokens that turn a valid query into a nearly valid one.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(reserved()).prop_map(String::from),
        prop::sample::select(&[
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ",",
            ".",
            ":",
            "=",
            "!=",
            "<>",
            "<",
            "<=",
            ">",
            ">=",
            "+",
            "-",
            "*",
            "/",
            "%",
            "||",
            "??",
            "?",
            "&",
            "|",
            "^",
            "~",
            "@",
            "#",
            "'",
            "\"",
            "--",
            "0x",
            "0xZZ",
            "1e999",
            "1.5",
            "99999999999999999999",
            "'\\u12'",
            "'\\",
            "COUNT",
            "COUNT(*)",
            "udf.f",
            "IS_NULL",
            "SUBSTRING",
            "c",
            "c.a",
            "@p",
            "\0",
            "é",
        ])
        .prop_map(String::from),
        "\\PC{1,4}",
    ]
}

fn mutated() -> impl Strategy<Value = String> {
    (
        query(),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, token()), 1..4),
    )
        .prop_map(|((mut t, _), edits)| {
            for (at, kind, tok) in edits {
                let i = at.index(t.len() + 1);
                match kind {
                    0 => t.insert(i, tok),
                    1 if i < t.len() => t[i] = tok,
                    2 if i < t.len() => {
                        t.remove(i);
                    }
                    _ => t.truncate(i),
                }
            }
            t.join(" ")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,80}") {
        check(&src)?;
    }

    #[test]
    fn arbitrary_unicode_never_panics(src in any::<String>()) {
        check(&src)?;
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..30)) {
        check(&tokens.join(" "))?;
        check(&tokens.concat())?;
    }

    #[test]
    fn generated_queries_parse_to_what_was_generated((tokens, expected) in query()) {
        let src = tokens.join(" ");
        prop_assume!(query_ops(&expected) <= 256);
        match parse(&src) {
            Ok(q) => prop_assert_eq!(q, expected, "{}", src),
            Err(e) => prop_assert!(false, "{} refused: {}", src, e),
        }
        // Whitespace is only a separator where it has to be.
        let tight = tokens.join("\n");
        prop_assert!(parse(&tight).is_ok(), "{}", tight);
    }

    #[test]
    fn mutated_queries_never_panic(src in mutated()) {
        check(&src)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Deep nesting and long operator chains are refused by name, never a stack overflow.
    #[test]
    fn deep_or_long_queries_are_refused_by_name(
        n in 1usize..5000,
        shape in 0usize..6,
    ) {
        let body = match shape {
            0 => format!("{}1{}", "(".repeat(n), ")".repeat(n)),
            1 => format!("{}c.a", "NOT ".repeat(n)),
            2 => format!("{}1", "-".repeat(n)),
            3 => format!("c{}", ".a".repeat(n)),
            4 => format!("1{}", " + 1".repeat(n)),
            _ => format!("{}1{}", "[".repeat(n), "]".repeat(n)),
        };
        let src = format!("SELECT VALUE {body} FROM c");
        match parse(&src) {
            Ok(_) => prop_assert!(n <= 256, "{} levels accepted", n),
            Err(e) => {
                assert_clear(&e)?;
                if n > 300 && shape != 2 {
                    // (`--` starts a comment, so a run of '-' is a different query.)
                    let text = e.to_string();
                    prop_assert!(
                        text.contains("nested") || text.contains("operators"),
                        "{}",
                        text
                    );
                }
            }
        }
    }
}
