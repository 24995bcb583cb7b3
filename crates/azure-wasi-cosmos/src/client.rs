//! The account-level client.

use crate::{
    transport::{Call, Inner},
    validate_id, CosmosSettings, DatabaseClient, DatabaseProperties, Result,
};
use azure_core::http::{ClientOptions, Method};
use serde::Deserialize;
use std::sync::Arc;

/// A Cosmos DB account. Cheap to clone; all derived clients share one pipeline.
///
/// ```no_run
/// # async fn f() -> azure_wasi_cosmos::Result<()> {
/// let client = azure_wasi_cosmos::CosmosClient::from_env(azure_core::http::ClientOptions::default())?;
/// for db in client.list_databases().await? { println!("{}", db.id); }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CosmosClient {
    inner: Arc<Inner>,
}

#[derive(Deserialize)]
struct DatabaseList {
    #[serde(rename = "Databases", default)]
    databases: Vec<DatabaseProperties>,
}

impl CosmosClient {
    /// A client for the account in `settings`; `options` carries retry settings, extra policies
    /// and the transport (when it has none, `azure_wasi_core`'s WASI transport is used).
    ///
    /// ```
    /// let s = azure_wasi_cosmos::CosmosSettings::new("http://127.0.0.1:8081", azure_wasi_cosmos::EMULATOR_KEY).unwrap();
    /// let client = azure_wasi_cosmos::CosmosClient::new(&s, azure_core::http::ClientOptions::default());
    /// # let _ = client;
    /// ```
    pub fn new(settings: &CosmosSettings, options: ClientOptions) -> Self {
        Self {
            inner: Inner::new(settings.endpoint().clone(), settings.key().clone(), options),
        }
    }

    /// A client from `COSMOS_ENDPOINT`/`COSMOS_ACCOUNT` and `COSMOS_MASTER_KEY`.
    ///
    /// ```no_run
    /// let client = azure_wasi_cosmos::CosmosClient::from_env(azure_core::http::ClientOptions::default())?;
    /// # Ok::<(), azure_wasi_cosmos::Error>(())
    /// ```
    pub fn from_env(options: ClientOptions) -> Result<Self> {
        Ok(Self::new(&CosmosSettings::from_env()?, options))
    }

    /// A client for database `id` (no request is made).
    ///
    /// ```no_run
    /// # let client: azure_wasi_cosmos::CosmosClient = todo!();
    /// let db = client.database_client("app");
    /// ```
    pub fn database_client(&self, id: &str) -> DatabaseClient {
        DatabaseClient::new(self.inner.clone(), id)
    }

    /// Creates database `id`; fails with 409 if it exists.
    ///
    /// ```no_run
    /// # async fn f(client: azure_wasi_cosmos::CosmosClient) -> azure_wasi_cosmos::Result<()> {
    /// let props = client.create_database("app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_database(&self, id: &str) -> Result<DatabaseProperties> {
        validate_id("database", id)?;
        let body = serde_json::to_vec(&serde_json::json!({ "id": id }))?;
        let response = self
            .inner
            .send(Call::new(Method::Post, vec!["dbs"]).json_body(body))
            .await?;
        Ok(serde_json::from_slice(response.body().as_ref())?)
    }

    /// Creates database `id` unless it exists, and returns its client.
    ///
    /// ```no_run
    /// # async fn f(client: azure_wasi_cosmos::CosmosClient) -> azure_wasi_cosmos::Result<()> {
    /// let db = client.create_database_if_not_exists("app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_database_if_not_exists(&self, id: &str) -> Result<DatabaseClient> {
        match self.create_database(id).await {
            Ok(_) => Ok(self.database_client(id)),
            Err(e) if e.is_conflict() => Ok(self.database_client(id)),
            Err(e) => Err(e),
        }
    }

    /// All databases of the account (follows continuation tokens).
    ///
    /// ```no_run
    /// # async fn f(client: azure_wasi_cosmos::CosmosClient) -> azure_wasi_cosmos::Result<()> {
    /// let dbs = client.list_databases().await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_databases(&self) -> Result<Vec<DatabaseProperties>> {
        let mut all = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let mut call = Call::new(Method::Get, vec!["dbs"]);
            if let Some(c) = continuation.take() {
                call = call.header("x-ms-continuation", c);
            }
            let response = self.inner.send(call).await?;
            let page: DatabaseList = serde_json::from_slice(response.body().as_ref())?;
            all.extend(page.databases);
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
