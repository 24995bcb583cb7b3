//! The TCP side of every outbound call (both worlds): the host resolves the name itself, checks
//! every address against the module's [`AddressPolicy`], and connects to a checked address, so
//! there is no second lookup that could answer differently. DNS and TCP connect share the
//! `outbound_connect_timeout`.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::address_policy::AddressPolicy;

/// The error type connectors hand to hyper.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Lookup = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>>;

/// Resolves a host name and port to socket addresses.
#[derive(Clone)]
pub(crate) struct Resolver(Arc<dyn Fn(String, u16) -> Lookup + Send + Sync>);

impl Resolver {
    /// The system resolver (`getaddrinfo` on a blocking thread).
    pub(crate) fn system() -> Self {
        Self(Arc::new(|host, port| {
            Box::pin(async move {
                Ok(tokio::net::lookup_host((host.as_str(), port))
                    .await?
                    .collect())
            })
        }))
    }

    /// A resolver that answers from a fixed table (tests).
    #[cfg(test)]
    pub(crate) fn fixed(table: Vec<(&'static str, Vec<IpAddr>)>) -> Self {
        let table = Arc::new(table);
        Self(Arc::new(move |host, port| {
            let found = table
                .iter()
                .find(|(name, _)| *name == host)
                .map(|(_, ips)| ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect());
            Box::pin(async move {
                found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"))
            })
        }))
    }
}

/// The lookup and the TCP connect together took longer than the connect timeout.
#[derive(Debug)]
pub(crate) struct ConnectTimedOut(pub(crate) Duration);

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no connection within {:?}; raise outbound_connect_timeout_secs in [limits]",
            self.0
        )
    }
}

impl std::error::Error for ConnectTimedOut {}

/// The name did not resolve.
#[derive(Debug)]
pub(crate) struct LookupFailed {
    host: String,
    source: io::Error,
}

impl std::fmt::Display for LookupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot resolve {}: {}", self.host, self.source)
    }
}

impl std::error::Error for LookupFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// No checked address accepted the connection.
#[derive(Debug)]
pub(crate) struct ConnectFailed {
    addr: SocketAddr,
    source: io::Error,
}

impl ConnectFailed {
    /// The last address's I/O error.
    pub(crate) fn io(&self) -> &io::Error {
        &self.source
    }
}

impl std::fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot connect to {}: {}", self.addr, self.source)
    }
}

impl std::error::Error for ConnectFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Opens TCP connections for one module's client, to addresses its [`AddressPolicy`] allows.
#[derive(Clone)]
pub(crate) struct GuardedConnector {
    policy: Arc<AddressPolicy>,
    resolver: Resolver,
    timeout: Duration,
    /// Connections opened so far (the pool's reuse shows as this staying small).
    opened: Arc<AtomicU64>,
}

impl GuardedConnector {
    /// A connector applying `policy`, resolving with `resolver`, giving up after `timeout`.
    pub(crate) fn new(policy: AddressPolicy, resolver: Resolver, timeout: Duration) -> Self {
        Self {
            policy: Arc::new(policy),
            resolver,
            timeout,
            opened: Arc::default(),
        }
    }

    /// The count of connections this connector (and its clones) opened.
    pub(crate) fn opened(&self) -> Arc<AtomicU64> {
        self.opened.clone()
    }

    /// Resolves, checks and connects; the first address that accepts wins.
    async fn connect(self, uri: Uri) -> Result<TokioIo<TcpStream>, BoxError> {
        let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
        let host = uri.host().ok_or("the URL has no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let deadline = Instant::now() + self.timeout;
        let addrs = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => {
                let lookup = (self.resolver.0)(host.to_string(), port);
                match tokio::time::timeout_at(deadline, lookup).await {
                    Err(_) => return Err(Box::new(ConnectTimedOut(self.timeout))),
                    Ok(Err(source)) => {
                        return Err(Box::new(LookupFailed {
                            host: host.to_string(),
                            source,
                        }))
                    }
                    Ok(Ok(addrs)) => addrs,
                }
            }
        };
        if addrs.is_empty() {
            return Err(Box::new(LookupFailed {
                host: host.to_string(),
                source: io::Error::new(io::ErrorKind::NotFound, "no addresses"),
            }));
        }
        // Every address is checked before any is tried: a name that mixes public and private
        // answers is refused as a whole.
        for addr in &addrs {
            self.policy.check(&scheme, host, port, addr.ip())?;
        }
        let mut last = None;
        for addr in addrs {
            match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
                Err(_) => return Err(Box::new(ConnectTimedOut(self.timeout))),
                Ok(Ok(stream)) => {
                    self.opened.fetch_add(1, Ordering::Relaxed);
                    let _ = stream.set_nodelay(true);
                    return Ok(TokioIo::new(stream));
                }
                Ok(Err(source)) => last = Some(ConnectFailed { addr, source }),
            }
        }
        match last {
            Some(e) => Err(Box::new(e)),
            None => Err("no address to connect to".into()),
        }
    }
}

impl tower_service::Service<Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(self.clone().connect(uri))
    }
}

