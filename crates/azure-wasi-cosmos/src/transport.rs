//! Sending one Cosmos request through the pipeline and mapping the answer.

use crate::{Error, MasterKeySigner, Result};
use azure_core::http::{
    ClientOptions, Context, Method, Pipeline, PipelineSendOptions, RawResponse, Request, Url,
};
use azure_wasi_core::auth::add_signing_policy;
use bytes::Bytes;
use serde::Deserialize;
use std::sync::Arc;

/// Shared state of all clients derived from one `Cosmos`.
#[derive(Debug)]
pub(crate) struct Inner {
    endpoint: Url,
    pipeline: Pipeline,
}

/// One request: method, resource path segments, extra headers, optional JSON body.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub path: Vec<&'a str>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Bytes>,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, path: Vec<&'a str>) -> Self {
        Self {
            method,
            path,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn json_body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(Bytes::from(body));
        self
    }
}

#[derive(Deserialize)]
struct ServiceError {
    code: Option<String>,
    message: Option<String>,
}

impl Inner {
    pub fn new(endpoint: Url, auth: crate::CosmosAuth, mut options: ClientOptions) -> Arc<Self> {
        if options.transport.is_none() {
            options.transport = Some(azure_wasi_core::transport());
        }
        match auth {
            crate::CosmosAuth::MasterKey(key) => {
                let signer = MasterKeySigner::new(key, endpoint.path());
                add_signing_policy(&mut options, Arc::new(signer));
            }
            crate::CosmosAuth::Token { credential, scope } => {
                add_signing_policy(&mut options, Arc::new(crate::auth::DateHeaders));
                azure_wasi_core::auth::add_token_policy(
                    &mut options,
                    azure_wasi_core::auth::TokenPolicy::new(
                        credential,
                        &scope,
                        azure_wasi_core::auth::TokenFormat::CosmosAad,
                    ),
                );
            }
        }
        let pipeline = Pipeline::new(
            Some(env!("CARGO_PKG_NAME")),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            Vec::new(),
            Vec::new(),
            None,
        );
        Arc::new(Self { endpoint, pipeline })
    }

    pub fn url(&self, path: &[&str]) -> Url {
        let mut url = self.endpoint.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path);
        }
        url
    }

    /// Sends `call`; any status >= 400 becomes [`Error::Service`].
    pub async fn send(&self, call: Call<'_>) -> Result<RawResponse> {
        self.send_in(&Context::new(), call).await
    }

    /// Like [`Inner::send`] within `context` (the caller's `ClientMethodOptions::context`).
    pub async fn send_in(&self, context: &Context<'_>, call: Call<'_>) -> Result<RawResponse> {
        let mut request = Request::new(self.url(&call.path), call.method);
        request.insert_header("accept", "application/json");
        if let Some(body) = call.body {
            request.insert_header("content-type", "application/json");
            request.set_body(body);
        }
        for (name, value) in call.headers {
            request.insert_header(name, value);
        }
        let options = PipelineSendOptions {
            skip_checks: true,
            ..Default::default()
        };
        let response = self
            .pipeline
            .send(context, &mut request, Some(options))
            .await?;
        let status = u16::from(response.status());
        if status < 400 {
            return Ok(response);
        }
        Err(service_error(status, &response))
    }
}

fn service_error(status: u16, response: &RawResponse) -> Error {
    let headers = response.headers();
    let header = |name: &'static str| headers.get_optional_str(&name.into()).map(str::to_string);
    let parsed: Option<ServiceError> = serde_json::from_slice(response.body().as_ref()).ok();
    let (code, message) = match parsed {
        Some(e) => (e.code, e.message),
        None => (None, None),
    };
    let message = message.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(response.body().as_ref());
        let text = text.trim();
        if text.is_empty() {
            "no message in the answer".to_string()
        } else {
            text.chars().take(500).collect()
        }
    });
    Error::Service {
        status,
        retry_after: azure_wasi_core::status_policy::retry_after(headers),
        sub_status: header("x-ms-substatus").and_then(|s| s.trim().parse().ok()),
        code,
        message: azure_wasi_core::status_policy::redact(&message),
        activity_id: header("x-ms-activity-id"),
    }
}
