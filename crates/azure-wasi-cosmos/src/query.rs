//! Parameterised queries and paging over continuation tokens.

use crate::{
    container::header,
    transport::{Call, Inner},
    validate_id, PartitionKey, Result,
};
use azure_core::http::Method;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::{marker::PhantomData, sync::Arc};

/// A SQL query with named parameters.
///
/// ```
/// use azure_wasi_cosmos::Query;
/// let q = Query::from("SELECT * FROM c WHERE c.id = @id").with_parameter("@id", "1").unwrap();
/// assert_eq!(serde_json::to_value(&q).unwrap()["parameters"][0]["value"], "1");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    query: String,
    parameters: Vec<Parameter>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Parameter {
    name: String,
    value: serde_json::Value,
}

impl Query {
    /// Adds `@name` = `value` (any serialisable value).
    ///
    /// ```
    /// let q = azure_wasi_cosmos::Query::from("SELECT * FROM c WHERE c.n > @n AND c.tag = @tag")
    ///     .with_parameter("@n", 3)?
    ///     .with_parameter("tag", ["a", "b"])?; // the `@` is added when missing
    /// let body = serde_json::to_value(&q)?;
    /// assert_eq!(body["parameters"][1], serde_json::json!({ "name": "@tag", "value": ["a", "b"] }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_parameter(mut self, name: &str, value: impl Serialize) -> Result<Self> {
        let name = if name.starts_with('@') {
            name.to_string()
        } else {
            format!("@{name}")
        };
        self.parameters.push(Parameter {
            name,
            value: serde_json::to_value(value)?,
        });
        Ok(self)
    }

    /// The query text.
    ///
    /// ```
    /// assert_eq!(azure_wasi_cosmos::Query::from("SELECT 1").text(), "SELECT 1");
    /// ```
    pub fn text(&self) -> &str {
        &self.query
    }
}

impl From<&str> for Query {
    fn from(text: &str) -> Self {
        Self {
            query: text.to_string(),
            parameters: Vec::new(),
        }
    }
}

impl From<String> for Query {
    fn from(text: String) -> Self {
        Self {
            query: text,
            parameters: Vec::new(),
        }
    }
}

/// One page of results.
///
/// ```no_run
/// # async fn f(mut p: azure_wasi_cosmos::QueryPager<serde_json::Value>) -> azure_wasi_cosmos::Result<()> {
/// if let Some(page) = p.next_page().await? { println!("{} items", page.items.len()); }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct QueryPage<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Token for the next page (`None` on the last page).
    pub continuation: Option<String>,
    /// Request units charged for this page.
    pub request_charge: Option<f64>,
}

pub(crate) enum FeedKind {
    Query(Query),
    ReadFeed,
}

#[derive(Deserialize)]
struct Documents<T> {
    #[serde(rename = "Documents")]
    documents: Vec<T>,
}

/// Pages through query or read-feed results, one request per page.
///
/// ```no_run
/// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
/// let items: Vec<serde_json::Value> = c.query_items("SELECT * FROM c", None)
///     .with_max_item_count(100)
///     .collect_all().await?;
/// # Ok(()) }
/// ```
pub struct QueryPager<T> {
    inner: Arc<Inner>,
    database: String,
    container: String,
    kind: FeedKind,
    partition_key: Option<PartitionKey>,
    max_item_count: Option<u32>,
    continuation: Option<String>,
    done: bool,
    _items: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for QueryPager<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryPager")
            .field("database", &self.database)
            .field("container", &self.container)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> QueryPager<T> {
    pub(crate) fn new(
        inner: Arc<Inner>,
        database: String,
        container: String,
        kind: FeedKind,
        partition_key: Option<PartitionKey>,
    ) -> Self {
        Self {
            inner,
            database,
            container,
            kind,
            partition_key,
            max_item_count: None,
            continuation: None,
            done: false,
            _items: PhantomData,
        }
    }

    /// Asks for at most `n` items per page (`x-ms-max-item-count`).
    ///
    /// ```no_run
    /// # fn f(c: azure_wasi_cosmos::ContainerClient) {
    /// let pager = c.query_items::<serde_json::Value>("SELECT * FROM c", None).with_max_item_count(10);
    /// # }
    /// ```
    pub fn with_max_item_count(mut self, n: u32) -> Self {
        self.max_item_count = Some(n);
        self
    }

    /// Resumes from a continuation token returned earlier (e.g. by a previous request).
    ///
    /// ```no_run
    /// # fn f(c: azure_wasi_cosmos::ContainerClient, token: String) {
    /// let pager = c.query_items::<serde_json::Value>("SELECT * FROM c", None).with_continuation(token);
    /// # }
    /// ```
    pub fn with_continuation(mut self, token: String) -> Self {
        self.continuation = Some(token);
        self
    }

    /// The next page, or `None` after the last one.
    ///
    /// ```no_run
    /// # async fn f(mut p: azure_wasi_cosmos::QueryPager<serde_json::Value>) -> azure_wasi_cosmos::Result<()> {
    /// while let Some(page) = p.next_page().await? { /* ... */ }
    /// # Ok(()) }
    /// ```
    pub async fn next_page(&mut self) -> Result<Option<QueryPage<T>>> {
        if self.done {
            return Ok(None);
        }
        validate_id("database", &self.database)?;
        validate_id("container", &self.container)?;
        let path = vec!["dbs", &self.database, "colls", &self.container, "docs"];
        let mut call = match &self.kind {
            FeedKind::Query(query) => Call::new(Method::Post, path)
                .header("x-ms-documentdb-isquery", "true")
                .json_body(serde_json::to_vec(query)?)
                .header("content-type", "application/query+json"),
            FeedKind::ReadFeed => Call::new(Method::Get, path),
        };
        match &self.partition_key {
            Some(pk) => {
                call = call.header("x-ms-documentdb-partitionkey", pk.header_value());
            }
            None => {
                call = call.header("x-ms-documentdb-query-enablecrosspartition", "true");
            }
        }
        if let Some(n) = self.max_item_count {
            call = call.header("x-ms-max-item-count", n.to_string());
        }
        if let Some(c) = self.continuation.take() {
            call = call.header("x-ms-continuation", c);
        }
        let response = self.inner.send(call).await?;
        let headers = response.headers().clone();
        let page: Documents<T> = serde_json::from_slice(response.body().as_ref())?;
        let continuation = header(&headers, "x-ms-continuation").filter(|c| !c.is_empty());
        self.done = continuation.is_none();
        self.continuation = continuation.clone();
        Ok(Some(QueryPage {
            items: page.documents,
            continuation,
            request_charge: header(&headers, "x-ms-request-charge").and_then(|v| v.parse().ok()),
        }))
    }

    /// Every remaining item of every page.
    ///
    /// ```no_run
    /// # async fn f(p: azure_wasi_cosmos::QueryPager<serde_json::Value>) -> azure_wasi_cosmos::Result<()> {
    /// let all = p.collect_all().await?;
    /// # Ok(()) }
    /// ```
    pub async fn collect_all(mut self) -> Result<Vec<T>> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page.items);
        }
        Ok(all)
    }
}
