//! Test support: an HTTP client, Shared Key signing and a scriptable webhook.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

pub use emulator::{DEV_ACCOUNT as ACCOUNT, DEV_ACCOUNT_KEY as KEY};

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, n: &str) -> Option<&str> {
        self.headers.get(n).and_then(|v| v.to_str().ok())
    }
    pub fn error_code(&self) -> Option<&str> {
        self.header("x-ms-error-code")
    }
}

pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Resp {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let body: Bytes = body.into();
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        b = b.header("content-length", body.len().to_string());
    }
    let req = b.body(Full::new(body)).expect("request");
    let resp = client.request(req).await.expect("send");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Resp {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub fn now_http() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

/// Send a request signed with Shared Key (x-ms-date now, x-ms-version 2021-08-06).
pub async fn signed(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Resp {
    signed_with(KEY, &now_http(), method, url, headers, body).await
}

pub async fn signed_with(
    key: &str,
    date: &str,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Resp {
    let body: Bytes = body.into();
    let mut h = HeaderMap::new();
    h.insert("x-ms-date", HeaderValue::from_str(date).expect("date"));
    h.insert("x-ms-version", HeaderValue::from_static("2021-08-06"));
    for (k, v) in headers {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(v).expect("value"),
        );
    }
    if !body.is_empty() {
        h.insert(
            "content-length",
            HeaderValue::from_str(&body.len().to_string()).expect("len"),
        );
    }
    let uri: http::Uri = url.parse().expect("uri");
    let auth = emulator::blob::auth::authorization(ACCOUNT, key, &method, &uri, &h).expect("sign");
    let mut all: Vec<(String, String)> = h
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    all.push(("authorization".into(), auth));
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    send(method, url, &refs, body).await
}

pub async fn blob_emulator() -> emulator::blob::BlobEmulator {
    blob_emulator_on(emulator::store::StoreHandle::memory()).await
}

/// A Blob emulator (no events) on `store`.
pub async fn blob_emulator_on(store: emulator::store::StoreHandle) -> emulator::blob::BlobEmulator {
    emulator::blob::BlobEmulator::start(
        emulator::BlobConfig {
            port: 0,
            events: None,
            ..Default::default()
        },
        store,
        None,
    )
    .await
    .expect("start blob emulator")
}

/// A Blob emulator on `store` with container `name` created; returns it and the container's URL.
pub async fn blob_with_container(
    store: emulator::store::StoreHandle,
    name: &str,
) -> (emulator::blob::BlobEmulator, String) {
    let blob = blob_emulator_on(store).await;
    let container = format!("{}/{name}", blob.account_url(ACCOUNT));
    let r = signed(
        Method::PUT,
        &format!("{container}?restype=container"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    (blob, container)
}

/// One request the webhook received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// How the webhook answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Behaviour {
    /// Echo validation codes, allow OPTIONS, 200 on notifications.
    Good,
    /// Answer validation with a wrong code.
    BadValidation,
    /// OPTIONS without WebHook-Allowed-Origin.
    NoAllowedOrigin,
}

pub struct Webhook {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    /// Statuses for the next notifications (then 200).
    pub failures: Arc<Mutex<VecDeque<u16>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Webhook {
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn notifications(&self) -> Vec<Received> {
        self.received
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| {
                r.headers
                    .get("aeg-event-type")
                    .map(|v| v == "Notification")
                    .unwrap_or(false)
            })
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Wait until `pred` holds on the notifications (5 s max).
    pub async fn wait_for(&self, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..250 {
            let n = self.notifications();
            if pred(&n) {
                return n;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!(
            "webhook condition not reached; received: {:?}",
            self.all()
                .iter()
                .map(|r| (
                    r.method.clone(),
                    String::from_utf8_lossy(&r.body).into_owned()
                ))
                .collect::<Vec<_>>()
        );
    }
}

pub async fn webhook(behaviour: Behaviour) -> Webhook {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let failures: Arc<Mutex<VecDeque<u16>>> = Arc::default();
    let (rec, fail) = (received.clone(), failures.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (rec, fail) = (rec.clone(), fail.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (rec, fail) = (rec.clone(), fail.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|c| c.to_bytes())
                            .unwrap_or_default();
                        rec.lock().expect("lock").push(Received {
                            method: parts.method.clone(),
                            headers: parts.headers.clone(),
                            body: body.clone(),
                        });
                        let mut resp = http::Response::builder().status(200);
                        let mut out = Bytes::new();
                        if parts.method == Method::OPTIONS {
                            if behaviour != Behaviour::NoAllowedOrigin {
                                let origin = parts
                                    .headers
                                    .get("webhook-request-origin")
                                    .cloned()
                                    .unwrap_or(HeaderValue::from_static("*"));
                                resp = resp.header("webhook-allowed-origin", origin);
                            }
                        } else if parts
                            .headers
                            .get("aeg-event-type")
                            .map(|v| v == "SubscriptionValidation")
                            .unwrap_or(false)
                        {
                            let v: serde_json::Value =
                                serde_json::from_slice(&body).unwrap_or_default();
                            let code = v[0]["data"]["validationCode"]
                                .as_str()
                                .unwrap_or("")
                                .to_string();
                            let code = if behaviour == Behaviour::BadValidation {
                                "wrong".to_string()
                            } else {
                                code
                            };
                            out = Bytes::from(
                                serde_json::json!({ "validationResponse": code }).to_string(),
                            );
                        } else if let Some(s) = fail.lock().expect("lock").pop_front() {
                            resp = resp.status(s);
                        }
                        Ok::<_, std::convert::Infallible>(resp.body(Full::new(out)).expect("resp"))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Webhook {
        addr,
        received,
        failures,
        task,
    }
}
