//! The account client ([`Storage`]) and its container and blob clients: the official
//! `azure_storage_blob` clients with our signing policy installed.

use crate::{
    transfer, BlobDownload, BlobSasBuilder, Error, Result, SasSigner, SasToken, SharedKeySigner,
    StorageAuth, StorageSettings, UploadOptions, UploadSummary,
};
use azure_core::http::{ClientOptions, Url};
use azure_storage_blob::models::{BlobClientDownloadOptions, BlobContainerClientCreateOptions};
use azure_storage_blob::{
    BlobClientOptions, BlobContainerClientOptions, BlobServiceClient, BlobServiceClientOptions,
};
use azure_wasi_core::auth::{
    add_signing_policy, add_token_policy, RequestSigner, TokenFormat, TokenPolicy,
};

/// The Entra ID scope of Blob Storage tokens.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";
use std::{io::Read, sync::Arc};

/// A storage account: builds container and blob clients that sign every request (Shared Key or
/// SAS) and send it through the WASI transport. Cheap to clone.
///
/// ```
/// use azure_wasi_storage::{Storage, StorageSettings, EMULATOR_ACCOUNT, EMULATOR_KEY};
/// let settings = StorageSettings::new(EMULATOR_ACCOUNT, EMULATOR_KEY,
///     Some("http://127.0.0.1:10000/devstoreaccount1"))?;
/// let storage = Storage::new(settings);
/// let blob = storage.blob("photos", "cat.jpg")?;
/// assert_eq!(blob.url().as_str(), "http://127.0.0.1:10000/devstoreaccount1/photos/cat.jpg");
/// # Ok::<(), azure_wasi_storage::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Storage {
    settings: StorageSettings,
    options: ClientOptions,
}

impl Storage {
    /// The account of `STORAGE_ACCOUNT`, `STORAGE_MASTER_KEY` (or `STORAGE_SAS_TOKEN`) and the
    /// optional `STORAGE_ENDPOINT` (see [`StorageSettings::from_env`]), over the WASI transport.
    ///
    /// ```no_run
    /// let storage = azure_wasi_storage::Storage::from_env()?;
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Ok(Self::new(StorageSettings::from_env()?))
    }

    /// The account of `settings`, over the WASI transport.
    ///
    /// ```
    /// let s = azure_wasi_storage::StorageSettings::new("acct", "a2V5", None)?;
    /// let storage = azure_wasi_storage::Storage::new(s);
    /// assert_eq!(storage.settings().account(), "acct");
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn new(settings: StorageSettings) -> Self {
        Self::with_options(settings, ClientOptions::default())
    }

    /// The account of `settings` with `options` (retry, extra policies, a transport; without a
    /// transport the WASI one is used). The signing policy is appended as the last per-try
    /// policy, so each retry is signed afresh.
    ///
    /// ```
    /// use azure_core::http::{ClientOptions, RetryOptions};
    /// let s = azure_wasi_storage::StorageSettings::new("acct", "a2V5", None)?;
    /// let options = ClientOptions { retry: RetryOptions::none(), ..Default::default() };
    /// let storage = azure_wasi_storage::Storage::with_options(s, options);
    /// let blob = storage.blob("photos", "cat.png")?;
    /// assert_eq!(blob.url().as_str(), "https://acct.blob.core.windows.net/photos/cat.png");
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn with_options(settings: StorageSettings, mut options: ClientOptions) -> Self {
        if options.transport.is_none() {
            options.transport = Some(azure_wasi_core::transport());
        }
        match settings.auth() {
            StorageAuth::Token(credential) => add_token_policy(
                &mut options,
                TokenPolicy::new(credential.clone(), STORAGE_SCOPE, TokenFormat::Bearer),
            ),
            _ => {
                if let Some(signer) = settings.signer() {
                    add_signing_policy(&mut options, signer);
                }
            }
        }
        Self { settings, options }
    }

    /// The settings this account was built from.
    ///
    /// ```
    /// # let storage = azure_wasi_storage::Storage::new(azure_wasi_storage::StorageSettings::new("a", "a2V5", None)?);
    /// assert_eq!(storage.settings().endpoint().as_str(), "https://a.blob.core.windows.net/");
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn settings(&self) -> &StorageSettings {
        &self.settings
    }

    /// The official [`BlobServiceClient`] for the account.
    ///
    /// ```
    /// # let storage = azure_wasi_storage::Storage::new(azure_wasi_storage::StorageSettings::new("a", "a2V5", None)?);
    /// let service = storage.service_client()?;
    /// assert_eq!(service.url().as_str(), "https://a.blob.core.windows.net/");
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn service_client(&self) -> Result<BlobServiceClient> {
        let mut o = BlobServiceClientOptions {
            client_options: self.options.clone(),
            ..Default::default()
        };
        if let Some(v) = self.settings.api_version() {
            o.version = v.to_string();
        }
        Ok(BlobServiceClient::new(
            self.settings.endpoint().clone(),
            None,
            Some(o),
        )?)
    }

    /// A client for container `name` (the name is checked; no request is made).
    ///
    /// ```
    /// # let storage = azure_wasi_storage::Storage::new(azure_wasi_storage::StorageSettings::new("a", "a2V5", None)?);
    /// assert!(storage.container("Bad_Name").is_err());
    /// let photos = storage.container("photos")?;
    /// assert_eq!(photos.name(), "photos");
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn container(&self, name: &str) -> Result<ContainerClient> {
        let mut o = BlobContainerClientOptions {
            client_options: self.options.clone(),
            ..Default::default()
        };
        if let Some(v) = self.settings.api_version() {
            o.version = v.to_string();
        }
        let client = azure_storage_blob::BlobContainerClient::new(
            self.settings.container_url(name)?,
            None,
            Some(o),
        )?;
        Ok(ContainerClient {
            client,
            name: name.to_string(),
        })
    }

    /// A client for blob `name` in `container` (names checked; no request is made).
    ///
    /// ```
    /// # let storage = azure_wasi_storage::Storage::new(azure_wasi_storage::StorageSettings::new("a", "a2V5", None)?);
    /// let blob = storage.blob("docs", "dir/a b.txt")?;
    /// assert_eq!(blob.url().as_str(), "https://a.blob.core.windows.net/docs/dir/a%20b.txt");
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn blob(&self, container: &str, name: &str) -> Result<BlobClient> {
        let mut o = BlobClientOptions {
            client_options: self.options.clone(),
            ..Default::default()
        };
        if let Some(v) = self.settings.api_version() {
            o.version = v.to_string();
        }
        let client = azure_storage_blob::BlobClient::new(
            self.settings.blob_url(container, name)?,
            None,
            Some(o),
        )?;
        Ok(BlobClient { client })
    }
}

