//! A blob's bytes for the dashboard's download link: fetched from the running Blob emulator
//! over loopback with a Shared Key request, exactly as a client would, so the bytes come from
//! the same Get Blob operation whatever the store does with them. The key stays here; the
//! caller gets only the status, the content headers and the streamed body. Nothing here holds
//! the blob: Get Blob loads a part only when the previous ones are written, and hyper reads the
//! response only as the caller takes it, so a download holds about two parts whatever the
//! blob's size (`tests::a_large_blob_is_passed_on_as_the_caller_reads_it`).

use http::{HeaderMap, Method, Request, Response, Uri};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::blob::DEFAULT_VERSION;

/// Where the Blob emulator listens and its accounts' keys.
#[derive(Clone)]
pub(crate) struct BlobAccess {
    pub(crate) url: String,
    pub(crate) keys: Vec<(String, String)>,
}

impl BlobAccess {
    /// Get Blob of `account/container/blob`; `None` for an account the emulator does not have.
    /// An error says what failed, without the key or the signature.
    pub(crate) async fn get(
        &self,
        account: &str,
        container: &str,
        blob: &str,
    ) -> Result<Option<Response<Incoming>>, String> {
        let Some((_, key)) = self.keys.iter().find(|(name, _)| name == account) else {
            return Ok(None);
        };
        let path = format!(
            "/{}/{}/{}",
            encode(account),
            encode(container),
            blob.split('/').map(encode).collect::<Vec<_>>().join("/")
        );
        let uri: Uri = format!("{}{path}", self.url)
            .parse()
            .map_err(|e| format!("blob path {path}: {e}"))?;
        let mut headers = HeaderMap::new();
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        headers.insert("x-ms-date", header(&date)?);
        headers.insert("x-ms-version", header(DEFAULT_VERSION)?);
        let auth = crate::blob::auth::authorization(account, key, &Method::GET, &uri, &headers)
            .map_err(|_| format!("the key of account {account} is not valid base64"))?;
        headers.insert(http::header::AUTHORIZATION, header(&auth)?);
        let mut request = Request::get(uri)
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| format!("blob request: {e}"))?;
        *request.headers_mut() = headers;
        let client = Client::builder(TokioExecutor::new()).build_http();
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("the Blob emulator did not answer: {e}"))?;
        Ok(Some(response))
    }
}

fn header(value: &str) -> Result<http::HeaderValue, String> {
    // Only dates, versions and signatures come here: the value is not repeated in the error.
    http::HeaderValue::from_str(value).map_err(|_| "a header value is not valid".to_string())
}

/// Percent-encodes one path segment (everything but unreserved characters).
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};

    use super::*;
    use crate::store::{MemoryStore, Op, Snapshot, Store, StoreHandle, Table};
    use crate::{DEV_ACCOUNT, DEV_ACCOUNT_KEY};

    const PART: usize = 4 * 1024 * 1024;

    /// A memory store counting the bytes of blob parts read through its snapshots (the reads
    /// of Get Blob).
    struct Counting {
        inner: MemoryStore,
        loaded: Arc<AtomicU64>,
    }

    struct CountingSnapshot(Box<dyn Snapshot>, Arc<AtomicU64>);

    impl Store for Counting {
        fn get(&self, table: Table, key: &str) -> crate::Result<Option<Vec<u8>>> {
            self.inner.get(table, key)
        }
        fn scan_prefix(&self, table: Table, prefix: &str) -> crate::Result<Vec<(String, Vec<u8>)>> {
            self.inner.scan_prefix(table, prefix)
        }
        fn commit(&self, ops: Vec<Op>) -> crate::Result<()> {
            self.inner.commit(ops)
        }
        fn snapshot(&self, tables: &[Table]) -> crate::Result<Box<dyn Snapshot>> {
            let inner = self.inner.snapshot(tables)?;
            Ok(Box::new(CountingSnapshot(inner, self.loaded.clone())))
        }
    }

    impl Snapshot for CountingSnapshot {
        fn get(&self, table: Table, key: &str) -> crate::Result<Option<Vec<u8>>> {
            let value = self.0.get(table, key)?;
            if let (Table::BlobData, Some(v)) = (table, &value) {
                self.1.fetch_add(v.len() as u64, Ordering::SeqCst);
            }
            Ok(value)
        }
    }

    /// A Shared Key signed request to the Blob emulator; its status.
    async fn send(method: Method, url: &str, extra: &[(&str, &str)], body: Vec<u8>) -> u16 {
        let uri: Uri = url.parse().unwrap();
        let mut headers = HeaderMap::new();
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        headers.insert("x-ms-date", header(&date).unwrap());
        headers.insert("x-ms-version", header(DEFAULT_VERSION).unwrap());
        headers.insert("content-length", header(&body.len().to_string()).unwrap());
        for (name, value) in extra {
            let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
            headers.insert(name, header(value).unwrap());
        }
        let auth =
            crate::blob::auth::authorization(DEV_ACCOUNT, DEV_ACCOUNT_KEY, &method, &uri, &headers)
                .unwrap();
        headers.insert(http::header::AUTHORIZATION, header(&auth).unwrap());
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        *request.headers_mut() = headers;
        let client = Client::builder(TokioExecutor::new()).build_http();
        client.request(request).await.unwrap().status().as_u16()
    }

    #[tokio::test]
    async fn a_large_blob_is_passed_on_as_the_caller_reads_it() {
        let loaded = Arc::new(AtomicU64::new(0));
        let store = StoreHandle::new(Arc::new(Counting {
            inner: MemoryStore::new(),
            loaded: loaded.clone(),
        }));
        let cfg = crate::BlobConfig {
            port: 0,
            events: None,
            ..Default::default()
        };
        let blob = crate::blob::BlobEmulator::start(cfg, store, None)
            .await
            .unwrap();
        let container = format!("{}/dash", blob.account_url(DEV_ACCOUNT));
        let create = format!("{container}?restype=container");
        assert_eq!(send(Method::PUT, &create, &[], vec![]).await, 201);
        let body: Vec<u8> = (0..12 * PART).map(|i| (i % 253) as u8).collect();
        let put = [("x-ms-blob-type", "BlockBlob")];
        let url = format!("{container}/big.bin");
        assert_eq!(send(Method::PUT, &url, &put, body.clone()).await, 201);

        let access = BlobAccess {
            url: blob.url(),
            keys: vec![(DEV_ACCOUNT.into(), DEV_ACCOUNT_KEY.into())],
        };
        let response = access
            .get(DEV_ACCOUNT, "dash", "big.bin")
            .await
            .unwrap()
            .expect("the account exists");
        assert_eq!(response.status(), 200);
        let length = response.headers()["content-length"].to_str().unwrap();
        assert_eq!(length, body.len().to_string());
        // Nobody reads: the emulator stops after the parts that fill the sockets' buffers and
        // hyper's (a few MiB each way on loopback), far from the whole 48 MiB.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let ahead = loaded.load(Ordering::SeqCst);
        assert!(
            ahead <= 6 * PART as u64,
            "{ahead} bytes loaded before a read"
        );
        let mut stream = response.into_body();
        let mut got = Vec::with_capacity(body.len());
        while let Some(frame) = stream.frame().await {
            got.extend_from_slice(&frame.unwrap().into_data().unwrap());
        }
        assert!(got == body, "the bytes read back");
        assert_eq!(loaded.load(Ordering::SeqCst), body.len() as u64);
        blob.shutdown().await;
    }
}
