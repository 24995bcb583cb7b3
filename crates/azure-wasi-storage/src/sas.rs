//! Service SAS generation for blobs and containers, and a signer that appends a SAS token.

use crate::{Error, Result};
use azure_core::http::{Request, Url};
use azure_core::time::OffsetDateTime;
use azure_wasi_core::auth::{RequestSigner, SigningKey};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;

/// The `sv` (signed version) of the tokens this crate generates.
///
/// ```
/// assert_eq!(azure_wasi_storage::SAS_VERSION, "2022-11-02");
/// ```
pub const SAS_VERSION: &str = "2022-11-02";

/// Characters escaped in query values (RFC 3986 unreserved characters stay as they are).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A SAS token: the query string that grants access, without the leading `?`.
///
/// `Debug` hides the signature.
///
/// ```
/// let t = azure_wasi_storage::SasToken::new("?sv=2022-11-02&sp=r&sig=abc%3D").unwrap();
/// assert_eq!(t.as_str(), "sv=2022-11-02&sp=r&sig=abc%3D");
/// assert!(!format!("{t:?}").contains("abc"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SasToken(String);

impl SasToken {
    /// Checks and wraps a token (a leading `?` is dropped). It must contain `sig=`.
    ///
    /// ```
    /// assert!(azure_wasi_storage::SasToken::new("sv=1").is_err());
    /// ```
    pub fn new(token: &str) -> Result<Self> {
        let token = token.trim().trim_start_matches('?');
        let has_sig = url::form_urlencoded::parse(token.as_bytes()).any(|(k, _)| k == "sig");
        if !has_sig {
            return Err(Error::InvalidSetting {
                name: "STORAGE_SAS_TOKEN",
                reason: "the token has no `sig` parameter; copy the whole SAS query string".into(),
            });
        }
        Ok(Self(token.to_string()))
    }

    /// The token text (secret: do not log it).
    ///
    /// ```
    /// # let t = azure_wasi_storage::SasToken::new("sig=a").unwrap();
    /// assert_eq!(t.as_str(), "sig=a");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `url` with this token appended to its query.
    ///
    /// ```
    /// # let t = azure_wasi_storage::SasToken::new("sig=a").unwrap();
    /// let u = t.apply_to(&"https://a.blob.core.windows.net/c/b".parse().unwrap());
    /// assert_eq!(u.as_str(), "https://a.blob.core.windows.net/c/b?sig=a");
    /// ```
    pub fn apply_to(&self, url: &Url) -> Url {
        let mut url = url.clone();
        append_token(&mut url, &self.0);
        url
    }
}

fn append_token(url: &mut Url, token: &str) {
    let query = match url.query() {
        Some(q) if !q.is_empty() => format!("{q}&{token}"),
        _ => token.to_string(),
    };
    url.set_query(Some(&query));
}

impl fmt::Debug for SasToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SasToken(<redacted>)")
    }
}

/// Permissions of a blob or container SAS (`sp`).
///
/// ```
/// let p = azure_wasi_storage::SasPermissions { read: true, list: true, ..Default::default() };
/// assert_eq!(p.to_string(), "rl");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SasPermissions {
    /// `r`: read content, properties, metadata.
    pub read: bool,
    /// `a`: add a block to an append blob.
    pub add: bool,
    /// `c`: create a new blob.
    pub create: bool,
    /// `w`: write content, properties, metadata, block list.
    pub write: bool,
    /// `d`: delete.
    pub delete: bool,
    /// `l`: list blobs (container SAS only).
    pub list: bool,
}

impl SasPermissions {
    /// Read only.
    ///
    /// ```
    /// assert_eq!(azure_wasi_storage::SasPermissions::read_only().to_string(), "r");
    /// ```
    pub fn read_only() -> Self {
        Self {
            read: true,
            ..Self::default()
        }
    }
}