/// A blob container. [`ContainerClient::inner`] gives the official client for everything else.
///
/// ```no_run
/// # async fn f() -> azure_wasi_storage::Result<()> {
/// let storage = azure_wasi_storage::Storage::from_env()?;
/// storage.container("photos")?.create_if_not_exists(None).await?;
/// # Ok(()) }
/// ```
pub struct ContainerClient {
    client: azure_storage_blob::BlobContainerClient,
    name: String,
}

impl ContainerClient {
    /// The container name.
    ///
    /// ```
    /// # let storage = azure_wasi_storage::Storage::new(azure_wasi_storage::StorageSettings::new("a", "a2V5", None)?);
    /// assert_eq!(storage.container("logs")?.name(), "logs");
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The container URL.
    ///
    /// ```
    /// # let storage = azure_wasi_storage::Storage::new(azure_wasi_storage::StorageSettings::new("a", "a2V5", None)?);
    /// assert_eq!(storage.container("logs")?.url().as_str(), "https://a.blob.core.windows.net/logs");
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn url(&self) -> &Url {
        self.client.url()
    }

    /// Creates the container unless it exists (a 409 from the service is success). Returns
    /// `true` when it was created now.
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_storage::ContainerClient) -> azure_wasi_storage::Result<()> {
    /// let created = c.create_if_not_exists(None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_if_not_exists(
        &self,
        options: Option<BlobContainerClientCreateOptions<'_>>,
    ) -> Result<bool> {
        match self.client.create(options).await.map_err(Error::from) {
            Ok(_) => Ok(true),
            Err(Error::Service { status: 409, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The official client, for operations this wrapper does not cover.
    ///
    /// ```no_run
    /// # async fn f(c: azure_wasi_storage::ContainerClient) -> azure_wasi_storage::Result<()> {
    /// c.inner().delete(None).await?;
    /// # Ok(()) }
    /// ```
    pub fn inner(&self) -> &azure_storage_blob::BlobContainerClient {
        &self.client
    }
}

/// A blob: streamed uploads in blocks and streamed downloads. [`BlobClient::inner`] gives the
/// official client for everything else.
///
/// ```no_run
/// # async fn f() -> azure_wasi_storage::Result<()> {
/// let blob = azure_wasi_storage::Storage::from_env()?.blob("photos", "cat.jpg")?;
/// let written = blob.upload(&b"meow"[..], Some("image/jpeg"), None).await?;
/// let bytes = blob.download(None).await?.collect().await?;
/// assert_eq!(bytes.len() as u64, written.bytes);
/// # Ok(()) }
/// ```
pub struct BlobClient {
    client: azure_storage_blob::BlobClient,
}

impl std::fmt::Debug for ContainerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerClient")
            .field("url", &self.url().as_str())
            .finish()
    }
}

impl std::fmt::Debug for BlobClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobClient")
            .field("url", &self.url().as_str())
            .finish()
    }
}

