//! The accept loop and the handler.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::error::Error;

/// The body every request gets, the same as the `hello` sample's.
pub const BODY: &str = "hello, world\n";

/// Consecutive accept errors after which the server gives up.
const MAX_ACCEPT_ERRORS: u32 = 100;

/// Serves HTTP/1.1 on `listener` until accepting fails repeatedly.
///
/// ```ignore
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// serve(listener).await?;
/// ```
pub async fn serve(listener: TcpListener) -> Result<(), Error> {
    let mut errors = 0;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => {
                errors = 0;
                accepted
            }
            Err(e) => {
                errors += 1;
                if errors >= MAX_ACCEPT_ERRORS {
                    return Err(Error::Accept(e));
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}

/// Answers any request with [`BODY`].
///
/// ```ignore
/// let resp = hello(request).await?;
/// assert_eq!(resp.status(), 200);
/// ```
pub async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut resp = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(resp)
}
