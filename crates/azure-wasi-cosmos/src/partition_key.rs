//! Partition key values and their header encoding.

use serde_json::Value;

/// A partition key value, sent as `x-ms-documentdb-partitionkey: ["value"]`.
///
/// ```
/// use azure_wasi_cosmos::PartitionKey;
/// assert_eq!(PartitionKey::from("ann").header_value(), r#"["ann"]"#);
/// assert_eq!(PartitionKey::from(42i64).header_value(), "[42]");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionKey(Vec<Value>);

impl PartitionKey {
    /// A key made of several values (hierarchical partition keys).
    ///
    /// ```
    /// use azure_wasi_cosmos::PartitionKey;
    /// let pk = PartitionKey::hierarchical(vec!["a".into(), 1.into()]);
    /// assert_eq!(pk.header_value(), r#"["a",1]"#);
    /// ```
    pub fn hierarchical(values: Vec<Value>) -> Self {
        Self(values)
    }

    /// The key of items whose partition key property is JSON `null`.
    ///
    /// ```
    /// assert_eq!(azure_wasi_cosmos::PartitionKey::null().header_value(), "[null]");
    /// ```
    pub fn null() -> Self {
        Self(vec![Value::Null])
    }

    /// The header value: a JSON array, non-ASCII characters escaped as `\uXXXX`.
    ///
    /// ```
    /// assert_eq!(azure_wasi_cosmos::PartitionKey::from("é").header_value(), r#"["\u00e9"]"#);
    /// ```
    pub fn header_value(&self) -> String {
        let json = Value::Array(self.0.clone()).to_string();
        let mut out = String::with_capacity(json.len());
        for c in json.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out
    }
}

impl From<&str> for PartitionKey {
    fn from(v: &str) -> Self {
        Self(vec![Value::from(v)])
    }
}

impl From<String> for PartitionKey {
    fn from(v: String) -> Self {
        Self(vec![Value::from(v)])
    }
}

impl From<&String> for PartitionKey {
    fn from(v: &String) -> Self {
        Self(vec![Value::from(v.as_str())])
    }
}

impl From<i64> for PartitionKey {
    fn from(v: i64) -> Self {
        Self(vec![Value::from(v)])
    }
}

impl From<f64> for PartitionKey {
    fn from(v: f64) -> Self {
        Self(vec![Value::from(v)])
    }
}

impl From<bool> for PartitionKey {
    fn from(v: bool) -> Self {
        Self(vec![Value::from(v)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values() {
        assert_eq!(PartitionKey::from("a\"b").header_value(), r#"["a\"b"]"#);
        assert_eq!(PartitionKey::from(true).header_value(), "[true]");
        assert_eq!(
            PartitionKey::from("😀").header_value(),
            r#"["\ud83d\ude00"]"#
        );
    }
}