impl fmt::Display for SasPermissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, c) in [
            (self.read, 'r'),
            (self.add, 'a'),
            (self.create, 'c'),
            (self.write, 'w'),
            (self.delete, 'd'),
            (self.list, 'l'),
        ] {
            if on {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Builds a service SAS for one blob (`sr=b`) or a whole container (`sr=c`).
///
/// ```
/// use azure_wasi_storage::{BlobSasBuilder, SasPermissions};
/// use azure_wasi_core::auth::SigningKey;
/// let expiry = azure_core::time::OffsetDateTime::from_unix_timestamp(1_893_456_000).unwrap();
/// let token = BlobSasBuilder::blob("photos", "cat.jpg", SasPermissions::read_only(), expiry)
///     .sign("acct", &SigningKey::from_base64("a2V5").unwrap())
///     .unwrap();
/// assert!(token.as_str().contains("sr=b"));
/// ```
#[derive(Debug, Clone)]
pub struct BlobSasBuilder {
    container: String,
    blob: Option<String>,
    permissions: SasPermissions,
    start: Option<OffsetDateTime>,
    expiry: OffsetDateTime,
    https_only: bool,
    content_type: Option<String>,
}

impl BlobSasBuilder {
    /// A SAS for one blob.
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// use azure_core::time::{Duration, OffsetDateTime};
    /// # use azure_wasi_core::auth::SigningKey;
    /// let expiry = OffsetDateTime::now_utc() + Duration::hours(1);
    /// let key = SigningKey::from_base64(EMULATOR_KEY)?;
    /// let token = BlobSasBuilder::blob("photos", "cat.png", SasPermissions::read_only(), expiry)
    ///     .sign(EMULATOR_ACCOUNT, &key)?;
    /// assert!(token.as_str().contains("sr=b")); // one blob
    /// assert!(token.as_str().contains("sp=r"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn blob(
        container: &str,
        blob: &str,
        permissions: SasPermissions,
        expiry: OffsetDateTime,
    ) -> Self {
        Self {
            container: container.to_string(),
            blob: Some(blob.to_string()),
            permissions,
            start: None,
            expiry,
            https_only: false,
            content_type: None,
        }
    }

    /// A SAS for a container and every blob in it.
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// # use azure_wasi_core::auth::SigningKey;
    /// # let t = azure_core::time::OffsetDateTime::from_unix_timestamp(0).unwrap();
    /// let token = BlobSasBuilder::container("photos", SasPermissions::read_only(), t)
    ///     .sign(EMULATOR_ACCOUNT, &SigningKey::from_base64(EMULATOR_KEY)?)?;
    /// assert!(token.as_str().contains("sr=c")); // the whole container
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn container(container: &str, permissions: SasPermissions, expiry: OffsetDateTime) -> Self {
        Self {
            container: container.to_string(),
            blob: None,
            permissions,
            start: None,
            expiry,
            https_only: false,
            content_type: None,
        }
    }

    /// Not valid before `start` (`st`).
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// use azure_core::time::{Duration, OffsetDateTime};
    /// let start = OffsetDateTime::from_unix_timestamp(0)?;
    /// let b = BlobSasBuilder::container("c", SasPermissions::read_only(), start + Duration::hours(1))
    ///     .start(start);
    /// assert!(b.string_to_sign("acct").starts_with("r\n1970-01-01T00:00:00Z\n1970-01-01T01:00:00Z\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start(mut self, start: OffsetDateTime) -> Self {
        self.start = Some(start);
        self
    }

    /// Only over HTTPS (`spr=https`); the default allows `https,http` (emulators use HTTP).
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// # let t = azure_core::time::OffsetDateTime::from_unix_timestamp(0).unwrap();
    /// let b = BlobSasBuilder::container("c", SasPermissions::read_only(), t);
    /// assert!(b.string_to_sign("acct").contains("\nhttps,http\n"));
    /// assert!(b.https_only().string_to_sign("acct").contains("\nhttps\n"));
    /// ```
    pub fn https_only(mut self) -> Self {
        self.https_only = true;
        self
    }

    /// Content-Type the service returns when the blob is read with this SAS (`rsct`).
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// # let t = azure_core::time::OffsetDateTime::from_unix_timestamp(0).unwrap();
    /// let b = BlobSasBuilder::blob("c", "b", SasPermissions::read_only(), t).content_type("text/plain");
    /// assert!(b.string_to_sign("acct").ends_with("\ntext/plain"));
    /// ```
    pub fn content_type(mut self, content_type: &str) -> Self {
        self.content_type = Some(content_type.to_string());
        self
    }

    /// The string-to-sign of a service SAS, versions 2020-12-06 to 2022-11-02.
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// # let t = azure_core::time::OffsetDateTime::from_unix_timestamp(0).unwrap();
    /// let s = BlobSasBuilder::container("c", SasPermissions::read_only(), t).string_to_sign("acct");
    /// assert!(s.starts_with("r\n\n1970-01-01T00:00:00Z\n/blob/acct/c\n"));
    /// ```
    pub fn string_to_sign(&self, account: &str) -> String {
        let resource = match &self.blob {
            Some(blob) => format!("/blob/{account}/{}/{blob}", self.container),
            None => format!("/blob/{account}/{}", self.container),
        };
        [
            self.permissions.to_string(),
            self.start.map(iso8601).unwrap_or_default(),
            iso8601(self.expiry),
            resource,
            String::new(), // signed identifier
            String::new(), // signed IP
            self.protocol().to_string(),
            SAS_VERSION.to_string(),
            self.resource_kind().to_string(),
            String::new(), // snapshot time
            String::new(), // encryption scope
            String::new(), // rscc
            String::new(), // rscd
            String::new(), // rsce
            String::new(), // rscl
            self.content_type.clone().unwrap_or_default(),
        ]
        .join("\n")
    }

    fn protocol(&self) -> &'static str {
        if self.https_only {
            "https"
        } else {
            "https,http"
        }
    }

    fn resource_kind(&self) -> &'static str {
        if self.blob.is_some() {
            "b"
        } else {
            "c"
        }
    }

    /// Signs with the account key and returns the token.
    ///
    /// ```
    /// # use azure_wasi_storage::*;
    /// # use azure_wasi_core::auth::SigningKey;
    /// # let t = azure_core::time::OffsetDateTime::from_unix_timestamp(0).unwrap();
    /// let token = BlobSasBuilder::container("c", SasPermissions::read_only(), t)
    ///     .sign("acct", &SigningKey::from_base64("a2V5").unwrap()).unwrap();
    /// assert!(token.as_str().starts_with("sv=2022-11-02&"));
    /// ```
    pub fn sign(&self, account: &str, key: &SigningKey) -> Result<SasToken> {
        if self.permissions == SasPermissions::default() {
            return Err(Error::InvalidSetting {
                name: "SasPermissions",
                reason: "no permission set; grant at least one (for example read)".into(),
            });
        }
        let signature = key.sign(&self.string_to_sign(account));
        let mut pairs: Vec<(&str, String)> = vec![
            ("sv", SAS_VERSION.to_string()),
            ("sr", self.resource_kind().to_string()),
            ("sp", self.permissions.to_string()),
        ];
        if let Some(start) = self.start {
            pairs.push(("st", iso8601(start)));
        }
        pairs.push(("se", iso8601(self.expiry)));
        pairs.push(("spr", self.protocol().to_string()));
        if let Some(ct) = &self.content_type {
            pairs.push(("rsct", ct.clone()));
        }
        pairs.push(("sig", signature));
        let token = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
            .collect::<Vec<_>>()
            .join("&");
        Ok(SasToken(token))
    }
}

