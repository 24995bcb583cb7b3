//! `application/x-www-form-urlencoded` decoding for query strings and form bodies.

use percent_encoding::percent_decode_str;

/// Decoded `key=value` pairs in their original order; repeated keys are kept.
///
/// Decoding turns `+` into a space and `%XX` escapes into bytes (invalid UTF-8 becomes U+FFFD).
/// Malformed escapes such as `%zz` or a trailing `%` are kept literally; a pair without `=` has
/// an empty value; empty pairs (`&&`) are skipped. Decoding never fails.
///
/// ```
/// let q = azure_wasi_handler::Query::parse("a=1&b=x+y&a=%32&c&bad=%zz");
/// assert_eq!(q.get("a"), Some("1"));
/// assert_eq!(q.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
/// assert_eq!(q.get("b"), Some("x y"));
/// assert_eq!(q.get("c"), Some(""));
/// assert_eq!(q.get("bad"), Some("%zz"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes a query string (without the leading `?`) or a form body.
    ///
    /// ```
    /// assert_eq!(azure_wasi_handler::Query::parse("").len(), 0);
    /// ```
    pub fn parse(input: &str) -> Self {
        let input = input.strip_prefix('?').unwrap_or(input);
        let pairs = input
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode_component(key), decode_component(value))
            })
            .collect();
        Self { pairs }
    }

    /// The first value of `name`.
    ///
    /// ```
    /// assert_eq!(azure_wasi_handler::Query::parse("x=1&x=2").get("x"), Some("1"));
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    ///
    /// ```
    /// assert_eq!(azure_wasi_handler::Query::parse("x=1&y=0&x=2").get_all("x").count(), 2);
    /// ```
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All pairs in order.
    ///
    /// ```
    /// let q = azure_wasi_handler::Query::parse("a=1&b=2");
    /// assert_eq!(q.iter().map(|(k, _)| k).collect::<String>(), "ab");
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of pairs.
    ///
    /// ```
    /// assert_eq!(azure_wasi_handler::Query::parse("a&b").len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are no pairs.
    ///
    /// ```
    /// assert!(azure_wasi_handler::Query::parse("&&").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Takes the pairs out.
    ///
    /// ```
    /// let v = azure_wasi_handler::Query::parse("k=v").into_pairs();
    /// assert_eq!(v, [("k".to_string(), "v".to_string())]);
    /// ```
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.pairs
    }
}

impl<'a> IntoIterator for &'a Query {
    type Item = &'a (String, String);
    type IntoIter = std::slice::Iter<'a, (String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.iter()
    }
}

/// Decodes one form component: `+` is a space, `%XX` an escaped byte.
///
/// ```
/// assert_eq!(azure_wasi_handler::decode_component("a+b%2Bc%"), "a b+c%");
/// ```
pub fn decode_component(input: &str) -> String {
    let spaced = input.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_cases_decode_without_panicking() {
        let q = Query::parse("%=%&=v&k=&%%41=%4&%E2%82%AC=%e2%82%ac&bin=%ff&sp=a%20b+c&eq=a=b");
        let pairs: Vec<_> = q.iter().collect();
        assert_eq!(
            pairs,
            [
                ("%", "%"),
                ("", "v"),
                ("k", ""),
                ("%A", "%4"),
                ("€", "€"),
                ("bin", "\u{FFFD}"),
                ("sp", "a b c"),
                ("eq", "a=b"),
            ]
        );
    }

    #[test]
    fn plus_encoded_is_literal_plus() {
        assert_eq!(Query::parse("x=1%2B1").get("x"), Some("1+1"));
    }

    #[test]
    fn leading_question_mark_is_ignored() {
        assert_eq!(Query::parse("?a=1").get("a"), Some("1"));
    }
}
