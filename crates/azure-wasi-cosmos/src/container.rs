//! The container-level client: items and queries.

use crate::{
    query::{FeedKind, QueryPager},
    transport::{Call, Inner},
    validate_id, ContainerProperties, PartitionKey, Query, Result,
};
use azure_core::http::{headers::Headers, ClientMethodOptions, Method, RawResponse};
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::Arc;

/// Options of item writes and deletes; the default sets no condition.
#[derive(Debug, Clone, Default)]
pub struct ItemOptions {
    /// Only succeed if the item's current ETag is this one (optimistic concurrency); a mismatch
    /// is a 412 error ([`crate::Error::is_precondition_failed`]).
    pub if_match: Option<String>,
}

/// Options of reads of one item; the default sets no condition.
#[derive(Debug, Clone, Default)]
pub struct ReadItemOptions {
    /// Answer 304 (an empty [`ItemResponse`]) when the item's ETag is still this one.
    pub if_none_match: Option<String>,
}

/// Options of database and container creation; the default leaves the throughput to the
/// service.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Provisioned throughput in RU/s (`x-ms-offer-throughput`); the account default if `None`.
    pub throughput: Option<u32>,
}

impl CreateOptions {
    pub(crate) fn apply<'a>(&self, call: Call<'a>) -> Call<'a> {
        match self.throughput {
            Some(t) => call.header("x-ms-offer-throughput", t.to_string()),
            None => call,
        }
    }
}

/// Options of queries and read feeds; the default is a cross-partition query with the
/// service's page size.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    /// Only this partition; `None` reads across partitions.
    pub partition_key: Option<PartitionKey>,
    /// Items per page (`x-ms-max-item-count`).
    pub max_item_count: Option<u32>,
}

/// The answer to an item operation.
///
/// ```no_run
/// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
/// let r = c.read_item("ann", "1", None).await?;
/// let etag = r.etag.clone();
/// let doc: serde_json::Value = r.into_item()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ItemResponse {
    /// HTTP status (200, 201, 204).
    pub status: u16,
    /// The item's new ETag (for a later `if_match`).
    pub etag: Option<String>,
    /// Request units charged (`x-ms-request-charge`).
    pub request_charge: Option<f64>,
    /// Session token (`x-ms-session-token`).
    pub session_token: Option<String>,
    /// The raw JSON body (empty for deletes).
    pub body: Bytes,
}

impl ItemResponse {
    fn from_raw(response: RawResponse) -> Self {
        let status = u16::from(response.status());
        let headers = response.headers().clone();
        Self {
            status,
            etag: header(&headers, "etag"),
            request_charge: header(&headers, "x-ms-request-charge").and_then(|v| v.parse().ok()),
            session_token: header(&headers, "x-ms-session-token"),
            body: Bytes::from(response.into_body()),
        }
    }

    /// Deserialises the item in the body.
    ///
    /// ```no_run
    /// # fn f(r: azure_wasi_cosmos::ItemResponse) -> azure_wasi_cosmos::Result<()> {
    /// let doc: serde_json::Value = r.into_item()?;
    /// # Ok(()) }
    /// ```
    pub fn into_item<T: DeserializeOwned>(self) -> Result<T> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

pub(crate) fn header(headers: &Headers, name: &'static str) -> Option<String> {
    headers.get_optional_str(&name.into()).map(str::to_string)
}

/// A container (collection). Cheap to clone.
///
/// ```no_run
/// # async fn f(db: azure_wasi_cosmos::DatabaseClient) -> azure_wasi_cosmos::Result<()> {
/// let notes = db.container_client("notes");
/// notes.upsert_item("ann", &serde_json::json!({"id": "1", "owner": "ann"}), None).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ContainerClient {
    inner: Arc<Inner>,
    database: String,
    id: String,
}

