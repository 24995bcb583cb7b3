//! Publishing events to a topic.

use crate::{generate_sas, CloudEvent, Error, EventGridEvent, Result};
use azure_core::http::{
    ClientOptions, Context, Method, Pipeline, PipelineSendOptions, Request, Url,
};
use azure_core::time::{Duration, OffsetDateTime};
use azure_wasi_core::auth::{
    add_signing_policy, add_token_policy, RequestSigner, TokenFormat, TokenPolicy,
};
use serde::Serialize;
use std::{fmt, sync::Arc};

/// The EventGrid data-plane API version.
///
/// ```
/// assert_eq!(azure_wasi_eventgrid::EVENTGRID_API_VERSION, "2018-01-01");
/// ```
pub const EVENTGRID_API_VERSION: &str = "2018-01-01";

const EVENTGRID_JSON: &str = "application/json; charset=utf-8";
const CLOUDEVENTS_BATCH: &str = "application/cloudevents-batch+json; charset=utf-8";

/// How the publisher authenticates.
///
/// ```
/// let c = azure_wasi_eventgrid::EventGridCredential::Key("a2V5".into());
/// assert!(!format!("{c:?}").contains("a2V5"));
/// ```
#[derive(Clone)]
pub enum EventGridCredential {
    /// The topic access key, sent as `aeg-sas-key`.
    Key(String),
    /// A SAS token, sent as `aeg-sas-token`.
    SasToken(String),
    /// Microsoft Entra ID: `Authorization: Bearer` with a token for [`EVENTGRID_SCOPE`] from
    /// the credential (usually the host's broker, [`azure_wasi_core::HostTokenCredential`]).
    Token(Arc<dyn azure_core::credentials::TokenCredential>),
}

/// The Entra ID scope of EventGrid publishing.
pub const EVENTGRID_SCOPE: &str = "https://eventgrid.azure.net/.default";

impl fmt::Debug for EventGridCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(_) => f.write_str("Key(<redacted>)"),
            Self::SasToken(_) => f.write_str("SasToken(<redacted>)"),
            Self::Token(_) => f.write_str("Token(<host credential>)"),
        }
    }
}

impl EventGridCredential {
    /// A credential holding a SAS token generated from `key` for `endpoint`, valid for `ttl`.
    ///
    /// ```
    /// use azure_wasi_eventgrid::EventGridCredential;
    /// let c = EventGridCredential::sas_from_key("https://t/api/events", "a2V5",
    ///     azure_core::time::Duration::hours(1)).unwrap();
    /// assert!(matches!(c, EventGridCredential::SasToken(_)));
    /// ```
    pub fn sas_from_key(endpoint: &str, key_base64: &str, ttl: Duration) -> Result<Self> {
        Ok(Self::SasToken(generate_sas(
            endpoint,
            key_base64,
            OffsetDateTime::now_utc() + ttl,
        )?))
    }
}

#[derive(Debug)]
struct HeaderSigner(EventGridCredential);

impl RequestSigner for HeaderSigner {
    fn sign(&self, request: &mut Request) -> azure_core::Result<()> {
        match &self.0 {
            EventGridCredential::Key(k) => request.insert_header("aeg-sas-key", k.clone()),
            EventGridCredential::SasToken(t) => request.insert_header("aeg-sas-token", t.clone()),
            // The token policy authorizes these requests.
            EventGridCredential::Token(_) => {}
        }
        Ok(())
    }
}

/// The topic endpoint and credential of a publisher.
///
/// ```
/// use azure_wasi_eventgrid::{EventGridCredential, EventGridSettings};
/// let s = EventGridSettings::new("http://127.0.0.1:8082", EventGridCredential::Key("k".into()))?;
/// assert_eq!(s.endpoint().as_str(), "http://127.0.0.1:8082/api/events?api-version=2018-01-01");
/// # Ok::<(), azure_wasi_eventgrid::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct EventGridSettings {
    endpoint: Url,
    credential: EventGridCredential,
}

impl EventGridSettings {
    /// Settings for `endpoint` (a topic URL; `/api/events` is added if the path is empty).
    ///
    /// ```
    /// use azure_wasi_eventgrid::{EventGridCredential, EventGridSettings};
    /// let e = EventGridSettings::new("ftp://x", EventGridCredential::Key("k".into())).unwrap_err();
    /// assert!(e.to_string().contains("EVENTGRID_ENDPOINT"));
    /// ```
    pub fn new(endpoint: &str, credential: EventGridCredential) -> Result<Self> {
        let text = endpoint.trim();
        let shown = text.split('?').next().unwrap_or_default();
        let mut url = Url::parse(text).map_err(|e| Error::InvalidEndpoint {
            name: "EVENTGRID_ENDPOINT",
            endpoint: shown.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::InvalidEndpoint {
                name: "EVENTGRID_ENDPOINT",
                endpoint: shown.to_string(),
                reason: "the scheme must be http or https".into(),
            });
        }
        if url.path() == "/" || url.path().is_empty() {
            url.set_path("/api/events");
        }
        url.query_pairs_mut()
            .clear()
            .append_pair("api-version", EVENTGRID_API_VERSION);
        Ok(Self {
            endpoint: url,
            credential,
        })
    }

