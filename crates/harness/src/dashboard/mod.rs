//! The dashboard (a page, its JSON and its live feed) and `/metrics`, served by the harness
//! itself at reserved paths ([`DashboardConfig`]). The page is plain HTML, CSS and JS embedded
//! in the binary: no CDN, no build step. Everything here is read-only and shows no secret:
//! module environment values, query strings and request headers never appear.

mod config;
mod sse;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Response, StatusCode};

pub use config::DashboardConfig;

use crate::bodies::{full, OutBody};
use crate::observe::Observer;
use crate::outcome::text;

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE_CSS: &str = include_str!("page/style.css");

/// The dashboard of one harness.
#[derive(Clone)]
pub(crate) struct Dashboard {
    config: DashboardConfig,
    observer: Observer,
    #[cfg(feature = "emulators")]
    emulators: Option<emulator::Inspector>,
}

impl Dashboard {
    pub(crate) fn new(config: DashboardConfig, observer: Observer) -> Self {
        Self {
            config,
            observer,
            #[cfg(feature = "emulators")]
            emulators: None,
        }
    }

    /// Shows the contents of these emulators too.
    #[cfg(feature = "emulators")]
    pub(crate) fn with_emulators(mut self, inspector: emulator::Inspector) -> Self {
        self.emulators = Some(inspector);
        self
    }

    /// The answer for a request to a reserved path on a listener at `local`, or `None` when the
    /// path is not reserved or the listener is not loopback (and remote viewing is off).
    /// `streamed`: the answer goes out over a connection (the live feed never ends, so an
    /// in-process caller, which collects the body, is refused it).
    pub(crate) async fn answer(
        &self,
        method: &Method,
        uri: &http::Uri,
        local: SocketAddr,
        streamed: bool,
    ) -> Option<Response<OutBody>> {
        let path = uri.path();
        let prefix = self.config.path.as_str();
        let reserved = path == self.config.metrics_path
            || path.starts_with(prefix)
            || path == prefix.trim_end_matches('/');
        if !reserved || !(local.ip().is_loopback() || self.config.allow_remote) {
            return None;
        }
        if method != Method::GET && method != Method::HEAD {
            let mut r = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "the dashboard is read-only: GET only",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Some(r.map(full));
        }
        if path == self.config.metrics_path {
            let mut out = String::with_capacity(8192);
            self.observer.render_metrics(&mut out);
            #[cfg(feature = "emulators")]
            if let Some(inspector) = &self.emulators {
                inspector.render_metrics(&mut out);
            }
            return Some(body(out.into(), "text/plain; version=0.0.4; charset=utf-8"));
        }
        let Some(page) = path.strip_prefix(prefix) else {
            // The prefix without its trailing slash: the page's relative links need it.
            let mut r = Response::new(full(Bytes::new()));
            *r.status_mut() = StatusCode::PERMANENT_REDIRECT;
            r.headers_mut()
                .insert(header::LOCATION, HeaderValue::from_str(prefix).ok()?);
            return Some(r);
        };
        Some(match page {
            "" | "index.html" => page_file(INDEX_HTML, "text/html; charset=utf-8"),
            "app.js" => page_file(APP_JS, "text/javascript; charset=utf-8"),
            "style.css" => page_file(STYLE_CSS, "text/css; charset=utf-8"),
            "api/routes" => json(&self.observer.routes()),
            "api/requests" => {
                let recent = self.observer.recent();
                json(&recent.iter().map(|r| &**r).collect::<Vec<_>>())
            }
            "api/series" => json(&self.observer.series()),
            "api/events" if !streamed => text(
                StatusCode::NOT_FOUND,
                "the live feed never ends: read it over HTTP (Harness::serve), not Harness::handle",
            )
            .map(full),
            "api/events" => {
                let mut r = Response::new(sse::stream(self.observer.subscribe()));
                let h = r.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                );
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                r
            }
            "api/emulators" => self.emulators_json().await,
            "api/blob" => self.blob_download(uri.query().unwrap_or("")).await,
            _ => text(
                StatusCode::NOT_FOUND,
                &format!("no dashboard page {path}; the dashboard is at {prefix}"),
            )
            .map(full),
        })
    }

    #[cfg(feature = "emulators")]
    async fn emulators_json(&self) -> Response<OutBody> {
        match &self.emulators {
            Some(inspector) => json(&inspector.snapshot().await),
            None => json(&serde_json::json!({ "enabled": false })),
        }
    }

    #[cfg(not(feature = "emulators"))]
    async fn emulators_json(&self) -> Response<OutBody> {
        json(&serde_json::json!({ "enabled": false }))
    }

    /// `api/blob?account=..&container=..&blob=..`: the blob's bytes as the Blob emulator
    /// serves them, streamed, as an attachment.
    #[cfg(feature = "emulators")]
    async fn blob_download(&self, query: &str) -> Response<OutBody> {
        use http_body_util::BodyExt;
        let q: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
        let (Some(account), Some(container), Some(blob)) =
            (q.get("account"), q.get("container"), q.get("blob"))
        else {
            return text(StatusCode::BAD_REQUEST, "give account, container and blob").map(full);
        };
        let Some(inspector) = &self.emulators else {
            return text(StatusCode::NOT_FOUND, "the emulators are not running").map(full);
        };
        let upstream = match inspector.download_blob(account, container, blob).await {
            Ok(Some(r)) if r.status() == StatusCode::OK => r,
            Ok(_) => return text(StatusCode::NOT_FOUND, "no such blob").map(full),
            Err(reason) => return text(StatusCode::BAD_GATEWAY, &reason).map(full),
        };
        let (parts, body) = upstream.into_parts();
        let mut r = Response::new(body.map_err(std::io::Error::other).boxed_unsync());
        for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH] {
            if let Some(v) = parts.headers.get(&name) {
                r.headers_mut().insert(name, v.clone());
            }
        }
        let file: String = (blob.rsplit('/').next().unwrap_or("blob").chars())
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        r.headers_mut().insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        r
    }

    #[cfg(not(feature = "emulators"))]
    async fn blob_download(&self, _query: &str) -> Response<OutBody> {
        text(
            StatusCode::NOT_FOUND,
            "the emulators are not part of this build",
        )
        .map(full)
    }
}

fn page_file(content: &'static str, content_type: &'static str) -> Response<OutBody> {
    let mut r = body(Bytes::from_static(content.as_bytes()), content_type);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:",
        ),
    );
    r
}

fn json(value: &impl serde::Serialize) -> Response<OutBody> {
    match serde_json::to_vec(value) {
        Ok(bytes) => body(bytes.into(), "application/json"),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot encode: {e}"),
        )
        .map(full),
    }
}

fn body(bytes: Bytes, content_type: &'static str) -> Response<OutBody> {
    let mut r = Response::new(full(bytes));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}
