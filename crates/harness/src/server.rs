//! Serving a [`Harness`] over HTTP/1.1 on a TCP address.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};

use crate::outcome::text;
use crate::{Error, Harness, Result};

/// A running server. Dropping it leaves it running; call [`Server::shutdown`] to stop it.
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let h = harness::Harness::builder().build()?;
/// let server = h.serve("127.0.0.1:0".parse()?).await?;
///
/// let mut conn = tokio::net::TcpStream::connect(server.addr()).await?;
/// conn.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
/// let mut reply = String::new();
/// conn.read_to_string(&mut reply).await?;
/// assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
/// assert!(reply.ends_with("\r\n\r\nOK\n"), "{reply}");
///
/// server.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The bound address (useful after binding port 0).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = harness::Harness::builder().build()?.serve("127.0.0.1:0".parse()?).await?;
    /// assert!(server.addr().ip().is_loopback());
    /// assert_ne!(server.addr().port(), 0); // the port the OS picked
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = harness::Harness::builder().build()?.serve("127.0.0.1:0".parse()?).await?;
    /// assert_eq!(server.url(), format!("http://127.0.0.1:{}", server.addr().port()));
    /// # server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the accept loop to end.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = harness::Harness::builder().build()?.serve("127.0.0.1:0".parse()?).await?;
    /// let addr = server.addr();
    /// server.shutdown().await;
    /// // The listener is closed once `shutdown` returns.
    /// assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops. Nothing but the process ending stops it once `wait` holds
    /// it, so this is how a binary serves until it is killed.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Runs forever: serve a config file's modules on port 3000.
    /// let config = harness::HarnessConfig::from_file("wagi.toml".as_ref())?;
    /// let h = harness::Harness::from_config(&config)?;
    /// h.serve("127.0.0.1:3000".parse()?).await?.wait().await;
    /// # Ok(()) }
    /// ```
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Harness {
    /// Binds `addr` and serves this harness on it.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let h = harness::Harness::builder().build()?;
    /// let server = h.serve("127.0.0.1:0".parse()?).await?;
    /// // A second server cannot bind the same address.
    /// let err = h.serve(server.addr()).await.unwrap_err();
    /// assert!(matches!(err, harness::Error::Listen { .. }), "{err}");
    /// server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn serve(&self, addr: SocketAddr) -> Result<Server> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Listen { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Listen { addr, source })?;
        let (stop_tx, mut stop_rx) = oneshot::channel();
        let harness = self.clone();
        let slots = Arc::new(Semaphore::new(self.limits().max_connections));
        // Connections past the cap get a 503 (or `/healthz`) from a small second pool, so a
        // flood of idle clients cannot hide the harness's health; past that they are dropped.
        let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, peer)) => {
                            let _ = stream.set_nodelay(true);
                            let (permit, full) = match slots.clone().try_acquire_owned() {
                                Ok(p) => (p, false),
                                Err(_) => match overflow.clone().try_acquire_owned() {
                                    Ok(p) => (p, true),
                                    Err(_) => {
                                        tracing::warn!(%peer, "connection refused: max_connections and the overflow pool are in use");
                                        continue;
                                    }
                                },
                            };
                            let harness = harness.clone();
                            tokio::spawn(async move {
                                harness.serve_connection(stream, peer, local, full).await;
                                drop(permit);
                            });
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    }
                }
            }
        });
        tracing::info!(%local, "harness listening");
        Ok(Server {
            addr: local,
            stop: Some(stop_tx),
            task,
        })
    }

    /// Serves one client connection; `full` means the connection cap was reached, so every
    /// request but `/healthz` is answered 503 and the connection is closed.
    async fn serve_connection(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
        full: bool,
    ) {
        let harness = self.clone();
        let service = service_fn(move |req| {
            let harness = harness.clone();
            async move {
                let response = if full && req.uri().path() != "/healthz" {
                    text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "too many open connections; try again shortly",
                    )
                    .map(Full::new)
                } else {
                    harness.serve_one(req, peer, local).await
                };
                Ok::<_, Infallible>(response)
            }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits().header_read_timeout)
            .keep_alive(!full);
        if let Err(e) = builder
            .serve_connection(TokioIo::new(stream), service)
            .await
        {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }

    async fn serve_one(
        &self,
        req: http::Request<Incoming>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> http::Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let limit = self.limits().max_request_body_bytes;
        // Refuse what can be refused from the head alone before reading any body.
        if let Some(refusal) = self.refuse_early(&parts, limit) {
            return refusal.map(Full::new);
        }
        let deadline = self.limits().body_read_timeout;
        let collected = tokio::time::timeout(deadline, Limited::new(body, limit).collect()).await;
        let response = match collected {
            Err(_) => text(
                StatusCode::REQUEST_TIMEOUT,
                &format!("the request body did not arrive within {deadline:?}"),
            ),
            Ok(Ok(collected)) => {
                let request = http::Request::from_parts(parts, collected.to_bytes());
                self.handle_from(request, peer, local).await
            }
            Ok(Err(e))
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                too_large(limit)
            }
            Ok(Err(_)) => text(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            ),
        };
        response.map(Full::new)
    }

    /// The answer for a request that needs no body to be refused: no route (404), or a
    /// declared body over the limit (413).
    fn refuse_early(
        &self,
        parts: &http::request::Parts,
        limit: usize,
    ) -> Option<http::Response<Bytes>> {
        let path = parts.uri.path();
        if path != "/healthz" && !self.has_route(path) {
            return Some(crate::outcome::no_route(path));
        }
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match declared {
            Some(n) if n > limit as u64 => Some(too_large(limit)),
            _ => None,
        }
    }
}

/// Connections answered 503 while `max_connections` are in use.
const OVERFLOW_CONNECTIONS: usize = 64;

fn too_large(limit: usize) -> http::Response<Bytes> {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "the request body is larger than {limit} bytes; raise max_request_body_mib in [limits]"
        ),
    )
}