impl ContainerClient {
    pub(crate) fn new(inner: Arc<Inner>, database: &str, id: &str) -> Self {
        Self {
            inner,
            database: database.to_string(),
            id: id.to_string(),
        }
    }

    /// The container id.
    ///
    /// ```no_run
    /// # let c: azure_wasi_cosmos::ContainerClient = todo!();
    /// println!("{}", c.id());
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The database id.
    ///
    /// ```no_run
    /// # let c: azure_wasi_cosmos::ContainerClient = todo!();
    /// println!("{}", c.database_id());
    /// ```
    pub fn database_id(&self) -> &str {
        &self.database
    }

    fn check(&self) -> Result<()> {
        validate_id("database", &self.database)?;
        validate_id("container", &self.id)
    }

    fn coll_path(&self) -> Vec<&str> {
        vec!["dbs", &self.database, "colls", &self.id]
    }

    fn docs_path(&self) -> Vec<&str> {
        vec!["dbs", &self.database, "colls", &self.id, "docs"]
    }

    /// Reads the container's properties. `options` carries the call's `Context`, as in
    /// `azure_core` clients.
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
    /// let props = c.read(None).await?;
    /// println!("{:?}", props.partition_key.paths);
    /// # Ok(()) }
    /// ```
    pub async fn read(
        &self,
        options: Option<ClientMethodOptions<'_>>,
    ) -> Result<ContainerProperties> {
        self.check()?;
        let context = options.unwrap_or_default().context;
        let response = self
            .inner
            .send_in(&context, Call::new(Method::Get, self.coll_path()))
            .await?;
        Ok(serde_json::from_slice(response.body().as_ref())?)
    }

