//! Database and container resource models.

use serde::{Deserialize, Serialize};

/// A database as Cosmos DB returns it.
///
/// ```
/// let d: azure_wasi_cosmos::DatabaseProperties = serde_json::from_str(r#"{"id":"app","_etag":"\"1\""}"#).unwrap();
/// assert_eq!(d.id, "app");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseProperties {
    /// The database id.
    pub id: String,
    /// System resource id.
    #[serde(rename = "_rid", default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// ETag of the database resource.
    #[serde(rename = "_etag", default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Last modification (seconds since the epoch).
    #[serde(rename = "_ts", default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<i64>,
}

/// How a container is partitioned.
///
/// ```
/// let p = azure_wasi_cosmos::PartitionKeyDefinition::new("/owner");
/// assert_eq!(p.paths, vec!["/owner".to_string()]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionKeyDefinition {
    /// Partition key paths, e.g. `["/owner"]`.
    pub paths: Vec<String>,
    /// `Hash` (one path) or `MultiHash` (hierarchical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Hash version (2 for new containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
}

impl PartitionKeyDefinition {
    /// A single-path hash partition key (version 2).
    ///
    /// ```
    /// let p = azure_wasi_cosmos::PartitionKeyDefinition::new("/id");
    /// assert_eq!(p.kind.as_deref(), Some("Hash"));
    /// ```
    pub fn new(path: &str) -> Self {
        Self {
            paths: vec![path.to_string()],
            kind: Some("Hash".into()),
            version: Some(2),
        }
    }
}

/// A container (collection) as Cosmos DB returns it.
///
/// ```
/// let c = azure_wasi_cosmos::ContainerProperties::new("notes", "/owner");
/// assert_eq!(serde_json::to_value(&c).unwrap()["partitionKey"]["paths"][0], "/owner");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerProperties {
    /// The container id.
    pub id: String,
    /// The partition key definition.
    #[serde(rename = "partitionKey")]
    pub partition_key: PartitionKeyDefinition,
    /// Default time-to-live of items in seconds (`-1`: on, no default).
    #[serde(
        rename = "defaultTtl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_ttl: Option<i64>,
    /// System resource id.
    #[serde(rename = "_rid", default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// ETag of the container resource.
    #[serde(rename = "_etag", default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl ContainerProperties {
    /// A container partitioned on `partition_key_path`.
    ///
    /// ```
    /// let c = azure_wasi_cosmos::ContainerProperties::new("c", "/pk");
    /// assert_eq!(c.id, "c");
    /// ```
    pub fn new(id: &str, partition_key_path: &str) -> Self {
        Self {
            id: id.to_string(),
            partition_key: PartitionKeyDefinition::new(partition_key_path),
            default_ttl: None,
            rid: None,
            etag: None,
        }
    }
}
