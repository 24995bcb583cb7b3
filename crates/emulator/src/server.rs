//! The one accept loop of the emulators (Blob, EventGrid, Cosmos DB): hyper 1, with shutdown and
//! the inbound protections of [`ServerLimits`] (header-read and idle timeouts, a connection cap).

mod body;
mod idle;
pub(crate) mod ops;
mod response;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use crate::limits::ServerLimits;
use crate::{Error, Result};

pub(crate) use body::{declared_length, read_body, BodyError};
use idle::{Activity, Tracked};
pub(crate) use response::{Body, StreamError};

/// Response type of every emulator: bytes in hand ([`Body::Full`]) except for Get Blob, which
/// streams ([`Body::Stream`]).
pub(crate) type Resp = http::Response<Body>;

/// Connections answered 503 (then closed) while `max_connections` are in use; past these,
/// new connections are closed at once.
const OVERFLOW_CONNECTIONS: usize = 32;

/// How one emulator is served: its limits, and its own 503 answer (each service has its error
/// format).
#[derive(Clone)]
pub(crate) struct ServeOptions {
    pub limits: ServerLimits,
    pub busy: fn() -> Resp,
}

/// A running server; dropping it (or calling [`ServerTask::shutdown`]) stops it.
#[derive(Debug)]
pub(crate) struct ServerTask {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl ServerTask {
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for ServerTask {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A bound listener, not yet serving: its address is known before the handler is built.
pub(crate) struct Bound {
    service: &'static str,
    listener: TcpListener,
    pub local_addr: SocketAddr,
}

/// Bind `addr` (port 0 picks a free port).
pub(crate) async fn bind(service: &'static str, addr: SocketAddr) -> Result<Bound> {
    let bind_error = |source| Error::Bind {
        service,
        addr,
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local_addr = listener.local_addr().map_err(bind_error)?;
    Ok(Bound {
        service,
        listener,
        local_addr,
    })
}

/// Bind `addr` and serve every connection with `handler`.
pub(crate) async fn serve<H, F>(
    service: &'static str,
    addr: SocketAddr,
    options: ServeOptions,
    handler: H,
) -> Result<ServerTask>
where
    H: Fn(http::Request<Incoming>, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    Ok(bind(service, addr).await?.serve(options, handler))
}

impl Bound {
    /// The one accept loop of every emulator: HTTP/1.1 with keep-alive, one task per
    /// connection, at most `limits.max_connections` of them, all dropped on shutdown.
    pub(crate) fn serve<H, F>(self, options: ServeOptions, handler: H) -> ServerTask
    where
        H: Fn(http::Request<Incoming>, SocketAddr) -> F + Send + Sync + 'static,
        F: Future<Output = Resp> + Send + 'static,
    {
        let Bound {
            service,
            listener,
            local_addr,
        } = self;
        let (stop, mut stopped) = watch::channel(false);
        let handler = Arc::new(handler);
        let slots = Arc::new(Semaphore::new(options.limits.max_connections.max(1)));
        let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    accepted = listener.accept() => {
                        let (stream, peer) = match accepted {
                            Ok(x) => x,
                            Err(e) => {
                                // Out of file descriptors and the like: back off, do not spin.
                                tracing::warn!(service, error = %e, "accept failed");
                                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                                continue;
                            }
                        };
                        let (permit, full) = match slots.clone().try_acquire_owned() {
                            Ok(p) => (p, false),
                            Err(_) => match overflow.clone().try_acquire_owned() {
                                Ok(p) => (p, true),
                                Err(_) => {
                                    tracing::warn!(service, %peer, "connection closed: max_connections and the overflow pool are in use");
                                    continue;
                                }
                            },
                        };
                        let handler = handler.clone();
                        let options = options.clone();
                        conns.spawn(async move {
                            serve_connection(service, stream, peer, options, full, handler).await;
                            drop(permit);
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
            conns.shutdown().await;
            tracing::info!(service, "emulator stopped");
        });
        tracing::info!(service, addr = %local_addr, "emulator listening");
        ServerTask {
            addr: local_addr,
            stop,
            task: Some(task),
        }
    }
}

/// Serve one connection until it ends, its idle timeout passes or the server stops. `full`:
/// the connection cap was reached, so every request gets the service's 503 and the connection
/// is closed.
async fn serve_connection<H, F>(
    service: &'static str,
    stream: TcpStream,
    peer: SocketAddr,
    options: ServeOptions,
    full: bool,
    handler: Arc<H>,
) where
    H: Fn(http::Request<Incoming>, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    let activity = Activity::new();
    let busy = options.busy;
    let svc = {
        let activity = activity.clone();
        hyper::service::service_fn(move |req| {
            let guard = activity.enter();
            let method = req.method().clone();
            let fut = (!full).then(|| handler(req, peer));
            async move {
                let resp = match fut {
                    Some(fut) => fut.await,
                    None => busy(),
                };
                ops::count(service, &method, resp.status());
                drop(guard);
                Ok::<_, Infallible>(resp)
            }
        })
    };
    let io = TokioIo::new(Tracked::new(stream, activity.clone()));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.limits.header_read_timeout())
        .keep_alive(!full);
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    let idle = options.limits.idle_timeout();
    loop {
        let wait = activity.idle_in(idle);
        if wait.is_zero() {
            tracing::debug!(service, %peer, "idle connection closed");
            return;
        }
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(service, %peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Current time as RFC 1123 (`Date` header format).
pub(crate) fn http_date_now() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}
