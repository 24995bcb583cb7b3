//! Publishing events to a topic.

use crate::{generate_sas, CloudEvent, Error, EventGridEvent, Result};
use azure_core::http::{
    ClientOptions, Context, Method, Pipeline, PipelineSendOptions, Request, Url,
};
use azure_core::time::{Duration, OffsetDateTime};
use azure_wasi_core::auth::{add_signing_policy, RequestSigner};
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
}

impl fmt::Debug for EventGridCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(_) => f.write_str("Key(<redacted>)"),
            Self::SasToken(_) => f.write_str("SasToken(<redacted>)"),
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
        }
        Ok(())
    }
}

/// Sends events to one topic.
///
/// ```no_run
/// # async fn f() -> azure_wasi_eventgrid::Result<()> {
/// use azure_wasi_eventgrid::{EventGridCredential, EventGridPublisher, EventGridEvent};
/// let publisher = EventGridPublisher::new(
///     "https://t.westus2-1.eventgrid.azure.net/api/events",
///     EventGridCredential::Key("<key>".into()),
///     azure_core::http::ClientOptions::default())?;
/// publisher.send_events(&[EventGridEvent::new("/a", "Contoso.A", 1)?]).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EventGridPublisher {
    endpoint: Url,
    pipeline: Pipeline,
}

impl EventGridPublisher {
    /// A publisher for `endpoint` (a topic URL; `/api/events` is added if the path is empty).
    ///
    /// ```
    /// use azure_wasi_eventgrid::{EventGridCredential, EventGridPublisher};
    /// let p = EventGridPublisher::new("http://127.0.0.1:8082", EventGridCredential::Key("k".into()),
    ///     azure_core::http::ClientOptions::default()).unwrap();
    /// assert_eq!(p.endpoint().as_str(), "http://127.0.0.1:8082/api/events?api-version=2018-01-01");
    /// ```
    pub fn new(
        endpoint: &str,
        credential: EventGridCredential,
        mut options: ClientOptions,
    ) -> Result<Self> {
        let text = endpoint.trim();
        let mut url = Url::parse(text).map_err(|e| Error::InvalidEndpoint {
            endpoint: text.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::InvalidEndpoint {
                endpoint: text.to_string(),
                reason: "the scheme must be http or https".into(),
            });
        }
        if url.path() == "/" || url.path().is_empty() {
            url.set_path("/api/events");
        }
        url.query_pairs_mut()
            .clear()
            .append_pair("api-version", EVENTGRID_API_VERSION);
        if options.transport.is_none() {
            options.transport = Some(azure_wasi_core::transport());
        }
        add_signing_policy(&mut options, Arc::new(HeaderSigner(credential)));
        let pipeline = Pipeline::new(
            Some(env!("CARGO_PKG_NAME")),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            Vec::new(),
            Vec::new(),
            None,
        );
        Ok(Self {
            endpoint: url,
            pipeline,
        })
    }

    /// A publisher from `EVENTGRID_ENDPOINT` and `EVENTGRID_KEY`, or `EVENTGRID_SAS_TOKEN`.
    ///
    /// ```no_run
    /// let p = azure_wasi_eventgrid::EventGridPublisher::from_env(azure_core::http::ClientOptions::default())?;
    /// # Ok::<(), azure_wasi_eventgrid::Error>(())
    /// ```
    pub fn from_env(options: ClientOptions) -> Result<Self> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let endpoint = get("EVENTGRID_ENDPOINT").ok_or(Error::MissingSetting {
            name: "EVENTGRID_ENDPOINT",
        })?;
        let credential = match (get("EVENTGRID_KEY"), get("EVENTGRID_SAS_TOKEN")) {
            (Some(k), _) => EventGridCredential::Key(k),
            (None, Some(t)) => EventGridCredential::SasToken(t),
            (None, None) => {
                return Err(Error::MissingSetting {
                    name: "EVENTGRID_KEY",
                })
            }
        };
        Self::new(&endpoint, credential, options)
    }

    /// The URL events are posted to.
    ///
    /// ```
    /// # use azure_wasi_eventgrid::*;
    /// # let p = EventGridPublisher::new("https://t/api/events", EventGridCredential::Key("k".into()), Default::default()).unwrap();
    /// assert!(p.endpoint().as_str().ends_with("?api-version=2018-01-01"));
    /// ```
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Publishes one EventGrid-schema event.
    ///
    /// ```no_run
    /// # async fn f(p: azure_wasi_eventgrid::EventGridPublisher) -> azure_wasi_eventgrid::Result<()> {
    /// p.send_event(&azure_wasi_eventgrid::EventGridEvent::new("/a", "Contoso.A", 1)?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_event(&self, event: &EventGridEvent) -> Result<()> {
        self.send_events(std::slice::from_ref(event)).await
    }

    /// Publishes a batch of EventGrid-schema events (one request).
    ///
    /// ```no_run
    /// # async fn f(p: azure_wasi_eventgrid::EventGridPublisher, events: Vec<azure_wasi_eventgrid::EventGridEvent>) -> azure_wasi_eventgrid::Result<()> {
    /// p.send_events(&events).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_events(&self, events: &[EventGridEvent]) -> Result<()> {
        self.post(events, EVENTGRID_JSON).await
    }

    /// Publishes one CloudEvent (as a batch of one).
    ///
    /// ```no_run
    /// # async fn f(p: azure_wasi_eventgrid::EventGridPublisher) -> azure_wasi_eventgrid::Result<()> {
    /// p.send_cloud_event(&azure_wasi_eventgrid::CloudEvent::new("/src", "Contoso.A", 1)?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_cloud_event(&self, event: &CloudEvent) -> Result<()> {
        self.send_cloud_events(std::slice::from_ref(event)).await
    }

    /// Publishes CloudEvents with `application/cloudevents-batch+json`.
    ///
    /// ```no_run
    /// # async fn f(p: azure_wasi_eventgrid::EventGridPublisher, events: Vec<azure_wasi_eventgrid::CloudEvent>) -> azure_wasi_eventgrid::Result<()> {
    /// p.send_cloud_events(&events).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_cloud_events(&self, events: &[CloudEvent]) -> Result<()> {
        self.post(events, CLOUDEVENTS_BATCH).await
    }

    async fn post<T: Serialize>(&self, events: &[T], content_type: &'static str) -> Result<()> {
        let body = serde_json::to_vec(events)?;
        let mut request = Request::new(self.endpoint.clone(), Method::Post);
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
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
        Err(Error::Service { status, message })
    }
}
