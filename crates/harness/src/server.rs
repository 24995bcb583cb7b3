//! Serving a [`Harness`] over HTTP/1.1 on a TCP address.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinSet;

use crate::bodies::{self, OutBody};
use crate::harness::too_large;
use crate::outcome::text;
use crate::{Error, Harness, Result};

/// A running server. Dropping it (or [`Server::shutdown`]) closes the listener and leaves open
/// connections to finish by themselves; [`Server::drain`] stops gracefully within a bound.
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
    stop: Option<oneshot::Sender<Stop>>,
    task: tokio::task::JoinHandle<usize>,
}

/// How the accept loop is asked to stop.
#[derive(Debug)]
enum Stop {
    /// Close the listener; open connections carry on by themselves.
    Detach,
    /// Close the listener, let open connections finish their request (closing idle keep-alive
    /// connections), and cut the ones still open after the grace period.
    Drain(Duration),
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
            let _ = stop.send(Stop::Detach);
        }
        let _ = (&mut self.task).await;
    }

    /// Stops gracefully: closes the listener at once (new connections are refused), lets the
    /// requests in flight finish within `grace` (idle keep-alive connections are closed, busy
    /// ones after their response), then cuts what is still open. Returns how many connections
    /// were cut (0: everything finished in time). `harness serve` calls it on SIGTERM or
    /// Ctrl-C with `[limits] shutdown_grace_secs`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = harness::Harness::builder().build()?.serve("127.0.0.1:0".parse()?).await?;
    /// let addr = server.addr();
    /// // An idle keep-alive connection does not hold the shutdown up.
    /// let mut conn = tokio::net::TcpStream::connect(addr).await?;
    /// conn.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await?;
    /// let mut buf = [0u8; 256];
    /// let n = conn.read(&mut buf).await?;
    /// assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    ///
    /// let cut = server.drain(Duration::from_secs(5)).await;
    /// assert_eq!(cut, 0);
    /// assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    /// assert_eq!(conn.read(&mut buf).await?, 0); // closed by the server
    /// # Ok(()) }
    /// ```
    pub async fn drain(mut self, grace: Duration) -> usize {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Stop::Drain(grace));
        }
        (&mut self.task).await.unwrap_or(0)
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
            // Set to `true` when draining: every connection then finishes its request and closes.
            let (drain_tx, drain_rx) = watch::channel(false);
            let mut connections = JoinSet::new();
            let stop = loop {
                tokio::select! {
                    stop = &mut stop_rx => break stop.unwrap_or(Stop::Detach),
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
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
                            let drain = drain_rx.clone();
                            connections.spawn(async move {
                                harness.serve_connection(stream, peer, local, full, drain).await;
                                drop(permit);
                            });
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            };
            // New connections are refused from here on.
            drop(listener);
            match stop {
                Stop::Detach => {
                    connections.detach_all();
                    0
                }
                Stop::Drain(grace) => drain_connections(connections, &drain_tx, grace, local).await,
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
        mut drain: watch::Receiver<bool>,
    ) {
        let _counted = self.observer().map(|o| o.connection());
        let harness = self.clone();
        let service = service_fn(move |req| {
            let harness = harness.clone();
            async move {
                let response = if full && req.uri().path() != "/healthz" {
                    text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "too many open connections; try again shortly",
                    )
                    .map(bodies::full)
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
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let draining = async {
            // The sender is gone when the server stopped without draining: serve on.
            if drain.wait_for(|draining| *draining).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            () = draining => {
                // Finish the request in progress (if any), then close.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = ended {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }

    /// Serves one request: refused from its head alone when it can be, otherwise dispatched
    /// with its body streaming in (capped, within `body_read_timeout`) and the response body
    /// streaming out.
    async fn serve_one(
        &self,
        req: http::Request<Incoming>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> http::Response<OutBody> {
        let (parts, body) = req.into_parts();
        if let Some(answer) = self
            .dashboard_answer(&parts.method, &parts.uri, local, true)
            .await
        {
            return answer;
        }
        let limit = self.limits().max_request_body_bytes;
        // Refuse what can be refused from the head alone before reading any body.
        if let Some(refusal) = self.refuse_early(&parts, limit) {
            return refusal.map(bodies::full);
        }
        let body = body.map_err(std::io::Error::other).boxed_unsync();
        let read_timeout = Some(self.limits().body_read_timeout);
        self.dispatch(
            http::Request::from_parts(parts, body),
            peer,
            local,
            read_timeout,
        )
        .await
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
            Some(n) if n > limit as u64 => Some(too_large(limit as u64)),
            _ => None,
        }
    }
}

/// Asks every connection to finish and close, waits up to `grace` for them, and cuts the rest.
/// Returns how many were cut.
async fn drain_connections(
    mut connections: JoinSet<()>,
    drain: &watch::Sender<bool>,
    grace: Duration,
    local: SocketAddr,
) -> usize {
    let open = connections.len();
    tracing::info!(%local, open, ?grace, "harness stopped accepting; letting requests in flight finish");
    let _ = drain.send(true);
    let deadline = tokio::time::sleep(grace);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = connections.join_next() => {
                if next.is_none() {
                    tracing::info!(%local, "every connection finished");
                    return 0;
                }
            }
            () = &mut deadline => {
                let cut = connections.len();
                connections.abort_all();
                // A cut task stops at its next await (a guest yields every epoch tick).
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    while connections.join_next().await.is_some() {}
                })
                .await;
                tracing::warn!(%local, cut, ?grace, "connections still open after shutdown_grace_secs were cut");
                return cut;
            }
        }
    }
}

/// Connections answered 503 while `max_connections` are in use.
const OVERFLOW_CONNECTIONS: usize = 64;
