//! Partition key definitions, extraction and the `x-ms-documentdb-partitionkey` header.

use serde_json::{json, Value};

use crate::cosmos::api_error::ApiError;

/// A container's partition key: one path (`Hash`) or several (`MultiHash`), or none for a
/// legacy non-partitioned container.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PartitionKeyDef {
    paths: Vec<Vec<String>>,
    raw: Option<Value>,
}

impl PartitionKeyDef {
    /// Reads the `partitionKey` property of a container body.
    pub(crate) fn from_resource(v: Option<&Value>) -> Result<PartitionKeyDef, ApiError> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(PartitionKeyDef {
                paths: Vec::new(),
                raw: None,
            });
        };
        let paths = v.get("paths").and_then(Value::as_array).ok_or_else(|| {
            ApiError::bad_request("partitionKey.paths must be an array of paths such as [\"/pk\"].")
        })?;
        if paths.is_empty() || paths.len() > 3 {
            return Err(ApiError::bad_request(
                "partitionKey.paths must hold one to three paths.",
            ));
        }
        let mut parsed = Vec::new();
        for p in paths {
            let s = p
                .as_str()
                .ok_or_else(|| ApiError::bad_request("each partition key path must be a string"))?;
            parsed.push(parse_path(s)?);
        }
        let mut raw = v.clone();
        if let Some(m) = raw.as_object_mut() {
            m.entry("kind").or_insert_with(|| {
                json!(if parsed.len() > 1 {
                    "MultiHash"
                } else {
                    "Hash"
                })
            });
            m.entry("version").or_insert_with(|| json!(2));
        }
        Ok(PartitionKeyDef {
            paths: parsed,
            raw: Some(raw),
        })
    }

    /// The definition to store on the container (`None` when not partitioned).
    pub(crate) fn resource(&self) -> Option<Value> {
        self.raw.clone()
    }

    /// Number of key components.
    pub(crate) fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether the container is not partitioned.
    pub(crate) fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The key components of a document (`{}` marks an undefined component, as Cosmos does).
    pub(crate) fn extract(&self, doc: &Value) -> Vec<Value> {
        self.paths
            .iter()
            .map(|path| {
                let mut cur = Some(doc);
                for seg in path {
                    cur = cur.and_then(|c| c.get(seg));
                }
                match cur {
                    Some(v) if !v.is_object() && !v.is_array() => v.clone(),
                    _ => json!({}),
                }
            })
            .collect()
    }

    /// Normalises a header value for this container: `[]` means "undefined" for every
    /// component.
    pub(crate) fn normalize_header(&self, h: &[Value]) -> Vec<Value> {
        if h.is_empty() {
            vec![json!({}); self.paths.len()]
        } else {
            h.to_vec()
        }
    }
}

fn parse_path(s: &str) -> Result<Vec<String>, ApiError> {
    let Some(rest) = s.strip_prefix('/') else {
        return Err(ApiError::bad_request(format!(
            "The partition key path '{s}' must start with '/'."
        )));
    };
    let segs: Vec<String> = rest
        .split('/')
        .map(|seg| seg.trim_matches('"').to_string())
        .collect();
    if segs.iter().any(String::is_empty) {
        return Err(ApiError::bad_request(format!(
            "The partition key path '{s}' has an empty segment."
        )));
    }
    Ok(segs)
}

/// Parses `x-ms-documentdb-partitionkey` (a JSON array; a bare scalar is accepted too).
pub(crate) fn parse_header(s: &str) -> Result<Vec<Value>, ApiError> {
    let v: Value = serde_json::from_str(s).map_err(|_| {
        ApiError::bad_request(
            "The x-ms-documentdb-partitionkey header must be a JSON array such as [\"value\"].",
        )
    })?;
    match v {
        Value::Array(a) => {
            if a.iter().any(|c| {
                c.is_array() || (c.is_object() && c.as_object().is_some_and(|o| !o.is_empty()))
            }) {
                return Err(ApiError::bad_request(
                    "Partition key components must be strings, numbers, booleans, null or {} (undefined).",
                ));
            }
            Ok(a)
        }
        Value::Object(o) if !o.is_empty() => Err(ApiError::bad_request(
            "The x-ms-documentdb-partitionkey header must be a JSON array such as [\"value\"].",
        )),
        other => Ok(vec![other]),
    }
}

/// Canonical text of a key (numbers compared by value), used inside storage keys.
pub(crate) fn pk_key(components: &[Value]) -> String {
    let norm: Vec<Value> = components
        .iter()
        .map(|c| match c {
            Value::Number(n) => n.as_f64().map(|f| json!(f)).unwrap_or_else(|| c.clone()),
            other => other.clone(),
        })
        .collect();
    serde_json::to_string(&norm).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_and_normalise() {
        let def = PartitionKeyDef::from_resource(Some(&json!({"paths": ["/a/b"], "kind": "Hash"})))
            .expect("def");
        assert_eq!(def.extract(&json!({"a": {"b": 1}})), vec![json!(1)]);
        assert_eq!(def.extract(&json!({"a": 1})), vec![json!({})]);
        assert_eq!(
            pk_key(&[json!(1)]),
            pk_key(&parse_header("[1.0]").expect("header"))
        );
        assert_ne!(pk_key(&[json!("1")]), pk_key(&[json!(1)]));
        assert!(parse_header("not json").is_err());
        assert!(PartitionKeyDef::from_resource(Some(&json!({"paths": ["pk"]}))).is_err());
    }
}