impl BlobClient {
    /// The blob URL (no SAS token in it).
    ///
    /// ```
    /// # let storage = azure_wasi_storage::Storage::new(azure_wasi_storage::StorageSettings::new("a", "a2V5", None)?);
    /// assert_eq!(storage.blob("c1c", "x")?.url().as_str(), "https://a.blob.core.windows.net/c1c/x");
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn url(&self) -> &Url {
        self.client.url()
    }

    /// Uploads everything `reader` yields, holding at most one block (default 4 MiB) in memory:
    /// one Put Blob when it fits in a block, else Put Block per block and Put Block List. An
    /// existing blob is replaced. `content_type` defaults to `application/octet-stream`. A reader
    /// that yields nothing is [`Error::EmptyUpload`] (a 400; nothing is written) unless
    /// [`UploadOptions::allow_empty`] is set.
    ///
    /// ```no_run
    /// # async fn f(blob: azure_wasi_storage::BlobClient) -> azure_wasi_storage::Result<()> {
    /// let written = blob.upload(std::io::stdin(), Some("text/plain"), None).await?;
    /// println!("{} bytes in {} block(s)", written.bytes, written.blocks);
    /// # Ok(()) }
    /// ```
    pub async fn upload(
        &self,
        reader: impl Read,
        content_type: Option<&str>,
        options: Option<UploadOptions>,
    ) -> Result<UploadSummary> {
        transfer::upload(
            &self.client,
            reader,
            content_type,
            options.unwrap_or_default(),
        )
        .await
    }

    /// Starts downloading the blob (one range at a time, so memory stays bounded); a missing
    /// blob is a 404 [`Error::Service`].
    ///
    /// ```no_run
    /// # async fn f(blob: azure_wasi_storage::BlobClient) -> azure_wasi_storage::Result<()> {
    /// let download = blob.download(None).await?;
    /// println!("{:?}", download.content_type);
    /// # Ok(()) }
    /// ```
    pub async fn download(
        &self,
        options: Option<BlobClientDownloadOptions<'_>>,
    ) -> Result<BlobDownload> {
        transfer::download(&self.client, options).await
    }

    /// The official client, for operations this wrapper does not cover.
    ///
    /// ```no_run
    /// # async fn f(blob: azure_wasi_storage::BlobClient) -> azure_wasi_storage::Result<()> {
    /// blob.inner().delete(None).await?;
    /// # Ok(()) }
    /// ```
    pub fn inner(&self) -> &azure_storage_blob::BlobClient {
        &self.client
    }
}

impl StorageSettings {
    /// The per-try signer for these settings (Shared Key or SAS; `None` for a token, which
    /// [`Storage`] puts on each attempt with a token policy).
    ///
    /// ```
    /// let s = azure_wasi_storage::StorageSettings::new("a", "a2V5", None).unwrap();
    /// let signer = s.signer().expect("a key signs");
    /// assert!(format!("{signer:?}").contains("SharedKey"));
    /// ```
    pub fn signer(&self) -> Option<Arc<dyn RequestSigner>> {
        match self.auth() {
            StorageAuth::SharedKey(key) => {
                Some(Arc::new(SharedKeySigner::new(self.account(), key.clone())))
            }
            StorageAuth::Sas(token) => Some(Arc::new(SasSigner::new(token.clone()))),
            StorageAuth::Token(_) => None,
        }
    }

