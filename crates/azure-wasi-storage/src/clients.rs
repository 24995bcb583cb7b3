//! Ready-to-use official blob clients with our signing policy installed.

use crate::{
    BlobSasBuilder, Error, Result, SasSigner, SasToken, SharedKeySigner, StorageAuth,
    StorageSettings,
};
use azure_core::http::{ClientOptions, Url};
use azure_storage_blob::{
    BlobClient, BlobClientOptions, BlobContainerClient, BlobContainerClientOptions,
    BlobServiceClient, BlobServiceClientOptions,
};
use azure_wasi_core::auth::{add_signing_policy, RequestSigner};
use std::sync::Arc;

impl StorageSettings {
    /// The per-try signer for these settings (Shared Key or SAS).
    ///
    /// ```
    /// let s = azure_wasi_storage::StorageSettings::new("a", "a2V5", None).unwrap();
    /// let signer = s.signer();
    /// # let _ = signer;
    /// ```
    pub fn signer(&self) -> Arc<dyn RequestSigner> {
        match self.auth() {
            StorageAuth::SharedKey(key) => {
                Arc::new(SharedKeySigner::new(self.account(), key.clone()))
            }
            StorageAuth::Sas(token) => Arc::new(SasSigner::new(token.clone())),
        }
    }

    /// `options` with the signing policy appended as the last per-try policy.
    ///
    /// Options without a transport get `azure_wasi_core`'s WASI transport; tests pass a mock.
    ///
    /// ```
    /// let s = azure_wasi_storage::StorageSettings::new("a", "a2V5", None).unwrap();
    /// let o = s.client_options(azure_core::http::ClientOptions::default());
    /// assert_eq!(o.per_try_policies.len(), 1);
    /// ```
    pub fn client_options(&self, mut options: ClientOptions) -> ClientOptions {
        if options.transport.is_none() {
            options.transport = Some(azure_wasi_core::transport());
        }
        add_signing_policy(&mut options, self.signer());
        options
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
                endpoint: self.endpoint().to_string(),
                reason: "it cannot have a path".into(),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// A [`BlobServiceClient`] for the account.
    ///
    /// ```no_run
    /// # let s = azure_wasi_storage::StorageSettings::from_env()?;
    /// let service = s.service_client(azure_core::http::ClientOptions::default())?;
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn service_client(&self, options: ClientOptions) -> Result<BlobServiceClient> {
        let mut o = BlobServiceClientOptions {
            client_options: self.client_options(options),
            ..Default::default()
        };
        if let Some(v) = self.api_version() {
            o.version = v.to_string();
        }
        Ok(BlobServiceClient::new(
            self.endpoint().clone(),
            None,
            Some(o),
        )?)
    }

    /// A [`BlobContainerClient`] for `container`.
    ///
    /// ```no_run
    /// # let s = azure_wasi_storage::StorageSettings::from_env()?;
    /// let container = s.container_client("photos", azure_core::http::ClientOptions::default())?;
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn container_client(
        &self,
        container: &str,
        options: ClientOptions,
    ) -> Result<BlobContainerClient> {
        let mut o = BlobContainerClientOptions {
            client_options: self.client_options(options),
            ..Default::default()
        };
        if let Some(v) = self.api_version() {
            o.version = v.to_string();
        }
        Ok(BlobContainerClient::new(
            self.container_url(container)?,
            None,
            Some(o),
        )?)
    }

    /// A [`BlobClient`] for `container`/`blob`.
    ///
    /// ```no_run
    /// # let s = azure_wasi_storage::StorageSettings::from_env()?;
    /// let blob = s.blob_client("photos", "cat.jpg", azure_core::http::ClientOptions::default())?;
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn blob_client(
        &self,
        container: &str,
        blob: &str,
        options: ClientOptions,
    ) -> Result<BlobClient> {
        let mut o = BlobClientOptions {
            client_options: self.client_options(options),
            ..Default::default()
        };
        if let Some(v) = self.api_version() {
            o.version = v.to_string();
        }
        Ok(BlobClient::new(
            self.blob_url(container, blob)?,
            None,
            Some(o),
        )?)
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
            StorageAuth::Sas(_) => Err(Error::Sas(
                "generating a SAS needs the account key: set STORAGE_MASTER_KEY".into(),
            )),
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