    /// Reads `EVENTGRID_ENDPOINT` and `EVENTGRID_KEY`, or `EVENTGRID_SAS_TOKEN` when there is
    /// no key; with neither, Entra ID tokens from the host (`IDENTITY_ENDPOINT`,
    /// `IDENTITY_HEADER`; see [`azure_wasi_core::HostTokenCredential`]).
    ///
    /// ```no_run
    /// let s = azure_wasi_eventgrid::EventGridSettings::from_env()?;
    /// # Ok::<(), azure_wasi_eventgrid::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`EventGridSettings::from_env`] with any lookup function.
    ///
    /// ```
    /// let s = azure_wasi_eventgrid::EventGridSettings::from_lookup(|k| match k {
    ///     "EVENTGRID_ENDPOINT" => Some("http://127.0.0.1:8082".into()),
    ///     _ => None,
    /// }).unwrap();
    /// // No key and no SAS: tokens from the host.
    /// assert!(matches!(s.credential(), azure_wasi_eventgrid::EventGridCredential::Token(_)));
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let endpoint = get("EVENTGRID_ENDPOINT").ok_or(Error::MissingSetting {
            name: "EVENTGRID_ENDPOINT",
        })?;
        let credential = match (get("EVENTGRID_KEY"), get("EVENTGRID_SAS_TOKEN")) {
            (Some(k), _) => EventGridCredential::Key(k),
            (None, Some(t)) => EventGridCredential::SasToken(t),
            (None, None) => EventGridCredential::Token(
                azure_wasi_core::HostTokenCredential::from_lookup(&lookup)?,
            ),
        };
        Self::new(&endpoint, credential)
    }

    /// The URL events are posted to (with `api-version`).
    ///
    /// ```
    /// # use azure_wasi_eventgrid::*;
    /// let s = EventGridSettings::new("https://t/api/events", EventGridCredential::Key("k".into()))?;
    /// assert_eq!(s.endpoint().path(), "/api/events");
    /// # Ok::<(), azure_wasi_eventgrid::Error>(())
    /// ```
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The credential.
    ///
    /// ```
    /// # use azure_wasi_eventgrid::*;
    /// let s = EventGridSettings::new("https://t/api/events", EventGridCredential::Key("k".into()))?;
    /// assert!(matches!(s.credential(), EventGridCredential::Key(_)));
    /// # Ok::<(), azure_wasi_eventgrid::Error>(())
    /// ```
    pub fn credential(&self) -> &EventGridCredential {
        &self.credential
    }
}

/// Options of a publish request; the default names no channel.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// The partner channel to publish to (`aeg-channel-name`, partner namespaces only).
    pub channel_name: Option<String>,
}

/// Sends events to one topic. Cheap to clone.
///
/// ```no_run
/// # async fn f() -> azure_wasi_eventgrid::Result<()> {
/// use azure_wasi_eventgrid::{EventGrid, EventGridEvent};
/// // EVENTGRID_ENDPOINT and EVENTGRID_KEY (or EVENTGRID_SAS_TOKEN)
/// let eventgrid = EventGrid::from_env()?;
/// eventgrid.send_events(&[EventGridEvent::new("/a", "Contoso.A", 1)?], None).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EventGrid {
    endpoint: Url,
    pipeline: Pipeline,
}