    /// URL of a container (name checked).
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// let s = StorageSettings::new(EMULATOR_ACCOUNT, EMULATOR_KEY, Some("http://127.0.0.1:10000/devstoreaccount1")).unwrap();
    /// assert_eq!(s.container_url("photos").unwrap().as_str(), "http://127.0.0.1:10000/devstoreaccount1/photos");
    /// ```
    pub fn container_url(&self, container: &str) -> Result<Url> {
        check_container(container)?;
        self.url_with_segments(&[container])
    }

    /// URL of a blob; `/` in the blob name makes virtual directories, other characters are
    /// percent-encoded.
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// let s = StorageSettings::new("acct", "a2V5", None).unwrap();
    /// assert_eq!(s.blob_url("docs", "dir/a b.txt").unwrap().as_str(),
    ///     "https://acct.blob.core.windows.net/docs/dir/a%20b.txt");
    /// ```
    pub fn blob_url(&self, container: &str, blob: &str) -> Result<Url> {
        check_container(container)?;
        check_blob(blob)?;
        let mut segments = vec![container];
        segments.extend(blob.split('/'));
        self.url_with_segments(&segments)
    }

    fn url_with_segments(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.endpoint().clone();
        url.path_segments_mut()
            .map_err(|()| Error::InvalidEndpoint {
                name: "STORAGE_ENDPOINT",
                endpoint: self.endpoint().to_string(),
                reason: "it cannot have a path".into(),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Signs a service SAS with the account key (Shared Key settings only).
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// let s = StorageSettings::new("acct", "a2V5", None).unwrap();
    /// let expiry = azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
    /// let token = s.sas(&BlobSasBuilder::blob("docs", "b", SasPermissions::read_only(), expiry)).unwrap();
    /// let url = token.apply_to(&s.blob_url("docs", "b").unwrap());
    /// assert!(url.as_str().contains("sig="));
    /// ```
    pub fn sas(&self, builder: &BlobSasBuilder) -> Result<SasToken> {
        match self.auth() {
            StorageAuth::SharedKey(key) => builder.sign(self.account(), key),
            StorageAuth::Sas(_) | StorageAuth::Token(_) => Err(Error::MissingSetting {
                name: "STORAGE_MASTER_KEY",
            }),
        }
    }
}

fn check_container(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidName {
            what: "container",
            name: name.to_string(),
            reason,
        })
    };
    if name == "$root" || name == "$web" || name == "$logs" {
        return Ok(());
    }
    if !(3..=63).contains(&name.len()) {
        return bad("use 3 to 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return bad("use only lower-case letters, digits and '-'");
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return bad("start and end with a letter or digit, and do not use '--'");
    }
    Ok(())
}

fn check_blob(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 1024 {
        return Err(Error::InvalidName {
            what: "blob",
            name: name.chars().take(64).collect(),
            reason: "use 1 to 1024 characters",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        let s = StorageSettings::new("acct", "a2V5", None).unwrap();
        assert!(s.container_url("Photos").is_err());
        assert!(s.container_url("ab").is_err());
        assert!(s.container_url("a--b").is_err());
        assert!(s.blob_url("photos", "").is_err());
        assert!(s.container_url("photos-2024").is_ok());
    }

    #[test]
    fn path_style_urls_keep_the_account() {
        let s = StorageSettings::new(
            crate::EMULATOR_ACCOUNT,
            crate::EMULATOR_KEY,
            Some("http://127.0.0.1:10000/devstoreaccount1/"),
        )
        .unwrap();
        assert_eq!(
            s.blob_url("c1c", "a/b?c").unwrap().as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/c1c/a/b%3Fc"
        );
    }

    #[test]
    fn sas_needs_the_key() {
        let s = StorageSettings::with_auth(
            "a",
            StorageAuth::Sas(SasToken::new("sig=x").unwrap()),
            None,
        )
        .unwrap();
        let b = crate::BlobSasBuilder::container(
            "ccc",
            crate::SasPermissions::read_only(),
            azure_core::time::OffsetDateTime::now_utc(),
        );
        assert!(s
            .sas(&b)
            .unwrap_err()
            .to_string()
            .contains("STORAGE_MASTER_KEY"));
    }
}
