//! Account settings read from the environment.

use crate::{Error, Result, SasToken};
use azure_wasi_core::auth::SigningKey;
use url::Url;

/// The development storage account of Azurite and the Storage emulator (public, documented).
///
/// ```
/// assert_eq!(azure_wasi_storage::EMULATOR_ACCOUNT, "devstoreaccount1");
/// ```
pub const EMULATOR_ACCOUNT: &str = "devstoreaccount1";

/// The documented, public key of [`EMULATOR_ACCOUNT`].
///
/// ```
/// assert!(azure_wasi_storage::EMULATOR_KEY.ends_with("=="));
/// ```
pub const EMULATOR_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// How requests are authenticated.
///
/// ```
/// use azure_wasi_storage::{StorageAuth, SasToken};
/// let auth = StorageAuth::Sas(SasToken::new("sv=2022-11-02&sig=abc").unwrap());
/// assert!(format!("{auth:?}").contains("redacted"));
/// ```
#[derive(Debug, Clone)]
pub enum StorageAuth {
    /// Shared Key: every request is signed with the account key.
    SharedKey(SigningKey),
    /// A SAS token is appended to every request URL.
    Sas(SasToken),
    /// Microsoft Entra ID: `Authorization: Bearer` with a token for
    /// `https://storage.azure.com/.default` from the credential (usually the host's broker,
    /// [`azure_wasi_core::HostTokenCredential`]).
    Token(std::sync::Arc<dyn azure_core::credentials::TokenCredential>),
}

/// Where the account lives and how to authenticate to it.
///
/// ```
/// use azure_wasi_storage::{StorageSettings, EMULATOR_ACCOUNT, EMULATOR_KEY};
/// let s = StorageSettings::new(EMULATOR_ACCOUNT, EMULATOR_KEY,
///     Some("http://127.0.0.1:10000/devstoreaccount1")).unwrap();
/// assert_eq!(s.endpoint().as_str(), "http://127.0.0.1:10000/devstoreaccount1/");
/// ```
#[derive(Debug, Clone)]
pub struct StorageSettings {
    account: String,
    endpoint: Url,
    auth: StorageAuth,
    api_version: Option<String>,
}

impl StorageSettings {
    /// Settings with Shared Key auth. `endpoint` defaults to
    /// `https://<account>.blob.core.windows.net`.
    ///
    /// ```
    /// use azure_wasi_storage::StorageSettings;
    /// let s = StorageSettings::new("acct", "a2V5", None).unwrap();
    /// assert_eq!(s.endpoint().as_str(), "https://acct.blob.core.windows.net/");
    /// ```
    pub fn new(account: &str, key_base64: &str, endpoint: Option<&str>) -> Result<Self> {
        let key = SigningKey::from_base64(key_base64).map_err(|_| Error::InvalidKey {
            name: "STORAGE_MASTER_KEY",
        })?;
        Self::with_auth(account, StorageAuth::SharedKey(key), endpoint)
    }

    /// Settings with any [`StorageAuth`].
    ///
    /// ```
    /// use azure_wasi_storage::{StorageAuth, StorageSettings, SasToken};
    /// let sas = SasToken::new("sv=2022-11-02&sp=r&sig=x")?;
    /// let s = StorageSettings::with_auth("acct", StorageAuth::Sas(sas), None)?;
    /// assert!(matches!(s.auth(), StorageAuth::Sas(_)));
    /// assert_eq!(s.endpoint().as_str(), "https://acct.blob.core.windows.net/");
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn with_auth(account: &str, auth: StorageAuth, endpoint: Option<&str>) -> Result<Self> {
        let account = account.trim();
        if account.is_empty() {
            return Err(Error::MissingSetting {
                name: "STORAGE_ACCOUNT",
            });
        }
        let text = match endpoint.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => e.to_string(),
            None => format!("https://{account}.blob.core.windows.net"),
        };
        let shown = text.split('?').next().unwrap_or_default().to_string();
        let mut endpoint = Url::parse(&text).map_err(|e| Error::InvalidEndpoint {
            name: "STORAGE_ENDPOINT",
            endpoint: shown.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.cannot_be_a_base() {
            return Err(Error::InvalidEndpoint {
                name: "STORAGE_ENDPOINT",
                endpoint: shown,
                reason: "the scheme must be http or https".into(),
            });
        }
        if endpoint.query().is_some() {
            return Err(Error::InvalidEndpoint {
                name: "STORAGE_ENDPOINT",
                endpoint: shown,
                reason: "put a SAS token in STORAGE_SAS_TOKEN, not in the endpoint".into(),
            });
        }
        if !endpoint.path().ends_with('/') {
            let path = format!("{}/", endpoint.path());
            endpoint.set_path(&path);
        }
        Ok(Self {
            account: account.to_string(),
            endpoint,
            auth,
            api_version: None,
        })
    }

    /// Reads `STORAGE_ACCOUNT`, then `STORAGE_MASTER_KEY` (Shared Key) or, if that is unset,
    /// `STORAGE_SAS_TOKEN`; with neither, Entra ID tokens from the host
    /// ([`azure_wasi_core::HostTokenCredential`]: `IDENTITY_ENDPOINT`, `IDENTITY_HEADER`);
    /// optional `STORAGE_ENDPOINT` and `STORAGE_API_VERSION`.
    ///
    /// ```no_run
    /// let settings = azure_wasi_storage::StorageSettings::from_env()?;
    /// # Ok::<(), azure_wasi_storage::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`StorageSettings::from_env`] with any lookup function (for tests and config files).
    ///
    /// ```
    /// use azure_wasi_storage::StorageSettings;
    /// let s = StorageSettings::from_lookup(|k| match k {
    ///     "STORAGE_ACCOUNT" => Some("acct".into()),
    ///     "STORAGE_MASTER_KEY" => Some("a2V5".into()),
    ///     _ => None,
    /// }).unwrap();
    /// assert_eq!(s.account(), "acct");
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let account = get("STORAGE_ACCOUNT").ok_or(Error::MissingSetting {
            name: "STORAGE_ACCOUNT",
        })?;
        let endpoint = get("STORAGE_ENDPOINT");
        let mut settings = match (get("STORAGE_MASTER_KEY"), get("STORAGE_SAS_TOKEN")) {
            (Some(key), _) => Self::new(&account, &key, endpoint.as_deref())?,
            (None, Some(sas)) => Self::with_auth(
                &account,
                StorageAuth::Sas(SasToken::new(&sas)?),
                endpoint.as_deref(),
            )?,
            (None, None) => {
                let credential = azure_wasi_core::HostTokenCredential::from_lookup(&lookup)?;
                Self::with_auth(
                    &account,
                    StorageAuth::Token(credential),
                    endpoint.as_deref(),
                )?
            }
        };
        settings.api_version = get("STORAGE_API_VERSION");
        Ok(settings)
    }

