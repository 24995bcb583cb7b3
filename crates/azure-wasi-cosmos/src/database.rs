//! The database-level client.

use crate::{
    transport::{Call, Inner},
    validate_id, ContainerClient, ContainerProperties, CreateOptions, DatabaseProperties, Result,
};
use azure_core::http::{ClientMethodOptions, Method};
use serde::Deserialize;
use std::sync::Arc;

/// A database. Cheap to clone.
///
/// ```no_run
/// # async fn f(client: azure_wasi_cosmos::Cosmos) -> azure_wasi_cosmos::Result<()> {
/// let db = client.database_client("app");
/// let notes = db.create_container_if_not_exists("notes", "/owner", None).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DatabaseClient {
    inner: Arc<Inner>,
    id: String,
}

#[derive(Deserialize)]
struct ContainerList {
    #[serde(rename = "DocumentCollections", default)]
    containers: Vec<ContainerProperties>,
}

impl DatabaseClient {
    pub(crate) fn new(inner: Arc<Inner>, id: &str) -> Self {
        Self {
            inner,
            id: id.to_string(),
        }
    }

    /// The database id.
    ///
    /// ```no_run
    /// # let db: azure_wasi_cosmos::DatabaseClient = todo!();
    /// println!("{}", db.id());
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A client for container `id` (no request is made).
    ///
    /// ```no_run
    /// # let db: azure_wasi_cosmos::DatabaseClient = todo!();
    /// let notes = db.container_client("notes");
    /// ```
    pub fn container_client(&self, id: &str) -> ContainerClient {
        ContainerClient::new(self.inner.clone(), &self.id, id)
    }

    /// Reads the database's properties (404 if it does not exist).
    ///
    /// ```no_run
    /// # async fn f(db: azure_wasi_cosmos::DatabaseClient) -> azure_wasi_cosmos::Result<()> {
    /// let props = db.read(None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn read(
        &self,
        options: Option<ClientMethodOptions<'_>>,
    ) -> Result<DatabaseProperties> {
        validate_id("database", &self.id)?;
        let context = options.unwrap_or_default().context;
        let response = self
            .inner
            .send_in(&context, Call::new(Method::Get, vec!["dbs", &self.id]))
            .await?;
        Ok(serde_json::from_slice(response.body().as_ref())?)
    }

    /// Deletes the database and everything in it.
    ///
    /// ```no_run
    /// # async fn f(db: azure_wasi_cosmos::DatabaseClient) -> azure_wasi_cosmos::Result<()> {
    /// db.delete(None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, options: Option<ClientMethodOptions<'_>>) -> Result<()> {
        validate_id("database", &self.id)?;
        let context = options.unwrap_or_default().context;
        self.inner
            .send_in(&context, Call::new(Method::Delete, vec!["dbs", &self.id]))
            .await?;
        Ok(())
    }

    /// Creates a container; fails with 409 if it exists.
    ///
    /// ```no_run
    /// # async fn f(db: azure_wasi_cosmos::DatabaseClient) -> azure_wasi_cosmos::Result<()> {
    /// db.create_container(&azure_wasi_cosmos::ContainerProperties::new("notes", "/owner"), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_container(
        &self,
        properties: &ContainerProperties,
        options: Option<CreateOptions>,
    ) -> Result<ContainerProperties> {
        validate_id("database", &self.id)?;
        validate_id("container", &properties.id)?;
        let body = serde_json::to_vec(properties)?;
        let call = Call::new(Method::Post, vec!["dbs", &self.id, "colls"]).json_body(body);
        let response = self
            .inner
            .send(options.unwrap_or_default().apply(call))
            .await?;
        Ok(serde_json::from_slice(response.body().as_ref())?)
    }

    /// Creates container `id` partitioned on `partition_key_path` unless it exists (a 409 is
    /// success), and returns its client.
    ///
    /// ```no_run
    /// # async fn f(db: azure_wasi_cosmos::DatabaseClient) -> azure_wasi_cosmos::Result<()> {
    /// let notes = db.create_container_if_not_exists("notes", "/owner", None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_container_if_not_exists(
        &self,
        id: &str,
        partition_key_path: &str,
        options: Option<CreateOptions>,
    ) -> Result<ContainerClient> {
        match self
            .create_container(&ContainerProperties::new(id, partition_key_path), options)
            .await
        {
            Ok(_) => Ok(self.container_client(id)),
            Err(e) if e.is_conflict() => Ok(self.container_client(id)),
            Err(e) => Err(e),
        }
    }

    /// All containers of the database (follows continuation tokens).
    ///
    /// ```no_run
    /// # async fn f(db: azure_wasi_cosmos::DatabaseClient) -> azure_wasi_cosmos::Result<()> {
    /// for c in db.list_containers(None).await? { println!("{}", c.id); }
    /// # Ok(()) }
    /// ```
    pub async fn list_containers(
        &self,
        options: Option<ClientMethodOptions<'_>>,
    ) -> Result<Vec<ContainerProperties>> {
        validate_id("database", &self.id)?;
        let context = options.unwrap_or_default().context;
        let mut all = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let mut call = Call::new(Method::Get, vec!["dbs", &self.id, "colls"]);
            if let Some(c) = continuation.take() {
                call = call.header("x-ms-continuation", c);
            }
            let response = self.inner.send_in(&context, call).await?;
            let page: ContainerList = serde_json::from_slice(response.body().as_ref())?;
            all.extend(page.containers);
            continuation = response
                .headers()
                .get_optional_str(&"x-ms-continuation".into())
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            if continuation.is_none() {
                return Ok(all);
            }
        }
    }
}
