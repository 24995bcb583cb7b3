//! Tokenizer for the Cosmos SQL subset.

use super::QueryError;

/// One token of a query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// Identifier or keyword (keywords are matched case-insensitively by the parser).
    Ident(String),
    /// `@name` parameter reference (stored with the `@`).
    Param(String),
    /// Numeric literal.
    Number(f64),
    /// String literal (quotes removed, escapes resolved).
    Str(String),
    /// Punctuation or operator.
    Sym(&'static str),
}

const SYMBOLS: &[&str] = &[
    "!=", "<>", "<=", ">=", "||", "??", "=", "<", ">", "*", ",", ".", "(", ")", "[", "]", "{", "}",
    ":", "+", "-", "/", "%", "?", "&", "|", "^", "~",
];

/// Splits `src` into tokens.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == '@' {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if c == '@' {
                if word.len() == 1 {
                    return Err(QueryError::syntax(
                        "'@' must be followed by a parameter name",
                    ));
                }
                out.push(Token::Param(word));
            } else {
                out.push(Token::Ident(word));
            }
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            if c == '0' && matches!(chars.get(i + 1), Some('x') | Some('X')) {
                i += 2;
                while i < chars.len() && chars[i].is_ascii_hexdigit() {
                    i += 1;
                }
                let hex: String = chars[start + 2..i].iter().collect();
                let n = u64::from_str_radix(&hex, 16)
                    .map_err(|_| QueryError::syntax(format!("invalid hex number 0x{hex}")))?;
                out.push(Token::Number(n as f64));
                continue;
            }
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i < chars.len()
                && chars[i] == '.'
                && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())
            {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            let n: f64 = text
                .parse()
                .map_err(|_| QueryError::syntax(format!("invalid number {text}")))?;
            out.push(Token::Number(n));
            continue;
        }
        if c == '\'' || c == '"' {
            let quote = c;
            i += 1;
            let mut s = String::new();
            loop {
                let Some(&ch) = chars.get(i) else {
                    return Err(QueryError::syntax("unterminated string literal"));
                };
                i += 1;
                if ch == quote {
                    break;
                }
                if ch == '\\' {
                    let Some(&esc) = chars.get(i) else {
                        return Err(QueryError::syntax("unterminated escape in string literal"));
                    };
                    i += 1;
                    match esc {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'u' => {
                            let hex: String = chars
                                .get(i..i + 4)
                                .map(|h| h.iter().collect())
                                .unwrap_or_default();
                            let code = u32::from_str_radix(&hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or_else(|| {
                                    QueryError::syntax("invalid \\u escape in string literal")
                                })?;
                            s.push(code);
                            i += 4;
                        }
                        other => s.push(other),
                    }
                } else {
                    s.push(ch);
                }
            }
            out.push(Token::Str(s));
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            out.push(Token::Sym(sym));
            i += sym.chars().count();
            continue;
        }
        return Err(QueryError::syntax(format!("unexpected character '{c}'")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let t = tokenize("SELECT c.a FROM c WHERE c.n >= 1.5 AND c.s != 'x' -- note").expect("lex");
        assert_eq!(t[0], Token::Ident("SELECT".into()));
        assert!(t.contains(&Token::Sym(">=")));
        assert!(t.contains(&Token::Number(1.5)));
        assert!(t.contains(&Token::Sym("!=")));
        let p = tokenize("@x \"a\\\"b\"").expect("lex");
        assert_eq!(
            p,
            vec![Token::Param("@x".into()), Token::Str("a\"b".into())]
        );
    }

    #[test]
    fn errors() {
        assert!(tokenize("'open").is_err());
        assert!(tokenize("c.a # b").is_err());
    }
}
