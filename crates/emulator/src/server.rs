//! The one accept loop of the emulators (Blob, EventGrid, Cosmos DB): hyper 1, with shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::{Error, Result};

/// Response type of every emulator.
pub(crate) type Resp = http::Response<Full<Bytes>>;

/// Why a request body could not be read.
pub(crate) enum BodyError {
    TooLarge,
    Io(String),
}

pub(crate) async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(BodyError::TooLarge)
            } else {
                Err(BodyError::Io(e.to_string()))
            }
        }
    }
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
    handler: H,
) -> Result<ServerTask>
where
    H: Fn(http::Request<Incoming>, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    Ok(bind(service, addr).await?.serve(handler))
}

impl Bound {
    /// The one accept loop of every emulator: HTTP/1.1 with keep-alive, one task per
    /// connection, all of them dropped on shutdown.
    pub(crate) fn serve<H, F>(self, handler: H) -> ServerTask
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
                        let handler = handler.clone();
                        conns.spawn(async move {
                            let svc = hyper::service::service_fn(move |req| {
                                let fut = handler(req, peer);
                                async move { Ok::<_, Infallible>(fut.await) }
                            });
                            if let Err(e) = hyper::server::conn::http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(stream), svc)
                                .await
                            {
                                tracing::debug!(service, error = %e, "connection ended with an error");
                            }
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

/// Current time as RFC 1123 (`Date` header format).
pub(crate) fn http_date_now() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}