impl EventGrid {
    /// The topic of `EVENTGRID_ENDPOINT` with `EVENTGRID_KEY` (or `EVENTGRID_SAS_TOKEN`), over
    /// the WASI transport.
    ///
    /// ```no_run
    /// let eventgrid = azure_wasi_eventgrid::EventGrid::from_env()?;
    /// # Ok::<(), azure_wasi_eventgrid::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Ok(Self::new(EventGridSettings::from_env()?))
    }

    /// The topic of `settings`, over the WASI transport.
    ///
    /// ```
    /// use azure_wasi_eventgrid::{EventGrid, EventGridCredential, EventGridSettings};
    /// let s = EventGridSettings::new("http://127.0.0.1:8082", EventGridCredential::Key("k".into()))?;
    /// let eventgrid = EventGrid::new(s);
    /// assert_eq!(eventgrid.endpoint().path(), "/api/events");
    /// # Ok::<(), azure_wasi_eventgrid::Error>(())
    /// ```
    pub fn new(settings: EventGridSettings) -> Self {
        Self::with_options(settings, ClientOptions::default())
    }

    /// The topic of `settings` with `options` (retry, extra policies, a transport; without a
    /// transport the WASI one is used).
    ///
    /// ```
    /// use azure_core::http::{ClientOptions, RetryOptions};
    /// use azure_wasi_eventgrid::{EventGrid, EventGridCredential, EventGridSettings};
    /// let s = EventGridSettings::new("http://127.0.0.1:8082", EventGridCredential::Key("k".into()))?;
    /// let options = ClientOptions { retry: RetryOptions::none(), ..Default::default() };
    /// let eventgrid = EventGrid::with_options(s, options);
    /// assert!(eventgrid.endpoint().as_str().starts_with("http://127.0.0.1:8082/"));
    /// # Ok::<(), azure_wasi_eventgrid::Error>(())
    /// ```
    pub fn with_options(settings: EventGridSettings, mut options: ClientOptions) -> Self {
        if options.transport.is_none() {
            options.transport = Some(azure_wasi_core::transport());
        }
        match settings.credential {
            EventGridCredential::Token(credential) => add_token_policy(
                &mut options,
                TokenPolicy::new(credential, EVENTGRID_SCOPE, TokenFormat::Bearer),
            ),
            other => add_signing_policy(&mut options, Arc::new(HeaderSigner(other))),
        }
        let pipeline = Pipeline::new(
            Some(env!("CARGO_PKG_NAME")),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            Vec::new(),
            Vec::new(),
            None,
        );
        Self {
            endpoint: settings.endpoint,
            pipeline,
        }
    }

    /// The URL events are posted to.
    ///
    /// ```
    /// # use azure_wasi_eventgrid::*;
    /// # let p = EventGrid::new(EventGridSettings::new("https://t/api/events", EventGridCredential::Key("k".into())).unwrap());
    /// assert!(p.endpoint().as_str().ends_with("?api-version=2018-01-01"));
    /// ```
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Publishes one EventGrid-schema event.
    ///
    /// ```no_run
    /// # async fn f(p: azure_wasi_eventgrid::EventGrid) -> azure_wasi_eventgrid::Result<()> {
    /// p.send_event(&azure_wasi_eventgrid::EventGridEvent::new("/a", "Contoso.A", 1)?, None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_event(
        &self,
        event: &EventGridEvent,
        options: Option<SendOptions>,
    ) -> Result<()> {
        self.send_events(std::slice::from_ref(event), options).await
    }

    /// Publishes a batch of EventGrid-schema events (one request).
    ///
    /// ```no_run
    /// # async fn f(p: azure_wasi_eventgrid::EventGrid, events: Vec<azure_wasi_eventgrid::EventGridEvent>) -> azure_wasi_eventgrid::Result<()> {
    /// p.send_events(&events, None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_events(
        &self,
        events: &[EventGridEvent],
        options: Option<SendOptions>,
    ) -> Result<()> {
        self.post(events, EVENTGRID_JSON, options).await
    }

    /// Publishes one CloudEvent (as a batch of one).
    ///
    /// ```no_run
    /// # async fn f(p: azure_wasi_eventgrid::EventGrid) -> azure_wasi_eventgrid::Result<()> {
    /// p.send_cloud_event(&azure_wasi_eventgrid::CloudEvent::new("/src", "Contoso.A", 1)?, None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_cloud_event(
        &self,
        event: &CloudEvent,
        options: Option<SendOptions>,
    ) -> Result<()> {
        self.send_cloud_events(std::slice::from_ref(event), options)
            .await
    }

    /// Publishes CloudEvents with `application/cloudevents-batch+json`.
    ///
    /// ```no_run
    /// # async fn f(p: azure_wasi_eventgrid::EventGrid, events: Vec<azure_wasi_eventgrid::CloudEvent>) -> azure_wasi_eventgrid::Result<()> {
    /// p.send_cloud_events(&events, None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_cloud_events(
        &self,
        events: &[CloudEvent],
        options: Option<SendOptions>,
    ) -> Result<()> {
        self.post(events, CLOUDEVENTS_BATCH, options).await
    }

    async fn post<T: Serialize>(
        &self,
        events: &[T],
        content_type: &'static str,
        options: Option<SendOptions>,
    ) -> Result<()> {
        let body = serde_json::to_vec(events)?;
        let mut request = Request::new(self.endpoint.clone(), Method::Post);
        if let Some(channel) = options.and_then(|o| o.channel_name) {
            request.insert_header("aeg-channel-name", channel);
        }
        request.insert_header("content-type", content_type);
        request.insert_header("content-length", body.len().to_string());
        request.set_body(body);
        let options = PipelineSendOptions {
            skip_checks: true,
            ..Default::default()
        };
        let response = self
            .pipeline
            .send(&Context::new(), &mut request, Some(options))
            .await?;
        let status = u16::from(response.status());
        if status < 300 {
            return Ok(());
        }
        let body = response.body().as_ref();
        let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v["error"][name].as_str().map(str::to_string))
        };
        let message = field("message")
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
        Err(Error::Service {
            status,
            code: field("code"),
            message: azure_wasi_core::status_policy::redact(&message),
            retry_after: azure_wasi_core::status_policy::retry_after(response.headers()),
        })
    }
}