    /// Deletes the container and its items.
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
    /// c.delete(None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, options: Option<ClientMethodOptions<'_>>) -> Result<()> {
        self.check()?;
        let context = options.unwrap_or_default().context;
        self.inner
            .send_in(&context, Call::new(Method::Delete, self.coll_path()))
            .await?;
        Ok(())
    }

    async fn write_item<T: Serialize>(
        &self,
        method: Method,
        path: Vec<&str>,
        partition_key: PartitionKey,
        item: &T,
        upsert: bool,
        options: Option<ItemOptions>,
    ) -> Result<ItemResponse> {
        self.check()?;
        let body = serde_json::to_vec(item)?;
        let mut call = Call::new(method, path)
            .header("x-ms-documentdb-partitionkey", partition_key.header_value())
            .json_body(body);
        if upsert {
            call = call.header("x-ms-documentdb-is-upsert", "true");
        }
        if let Some(etag) = options.and_then(|o| o.if_match) {
            call = call.header("if-match", etag);
        }
        Ok(ItemResponse::from_raw(self.inner.send(call).await?))
    }

    /// Creates an item; 409 if one with the same id exists in the partition.
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
    /// c.create_item("ann", &serde_json::json!({"id": "1", "owner": "ann"}), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_item<T: Serialize>(
        &self,
        partition_key: impl Into<PartitionKey>,
        item: &T,
        options: Option<ItemOptions>,
    ) -> Result<ItemResponse> {
        self.write_item(
            Method::Post,
            self.docs_path(),
            partition_key.into(),
            item,
            false,
            options,
        )
        .await
    }

    /// Creates or replaces an item (`x-ms-documentdb-is-upsert: true`).
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
    /// c.upsert_item("ann", &serde_json::json!({"id": "1", "owner": "ann"}), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn upsert_item<T: Serialize>(
        &self,
        partition_key: impl Into<PartitionKey>,
        item: &T,
        options: Option<ItemOptions>,
    ) -> Result<ItemResponse> {
        self.write_item(
            Method::Post,
            self.docs_path(),
            partition_key.into(),
            item,
            true,
            options,
        )
        .await
    }

    /// Replaces item `item_id`; with `if_match` only if it has not changed.
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
    /// let current = c.read_item("ann", "1", None).await?;
    /// let options = azure_wasi_cosmos::ItemOptions { if_match: current.etag.clone() };
    /// c.replace_item("ann", "1", &serde_json::json!({"id": "1", "owner": "ann", "v": 2}), Some(options)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn replace_item<T: Serialize>(
        &self,
        partition_key: impl Into<PartitionKey>,
        item_id: &str,
        item: &T,
        options: Option<ItemOptions>,
    ) -> Result<ItemResponse> {
        validate_id("item", item_id)?;
        let mut path = self.docs_path();
        path.push(item_id);
        self.write_item(
            Method::Put,
            path,
            partition_key.into(),
            item,
            false,
            options,
        )
        .await
    }

    /// Reads item `item_id` (404 if absent).
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
    /// let doc: serde_json::Value = c.read_item("ann", "1", None).await?.into_item()?;
    /// # Ok(()) }
    /// ```
    pub async fn read_item(
        &self,
        partition_key: impl Into<PartitionKey>,
        item_id: &str,
        options: Option<ReadItemOptions>,
    ) -> Result<ItemResponse> {
        self.check()?;
        validate_id("item", item_id)?;
        let mut path = self.docs_path();
        path.push(item_id);
        let mut call = Call::new(Method::Get, path).header(
            "x-ms-documentdb-partitionkey",
            partition_key.into().header_value(),
        );
        if let Some(etag) = options.and_then(|o| o.if_none_match) {
            call = call.header("if-none-match", etag);
        }
        Ok(ItemResponse::from_raw(self.inner.send(call).await?))
    }

    /// Deletes item `item_id`; with `if_match` only if it has not changed.
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
    /// c.delete_item("ann", "1", None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_item(
        &self,
        partition_key: impl Into<PartitionKey>,
        item_id: &str,
        options: Option<ItemOptions>,
    ) -> Result<ItemResponse> {
        self.check()?;
        validate_id("item", item_id)?;
        let mut path = self.docs_path();
        path.push(item_id);
        let mut call = Call::new(Method::Delete, path).header(
            "x-ms-documentdb-partitionkey",
            partition_key.into().header_value(),
        );
        if let Some(etag) = options.and_then(|o| o.if_match) {
            call = call.header("if-match", etag);
        }
        Ok(ItemResponse::from_raw(self.inner.send(call).await?))
    }

    /// A parameterised query; without a partition key in `options` it runs across partitions.
    /// Results come page by page (continuation tokens) from the returned pager.
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
    /// use azure_wasi_cosmos::Query;
    /// let q = Query::from("SELECT * FROM c WHERE c.size > @min").with_parameter("@min", 10)?;
    /// let mut pager = c.query_items::<serde_json::Value>(q, None);
    /// while let Some(page) = pager.next_page().await? {
    ///     for item in page.items { println!("{item}"); }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn query_items<T: DeserializeOwned>(
        &self,
        query: impl Into<Query>,
        options: Option<QueryOptions>,
    ) -> QueryPager<T> {
        self.pager(FeedKind::Query(query.into()), options.unwrap_or_default())
    }

    fn pager<T: DeserializeOwned>(&self, kind: FeedKind, options: QueryOptions) -> QueryPager<T> {
        let pager = QueryPager::new(
            self.inner.clone(),
            self.database.clone(),
            self.id.clone(),
            kind,
            options.partition_key,
        );
        match options.max_item_count {
            Some(n) => pager.with_max_item_count(n),
            None => pager,
        }
    }

    /// Every item (read feed), page by page; a partition key in `options` limits it to one
    /// partition.
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
    /// let all: Vec<serde_json::Value> = c.read_all_items(None).collect_all().await?;
    /// # Ok(()) }
    /// ```
    pub fn read_all_items<T: DeserializeOwned>(
        &self,
        options: Option<QueryOptions>,
    ) -> QueryPager<T> {
        self.pager(FeedKind::ReadFeed, options.unwrap_or_default())
    }
}
