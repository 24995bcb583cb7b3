//! Support for the end-to-end tests: loopback HTTP servers with scripted behaviour, and short
//! ways to build requests for a [`harness::Harness`].
//!
//! ```no_run
//! # async fn demo() {
//! let upstream = e2e::Upstream::start(|_req| async { e2e::text(200, "hi") }).await;
//! println!("{}", upstream.url("/"));
//! # }
//! ```

mod logs;
pub use logs::{capture_logs, global_logs, Logs};

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// An HTTP/1.1 server on 127.0.0.1 with a closure as its handler; stops when dropped.
pub struct Upstream {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    /// Starts a server on a free loopback port.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let up = e2e::Upstream::start(|_| async { e2e::text(200, "ok") }).await;
    /// assert!(up.addr().port() > 0);
    /// # }
    /// ```
    pub async fn start<F, Fut>(handler: F) -> Self
    where
        F: Fn(Request<Bytes>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Bytes>> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for a test upstream");
        let addr = listener.local_addr().expect("local address");
        let handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = handler.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let handler = handler.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let resp = handler(Request::from_parts(parts, body)).await;
                            Ok::<_, Infallible>(resp.map(Full::new))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, task }
    }

    /// The bound address.
    ///
    /// ```no_run
    /// # fn demo(u: &e2e::Upstream) { let _ = u.addr(); }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    ///
    /// ```no_run
    /// # fn demo(u: &e2e::Upstream) { assert!(u.url("/x").ends_with("/x")); }
    /// ```
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The `allowed_hosts` entry for this server.
    ///
    /// ```no_run
    /// # fn demo(u: &e2e::Upstream) { assert!(u.origin().starts_with("http://127.0.0.1:")); }
    /// ```
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response with a status and a text body.
///
/// ```
/// assert_eq!(e2e::text(404, "no").status(), 404);
/// ```
pub fn text(status: u16, body: &str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert("content-type", http::HeaderValue::from_static("text/plain"));
    r
}

/// A GET request for `path_and_query`.
///
/// ```
/// assert_eq!(e2e::get("/a?b=1").uri().query(), Some("b=1"));
/// ```
pub fn get(path_and_query: &str) -> Request<Bytes> {
    Request::get(path_and_query)
        .body(Bytes::new())
        .expect("a valid test request")
}

/// A POST request with a body.
///
/// ```
/// assert_eq!(e2e::post("/a", "x").body().as_ref(), b"x");
/// ```
pub fn post(path_and_query: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::post(path_and_query)
        .body(body.into())
        .expect("a valid test request")
}

/// The body as text.
///
/// ```
/// assert_eq!(e2e::body_text(&e2e::text(200, "x")), "x");
/// ```
pub fn body_text(resp: &Response<Bytes>) -> String {
    String::from_utf8_lossy(resp.body()).into_owned()
}

/// `key=value` lines of a probe's answer, as pairs.
///
/// ```
/// assert_eq!(e2e::kv("a=1\nb=2\n", "b").as_deref(), Some("2"));
/// ```
pub fn kv(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.split_once('=')
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    })
}

/// Percent-encodes a query value.
///
/// ```
/// assert_eq!(e2e::enc("a b&c"), "a%20b%26c");
/// ```
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Path of a guest module built by `cargo xtask build`; fails the test with the fix when missing.
///
/// ```no_run
/// let p = e2e::wasm("hello");
/// assert!(p.is_file());
/// ```
pub fn wasm(name: &str) -> std::path::PathBuf {
    let p = harness::guest_wasm(name);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo xtask build` (or `cargo xtask test`) first",
        p.display()
    );
    p
}

/// Path of a guest component built with
/// `cargo build --target wasm32-wasip2 --profile wasm-release -p <name>`; fails the test with
/// the fix when missing.
///
/// ```no_run
/// let p = e2e::component("component-probe");
/// assert!(p.is_file());
/// ```
pub fn component(name: &str) -> std::path::PathBuf {
    let p = harness::guest_component(name);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build --target wasm32-wasip2 --profile wasm-release -p {name}` first",
        p.display()
    );
    p
}

/// Sends `req` over a real TCP connection to `base` (such as `http://127.0.0.1:3000`) and
/// collects the response.
///
/// ```no_run
/// # async fn demo() {
/// let resp = e2e::fetch("http://127.0.0.1:3000", e2e::get("/healthz")).await;
/// assert_eq!(resp.status(), 200);
/// # }
/// ```
pub async fn fetch(base: &str, req: Request<Bytes>) -> Response<Bytes> {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    parts.uri = format!("{base}{path}").parse().expect("a valid URL");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let resp = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
        .expect("the server answers");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("a complete body").to_bytes();
    Response::from_parts(parts, body)
}

/// The two worlds a sample is built for: a WAGI module (`wasm32-wasip1`) and a wasi:http
/// component (`wasm32-wasip2`). Sample tests run once in each.
///
/// ```no_run
/// let hello = e2e::World::Component.guest("hello");
/// assert!(hello.to_string_lossy().contains("wasm32-wasip2"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// `wasm32-wasip1`, CGI and `wasi_experimental_http`.
    Module,
    /// `wasm32-wasip2`, wasi:http incoming and outgoing handlers.
    Component,
}

impl World {
    /// The built `.wasm` of guest `name` in this world (asserts that it exists).
    ///
    /// ```no_run
    /// let p = e2e::World::Module.guest("hello");
    /// assert!(p.ends_with("hello.wasm"));
    /// ```
    pub fn guest(self, name: &str) -> std::path::PathBuf {
        match self {
            World::Module => wasm(name),
            World::Component => component(name),
        }
    }
}

/// Turns `async fn name(world: e2e::World)` test bodies into two tests each, `name::module`
/// and `name::component`, so every sample test runs in both worlds.
///
/// ```ignore
/// async fn hello_answers(world: e2e::World) { /* ... */ }
/// e2e::in_both_worlds!(hello_answers);
/// ```
#[macro_export]
macro_rules! in_both_worlds {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn module() {
                    super::$name($crate::World::Module).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn component() {
                    super::$name($crate::World::Component).await
                }
            }
        )+
    };
}
