//! The account-level client.

use crate::{
    transport::{Call, Inner},
    validate_id, CosmosSettings, CreateOptions, DatabaseClient, DatabaseProperties, Result,
};
use azure_core::http::{ClientMethodOptions, ClientOptions, Method};
use serde::Deserialize;
use std::sync::Arc;

/// A Cosmos DB account. Cheap to clone; all derived clients share one pipeline.
///
/// ```no_run
/// # async fn f() -> azure_wasi_cosmos::Result<()> {
/// let cosmos = azure_wasi_cosmos::Cosmos::from_env()?;
/// for db in cosmos.list_databases(None).await? { println!("{}", db.id); }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cosmos {
    inner: Arc<Inner>,
}

#[derive(Deserialize)]
struct DatabaseList {
    #[serde(rename = "Databases", default)]
    databases: Vec<DatabaseProperties>,
}

impl Cosmos {
    /// The account of `COSMOS_ENDPOINT` (or `COSMOS_ACCOUNT`) and `COSMOS_MASTER_KEY` (see
    /// [`CosmosSettings::from_env`]), over the WASI transport.
    ///
    /// ```no_run
    /// let cosmos = azure_wasi_cosmos::Cosmos::from_env()?;
    /// # Ok::<(), azure_wasi_cosmos::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Ok(Self::new(CosmosSettings::from_env()?))
    }

    /// The account of `settings`, over the WASI transport.
    ///
    /// ```
    /// let s = azure_wasi_cosmos::CosmosSettings::new("http://127.0.0.1:8081", azure_wasi_cosmos::EMULATOR_KEY)?;
    /// let cosmos = azure_wasi_cosmos::Cosmos::new(s);
    /// assert_eq!(cosmos.database_client("app").id(), "app");
    /// # Ok::<(), azure_wasi_cosmos::Error>(())
    /// ```
    pub fn new(settings: CosmosSettings) -> Self {
        Self::with_options(settings, ClientOptions::default())
    }

    /// The account of `settings` with `options` (retry, extra policies, a transport; without a
    /// transport the WASI one is used). The master-key signer is the last per-try policy.
    ///
    /// ```
    /// use azure_core::http::{ClientOptions, RetryOptions};
    /// let s = azure_wasi_cosmos::CosmosSettings::new("http://127.0.0.1:8081", azure_wasi_cosmos::EMULATOR_KEY)?;
    /// let options = ClientOptions { retry: RetryOptions::none(), ..Default::default() };
    /// let cosmos = azure_wasi_cosmos::Cosmos::with_options(s, options);
    /// assert_eq!(cosmos.database_client("app").container_client("notes").id(), "notes");
    /// # Ok::<(), azure_wasi_cosmos::Error>(())
    /// ```
    pub fn with_options(settings: CosmosSettings, options: ClientOptions) -> Self {
        Self {
            inner: Inner::new(
                settings.endpoint().clone(),
                settings.auth().clone(),
                options,
            ),
        }
    }

    /// A client for database `id` (no request is made).
    ///
    /// ```no_run
    /// # let client: azure_wasi_cosmos::Cosmos = todo!();
    /// let db = client.database_client("app");
    /// ```
    pub fn database_client(&self, id: &str) -> DatabaseClient {
        DatabaseClient::new(self.inner.clone(), id)
    }

    /// Creates database `id`; fails with 409 if it exists.
    ///
    /// ```no_run
    /// # async fn f(client: azure_wasi_cosmos::Cosmos) -> azure_wasi_cosmos::Result<()> {
    /// let props = client.create_database("app", None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_database(
        &self,
        id: &str,
        options: Option<CreateOptions>,
    ) -> Result<DatabaseProperties> {
        validate_id("database", id)?;
        let body = serde_json::to_vec(&serde_json::json!({ "id": id }))?;
        let call = Call::new(Method::Post, vec!["dbs"]).json_body(body);
        let response = self
            .inner
            .send(options.unwrap_or_default().apply(call))
            .await?;
        Ok(serde_json::from_slice(response.body().as_ref())?)
    }

    /// Creates database `id` unless it exists (a 409 is success), and returns its client.
    ///
    /// ```no_run
    /// # async fn f(client: azure_wasi_cosmos::Cosmos) -> azure_wasi_cosmos::Result<()> {
    /// let db = client.create_database_if_not_exists("app", None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_database_if_not_exists(
        &self,
        id: &str,
        options: Option<CreateOptions>,
    ) -> Result<DatabaseClient> {
        match self.create_database(id, options).await {
            Ok(_) => Ok(self.database_client(id)),
            Err(e) if e.is_conflict() => Ok(self.database_client(id)),
            Err(e) => Err(e),
        }
    }

    /// All databases of the account (follows continuation tokens).
    ///
    /// ```no_run
    /// # async fn f(client: azure_wasi_cosmos::Cosmos) -> azure_wasi_cosmos::Result<()> {
    /// let dbs = client.list_databases(None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_databases(
        &self,
        options: Option<ClientMethodOptions<'_>>,
    ) -> Result<Vec<DatabaseProperties>> {
        let context = options.unwrap_or_default().context;
        let mut all = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let mut call = Call::new(Method::Get, vec!["dbs"]);
            if let Some(c) = continuation.take() {
                call = call.header("x-ms-continuation", c);
            }
            let response = self.inner.send_in(&context, call).await?;
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