    /// Uses a specific `x-ms-version` instead of the blob crate's default (useful for older
    /// emulators).
    ///
    /// ```
    /// let s = azure_wasi_storage::StorageSettings::new("a", "a2V5", None).unwrap()
    ///     .with_api_version("2021-08-06");
    /// assert_eq!(s.api_version(), Some("2021-08-06"));
    /// ```
    pub fn with_api_version(mut self, version: &str) -> Self {
        self.api_version = Some(version.to_string());
        self
    }

    /// The storage account name.
    ///
    /// ```
    /// # let s = azure_wasi_storage::StorageSettings::new("a", "a2V5", None).unwrap();
    /// assert_eq!(s.account(), "a");
    /// ```
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The blob service endpoint, always ending with `/`.
    ///
    /// ```
    /// # let s = azure_wasi_storage::StorageSettings::new("a", "a2V5", None).unwrap();
    /// assert!(s.endpoint().as_str().ends_with('/'));
    /// ```
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The authentication in use.
    ///
    /// ```
    /// # let s = azure_wasi_storage::StorageSettings::new("a", "a2V5", None).unwrap();
    /// assert!(matches!(s.auth(), azure_wasi_storage::StorageAuth::SharedKey(_)));
    /// ```
    pub fn auth(&self) -> &StorageAuth {
        &self.auth
    }

    /// The `x-ms-version` override, if any.
    ///
    /// ```
    /// # let s = azure_wasi_storage::StorageSettings::new("a", "a2V5", None).unwrap();
    /// assert_eq!(s.api_version(), None);
    /// ```
    pub fn api_version(&self) -> Option<&str> {
        self.api_version.as_deref()
    }

    /// True when the endpoint is path-style (`http://host:port/<account>/`), as emulators use.
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// let s = StorageSettings::new(EMULATOR_ACCOUNT, EMULATOR_KEY, Some("http://127.0.0.1:10000/devstoreaccount1")).unwrap();
    /// assert!(s.is_path_style());
    /// ```
    pub fn is_path_style(&self) -> bool {
        self.endpoint
            .path_segments()
            .and_then(|mut s| s.next())
            .is_some_and(|first| first == self.account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn emulator_settings() {
        let s = StorageSettings::from_lookup(lookup(&[
            ("STORAGE_ACCOUNT", EMULATOR_ACCOUNT),
            ("STORAGE_MASTER_KEY", EMULATOR_KEY),
            (
                "STORAGE_ENDPOINT",
                "http://127.0.0.1:10000/devstoreaccount1",
            ),
        ]))
        .unwrap();
        assert!(s.is_path_style());
        assert_eq!(
            s.endpoint().as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/"
        );
    }

    #[test]
    fn cloud_default_endpoint() {
        let s = StorageSettings::from_lookup(lookup(&[
            ("STORAGE_ACCOUNT", "acct"),
            ("STORAGE_MASTER_KEY", "a2V5"),
        ]))
        .unwrap();
        assert!(!s.is_path_style());
        assert_eq!(s.endpoint().as_str(), "https://acct.blob.core.windows.net/");
    }

    #[test]
    fn missing_and_invalid_settings_name_the_variable() {
        let e =
            StorageSettings::from_lookup(lookup(&[("STORAGE_MASTER_KEY", "a2V5")])).unwrap_err();
        assert!(e.to_string().contains("STORAGE_ACCOUNT"), "{e}");
        // Neither key nor SAS: tokens from the host.
        let s = StorageSettings::from_lookup(lookup(&[("STORAGE_ACCOUNT", "a")])).unwrap();
        assert!(matches!(s.auth(), StorageAuth::Token(_)));
        assert!(s.signer().is_none());
        let e = StorageSettings::from_lookup(lookup(&[
            ("STORAGE_ACCOUNT", "a"),
            ("STORAGE_MASTER_KEY", "!!secret!!"),
        ]))
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("STORAGE_MASTER_KEY") && !text.contains("secret"),
            "{text}"
        );
        let e = StorageSettings::new("a", "a2V5", Some("ftp://x")).unwrap_err();
        assert!(e.to_string().contains("http"), "{e}");
    }

    #[test]
    fn sas_mode_when_no_key() {
        let s = StorageSettings::from_lookup(lookup(&[
            ("STORAGE_ACCOUNT", "a"),
            ("STORAGE_SAS_TOKEN", "?sv=2022-11-02&sig=abc"),
        ]))
        .unwrap();
        assert!(matches!(s.auth(), StorageAuth::Sas(_)));
    }
}
