//! Serving a [`Harness`] over HTTP/1.1 on a TCP address.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::outcome::text;
use crate::{Error, Harness, Result};

/// A running server. Dropping it leaves it running; call [`Server::shutdown`] to stop it.
///
/// ```no_run
/// # async fn demo(h: harness::Harness) -> Result<(), harness::Error> {
/// let server = h.serve("127.0.0.1:0".parse().unwrap()).await?;
/// println!("listening on {}", server.url());
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
    /// ```no_run
    /// # fn demo(s: &harness::Server) { assert!(s.addr().port() > 0); }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    ///
    /// ```no_run
    /// # fn demo(s: &harness::Server) { assert!(s.url().starts_with("http://")); }
    /// ```
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the accept loop to end.
    ///
    /// ```no_run
    /// # async fn demo(s: harness::Server) { s.shutdown().await; }
    /// ```
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops (it runs until shut down).
    ///
    /// ```no_run
    /// # async fn demo(s: harness::Server) { s.wait().await; }
    /// ```
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Harness {
    /// Binds `addr` and serves this harness on it.
    ///
    /// ```no_run
    /// # async fn demo(h: harness::Harness) {
    /// let server = h.serve("127.0.0.1:3000".parse().unwrap()).await.unwrap();
    /// # let _ = server;
    /// # }
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
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, peer)) => {
                            let _ = stream.set_nodelay(true);
                            let harness = harness.clone();
                            tokio::spawn(async move {
                                let service = service_fn(move |req| {
                                    let harness = harness.clone();
                                    async move { Ok::<_, Infallible>(harness.serve_one(req, peer, local).await) }
                                });
                                if let Err(e) = http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await
                                {
                                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                                }
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

    async fn serve_one(
        &self,
        req: http::Request<Incoming>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> http::Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let limit = self.limits().max_request_body_bytes;
        let response = match Limited::new(body, limit).collect().await {
            Ok(collected) => {
                let request = http::Request::from_parts(parts, collected.to_bytes());
                self.handle_from(request, peer, local).await
            }
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => text(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request body is larger than {limit} bytes; raise max_request_body_mib in [limits]"),
            ),
            Err(_) => text(StatusCode::BAD_REQUEST, "the request body could not be read"),
        };
        response.map(Full::new)
    }
}