#[cfg(test)]
mod tests {
    use super::super::address_policy::Prohibited;
    use super::*;
    use crate::AllowList;
    use tower_service::Service;

    fn connector(entries: &[&str], block: bool, resolver: Resolver) -> GuardedConnector {
        let policy = AddressPolicy::new(AllowList::parse(entries).unwrap(), block);
        GuardedConnector::new(policy, resolver, Duration::from_millis(300))
    }

    fn prohibited(err: BoxError) -> Prohibited {
        err.downcast::<Prohibited>()
            .map(|p| *p)
            .unwrap_or_else(|e| panic!("not a refusal: {e}"))
    }

    #[tokio::test]
    async fn a_wildcard_name_resolving_to_loopback_is_refused_before_connecting() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let resolver = Resolver::fixed(vec![
            ("inside.example.com", vec!["127.0.0.1".parse().unwrap()]),
            (
                "mixed.example.com",
                vec!["20.60.1.1".parse().unwrap(), "10.0.0.7".parse().unwrap()],
            ),
            ("meta.example.com", vec!["169.254.169.254".parse().unwrap()]),
        ]);
        let mut c = connector(&["http://*.example.com:1"], true, resolver);
        let uri: Uri = format!("http://inside.example.com:{port}/x")
            .parse()
            .unwrap();
        let err = prohibited(c.call(uri).await.err().unwrap());
        assert_eq!(err.addr, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert!(!err.always);
        let err = prohibited(
            c.call("http://mixed.example.com/".parse().unwrap())
                .await
                .err()
                .unwrap(),
        );
        assert_eq!(err.kind, "private (RFC 1918)");
        let err = prohibited(
            c.call("http://meta.example.com/".parse().unwrap())
                .await
                .err()
                .unwrap(),
        );
        assert!(err.always);
        // Nothing reached the listener.
        let accepted = tokio::time::timeout(Duration::from_millis(50), listener.accept()).await;
        assert!(accepted.is_err(), "a refused call must not connect");
    }

    #[tokio::test]
    async fn an_exact_entry_or_the_switch_allows_loopback() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let resolver = Resolver::fixed(vec![("dev.local", vec!["127.0.0.1".parse().unwrap()])]);
        let uri: Uri = format!("http://dev.local:{port}/").parse().unwrap();
        let exact = format!("http://dev.local:{port}");
        let mut c = connector(&[&exact], true, resolver.clone());
        assert!(c.call(uri.clone()).await.is_ok());
        let mut c = connector(&["insecure:allow-all"], false, resolver);
        assert!(c.call(uri).await.is_ok());
        let literal: Uri = format!("http://127.0.0.1:{port}/").parse().unwrap();
        let mut c = connector(
            &[&format!("http://127.0.0.1:{port}")],
            true,
            Resolver::system(),
        );
        assert!(c.call(literal).await.is_ok());
    }

    #[tokio::test]
    async fn ip_literals_are_checked_without_a_lookup() {
        let never = Resolver(Arc::new(|_, _| {
            panic!("an IP literal must not be looked up")
        }));
        let mut c = connector(&["insecure:allow-all"], false, never);
        for uri in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://[::ffff:169.254.169.254]/",
        ] {
            let started = std::time::Instant::now();
            let err = prohibited(c.call(uri.parse().unwrap()).await.err().unwrap());
            assert!(err.always, "{uri}");
            assert!(started.elapsed() < Duration::from_millis(100), "{uri}");
        }
    }

    #[tokio::test]
    async fn lookup_failures_and_refused_connections_are_reported() {
        let mut c = connector(&["insecure:allow-all"], false, Resolver::fixed(vec![]));
        let err = c
            .call("http://nowhere.invalid/".parse().unwrap())
            .await
            .err()
            .unwrap();
        assert!(err.downcast_ref::<LookupFailed>().is_some(), "{err}");
        // A port nobody listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = c
            .call(format!("http://127.0.0.1:{port}/").parse().unwrap())
            .await
            .err()
            .unwrap();
        let failed = err
            .downcast_ref::<ConnectFailed>()
            .expect("a connect error");
        assert_eq!(failed.io().kind(), io::ErrorKind::ConnectionRefused);
    }

    /// A listener whose accept queue is full drops new SYNs, so a connect to it hangs: the
    /// connect timeout must end it.
    #[tokio::test]
    async fn a_hanging_connect_ends_at_the_connect_timeout() {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(1).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut held = Vec::new();
        let mut hanging = false;
        for _ in 0..64 {
            match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
                Ok(Ok(s)) => held.push(s),
                _ => {
                    hanging = true;
                    break;
                }
            }
        }
        assert!(hanging, "the accept queue never filled");
        let mut c = connector(&["insecure:allow-all"], false, Resolver::system());
        let started = std::time::Instant::now();
        let err = c
            .call(format!("http://{addr}/").parse().unwrap())
            .await
            .err()
            .unwrap();
        assert!(err.downcast_ref::<ConnectTimedOut>().is_some(), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(held);
    }
}