/// `2030-01-01T00:00:00Z` (seconds precision, UTC).
fn iso8601(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Appends a SAS token to every request URL (once: a retry reuses the URL).
///
/// ```
/// use azure_core::http::{Method, Request};
/// use azure_wasi_core::auth::RequestSigner;
/// use azure_wasi_storage::{SasSigner, SasToken};
/// let signer = SasSigner::new(SasToken::new("sv=2022-11-02&sig=x")?);
/// let mut request = Request::new("http://127.0.0.1:10000/acct/c/b?comp=block".parse()?, Method::Put);
/// signer.sign(&mut request)?;
/// signer.sign(&mut request)?; // a retry: the token is not appended twice
/// assert_eq!(request.url().query(), Some("comp=block&sv=2022-11-02&sig=x"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SasSigner {
    token: SasToken,
}

impl SasSigner {
    /// A signer for `token` (see [`SasSigner`]).
    pub fn new(token: SasToken) -> Self {
        Self { token }
    }
}

impl RequestSigner for SasSigner {
    fn sign(&self, request: &mut Request) -> azure_core::Result<()> {
        let url = request.url_mut();
        if !url.query_pairs().any(|(k, _)| k == "sig") {
            append_token(url, self.token.as_str());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::Method;

    fn t(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    #[test]
    fn blob_sas_string_to_sign_layout() {
        let b = BlobSasBuilder::blob(
            "c",
            "dir/b.txt",
            SasPermissions::read_only(),
            t(1_893_456_000),
        )
        .start(t(1_893_369_600));
        assert_eq!(
            b.string_to_sign("acct"),
            "r\n2029-12-31T00:00:00Z\n2030-01-01T00:00:00Z\n/blob/acct/c/dir/b.txt\n\n\nhttps,http\n2022-11-02\nb\n\n\n\n\n\n\n"
        );
    }

    #[test]
    fn token_is_signed_with_the_key() {
        let key = SigningKey::from_base64(crate::EMULATOR_KEY).unwrap();
        let b = BlobSasBuilder::container("c", SasPermissions::read_only(), t(1_893_456_000));
        let token = b.sign("devstoreaccount1", &key).unwrap();
        let expected_sig = key.sign(&b.string_to_sign("devstoreaccount1"));
        let sig = url::form_urlencoded::parse(token.as_str().as_bytes())
            .find(|(k, _)| k == "sig")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        assert_eq!(sig, expected_sig);
        assert!(token.as_str().starts_with(
            "sv=2022-11-02&sr=c&sp=r&se=2030-01-01T00%3A00%3A00Z&spr=https%2Chttp&sig="
        ));
    }

    /// Signatures computed with Microsoft's azure-storage-blob 12.x `generate_blob_sas` /
    /// `generate_container_sas` (sv pinned to 2022-11-02, protocol "https,http").
    #[test]
    fn matches_the_python_sdk() {
        let key = SigningKey::from_base64(crate::EMULATOR_KEY).unwrap();
        let sig = |token: &SasToken| {
            url::form_urlencoded::parse(token.as_str().as_bytes())
                .find(|(k, _)| k == "sig")
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        let blob = BlobSasBuilder::blob(
            "c",
            "dir/b.txt",
            SasPermissions::read_only(),
            t(1_893_456_000),
        )
        .start(t(1_893_369_600))
        .sign("devstoreaccount1", &key)
        .unwrap();
        assert_eq!(sig(&blob), "OjJMNpCCeO+dFAv0d6tPUldp+VfOoDQquSi7BHEp3Ds=");
        let perms = SasPermissions {
            read: true,
            create: true,
            write: true,
            ..Default::default()
        };
        let container = BlobSasBuilder::container("photos", perms, t(1_893_456_000))
            .sign("devstoreaccount1", &key)
            .unwrap();
        assert_eq!(
            sig(&container),
            "rsmbufVMSRCj91xtaUE8DTdbbqRQHhofrAFO/fV7KF4="
        );
    }

    #[test]
    fn no_permission_is_an_error() {
        let key = SigningKey::from_bytes(vec![1]);
        let b = BlobSasBuilder::container("c", SasPermissions::default(), t(0));
        assert!(b.sign("a", &key).is_err());
    }

    #[test]
    fn signer_appends_once() {
        let signer = SasSigner::new(SasToken::new("sv=1&sig=abc").unwrap());
        let mut req = Request::new("http://h/a/c/b?comp=block".parse().unwrap(), Method::Put);
        signer.sign(&mut req).unwrap();
        signer.sign(&mut req).unwrap();
        assert_eq!(req.url().query(), Some("comp=block&sv=1&sig=abc"));
    }
}
