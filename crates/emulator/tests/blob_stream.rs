//! Get Blob streams: the body is sent part by part, each part loaded from the store only when
//! the client has taken the previous ones, from one snapshot of the store (a write committed
//! meanwhile changes nothing the download sends). Real HTTP on 127.0.0.1, through a store that
//! counts the bytes of parts it loads.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use common::*;
use emulator::store::{MemoryStore, Op, RedbStore, Snapshot, Store, StoreHandle, Table};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use md5::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIB: usize = 1024 * 1024;
/// The part size of Put Blob.
const PART: usize = 4 * MIB;

/// A store that counts the bytes of blob parts (table `BlobData`) it has loaded, through
/// `get` or a snapshot.
struct Counting {
    inner: Box<dyn Store>,
    loaded: Arc<AtomicU64>,
}

struct CountingSnapshot {
    inner: Box<dyn Snapshot>,
    loaded: Arc<AtomicU64>,
}

fn count(loaded: &AtomicU64, table: Table, value: &Option<Vec<u8>>) {
    if let (Table::BlobData, Some(v)) = (table, value) {
        loaded.fetch_add(v.len() as u64, Ordering::SeqCst);
    }
}

impl Store for Counting {
    fn get(&self, table: Table, key: &str) -> emulator::Result<Option<Vec<u8>>> {
        let value = self.inner.get(table, key)?;
        count(&self.loaded, table, &value);
        Ok(value)
    }
    fn scan_prefix(&self, table: Table, prefix: &str) -> emulator::Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan_prefix(table, prefix)
    }
    fn commit(&self, ops: Vec<Op>) -> emulator::Result<()> {
        self.inner.commit(ops)
    }
    fn snapshot(&self, tables: &[Table]) -> emulator::Result<Box<dyn Snapshot>> {
        Ok(Box::new(CountingSnapshot {
            inner: self.inner.snapshot(tables)?,
            loaded: self.loaded.clone(),
        }))
    }
}

impl Snapshot for CountingSnapshot {
    fn get(&self, table: Table, key: &str) -> emulator::Result<Option<Vec<u8>>> {
        let value = self.inner.get(table, key)?;
        count(&self.loaded, table, &value);
        Ok(value)
    }
}

struct Fixture {
    blob: emulator::blob::BlobEmulator,
    store: StoreHandle,
    /// Bytes of parts loaded so far.
    loaded: Arc<AtomicU64>,
    container: String,
    /// The redb store's directory, removed at the end.
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    async fn start(redb: bool) -> Self {
        let (inner, dir): (Box<dyn Store>, _) = if redb {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = RedbStore::open_dir(dir.path()).expect("open redb");
            (Box::new(store), Some(dir))
        } else {
            (Box::new(MemoryStore::new()), None)
        };
        let loaded = Arc::new(AtomicU64::new(0));
        let store = StoreHandle::new(Arc::new(Counting {
            inner,
            loaded: loaded.clone(),
        }));
        let (blob, container) = blob_with_container(store.clone(), "stream").await;
        Self {
            blob,
            store,
            loaded,
            container,
            _dir: dir,
        }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.container)
    }

    fn loaded(&self) -> u64 {
        self.loaded.load(Ordering::SeqCst)
    }

    /// Number and total size of the parts stored for blob `name` (as the live store sees them).
    async fn stored(&self, name: &str) -> (usize, usize) {
        let entries = self
            .store
            .scan_prefix(Table::BlobData, &format!("{ACCOUNT}/stream/{name}\u{0}"))
            .await
            .expect("scan");
        (entries.len(), entries.iter().map(|(_, v)| v.len()).sum())
    }
}

/// Bytes that differ at every offset of a part boundary from their neighbours.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed ^ (i / PART) as u8)
        .collect()
}

async fn put_blob(url: &str, body: &[u8]) {
    let r = signed(
        Method::PUT,
        url,
        &[("x-ms-blob-type", "BlockBlob")],
        body.to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

/// Puts `blocks` with Put Block and commits them in order with Put Block List.
async fn put_blocks(url: &str, blocks: &[Vec<u8>]) {
    let mut list = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for (i, block) in blocks.iter().enumerate() {
        let id = base64::engine::general_purpose::STANDARD.encode(format!("block-{i:04}"));
        let r = signed(
            Method::PUT,
            &format!("{url}?comp=block&blockid={}", id.replace('=', "%3D")),
            &[],
            block.clone(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        list.push_str(&format!("<Latest>{id}</Latest>"));
    }
    list.push_str("</BlockList>");
    let r = signed(Method::PUT, &format!("{url}?comp=blocklist"), &[], list).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

async fn get_range(url: &str, first: usize, last: usize) -> Resp {
    let range = format!("bytes={first}-{last}");
    let r = signed(Method::GET, url, &[("x-ms-range", &range)], "").await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{}", r.text());
    r
}

/// Checks a whole download and ranges across part boundaries of the blob at `url`.
async fn check_reads(url: &str, body: &[u8], boundaries: &[usize]) {
    let whole = signed(Method::GET, url, &[], "").await;
    assert_eq!(whole.status, StatusCode::OK, "{}", whole.text());
    assert_eq!(
        whole.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert!(whole.body[..] == body[..], "the whole blob reads back");
    for &at in boundaries {
        let (first, last) = (at - 7, (at + 7).min(body.len() - 1));
        let r = get_range(url, first, last).await;
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {first}-{last}/{}", body.len()).as_str())
        );
        assert_eq!(
            r.header("content-length"),
            Some((last - first + 1).to_string().as_str())
        );
        assert!(r.body[..] == body[first..=last], "range {first}-{last}");
    }
    // One range over every part but the first and last bytes.
    let r = get_range(url, 1, body.len() - 2).await;
    assert!(r.body[..] == body[1..body.len() - 1], "the inner range");
}

#[tokio::test]
async fn multi_part_blobs_read_back_whole_and_by_ranges_across_parts() {
    for redb in [false, true] {
        let fx = Fixture::start(redb).await;
        // Put Blob: 9 MiB and 3 bytes, stored as parts of 4, 4 and 1 MiB + 3 bytes.
        let url = fx.url("put.bin");
        let body = pattern(9 * MIB + 3, 1);
        put_blob(&url, &body).await;
        assert_eq!(fx.stored("put.bin").await, (3, body.len()));
        check_reads(&url, &body, &[PART, 2 * PART]).await;

        // Put Block List: five blocks of different sizes, one part each.
        let url = fx.url("blocks.bin");
        let sizes = [MIB + 1, 3, 2 * MIB, 100, MIB - 5];
        let blocks: Vec<Vec<u8>> = (sizes.iter().enumerate())
            .map(|(i, n)| pattern(*n, 16 + i as u8))
            .collect();
        put_blocks(&url, &blocks).await;
        assert_eq!(fx.stored("blocks.bin").await.0, 5);
        let body = blocks.concat();
        let boundaries: Vec<usize> = (sizes.iter())
            .scan(0, |at, n| {
                *at += n;
                Some(*at)
            })
            .filter(|at| *at > 7 && *at < body.len())
            .collect();
        check_reads(&url, &body, &boundaries).await;
        fx.blob.shutdown().await;
    }
}

/// A raw HTTP/1.1 Get Blob on a socket with a small receive buffer, read as slowly as the test
/// wants.
struct Download {
    conn: tokio::net::TcpStream,
    /// The response head.
    head: String,
    /// Body bytes read so far.
    body: Vec<u8>,
    /// The `Content-Length` of the response.
    length: usize,
}

impl Download {
    async fn start(fx: &Fixture, name: &str) -> Self {
        let url = fx.url(name);
        let uri: http::Uri = url.parse().expect("uri");
        let date = now_http();
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-date", HeaderValue::from_str(&date).expect("date"));
        headers.insert("x-ms-version", HeaderValue::from_static("2021-08-06"));
        let auth = emulator::blob::auth::authorization(ACCOUNT, KEY, &Method::GET, &uri, &headers)
            .expect("sign");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(16 * 1024).expect("SO_RCVBUF");
        let mut conn = socket.connect(fx.blob.addr()).await.expect("connect");
        let request = format!(
            "GET {} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-ms-date: {date}\r\nx-ms-version: 2021-08-06\r\nauthorization: {auth}\r\n\r\n",
            uri.path()
        );
        conn.write_all(request.as_bytes()).await.expect("send");
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            assert_eq!(conn.read(&mut byte).await.expect("head"), 1, "head ended");
            raw.push(byte[0]);
        }
        let head = String::from_utf8(raw).expect("ASCII head");
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_string)
            })
            .and_then(|v| v.trim().parse().ok())
            .expect("content-length");
        Self {
            conn,
            head,
            body: Vec::new(),
            length,
        }
    }

    /// Reads until at least `n` body bytes are in (or the body is complete). Returns false when
    /// the connection ended first.
    async fn read_to(&mut self, n: usize) -> bool {
        let mut buf = vec![0u8; 64 * 1024];
        while self.body.len() < n.min(self.length) {
            let want = buf.len().min(self.length - self.body.len());
            match self.conn.read(&mut buf[..want]).await {
                Ok(0) | Err(_) => return false,
                Ok(k) => self.body.extend_from_slice(&buf[..k]),
            }
        }
        true
    }
}

#[tokio::test]
async fn a_slow_download_loads_a_part_only_when_the_client_has_taken_the_ones_before() {
    let fx = Fixture::start(false).await;
    let body = pattern(10 * PART, 3);
    put_blob(&fx.url("big.bin"), &body).await;
    let before = fx.loaded();
    let mut download = Download::start(&fx, "big.bin").await;
    assert!(
        download
            .head
            .contains(&format!("content-length: {}", body.len())),
        "{}",
        download.head
    );
    // Whatever the client has read, the emulator has loaded at most three parts more: the one
    // hyper is writing, the next, and what the sockets' buffers hold (a few MiB on loopback).
    // Assembling the whole body first would have loaded all ten before the head was sent.
    let slack = 3 * PART as u64;
    let mut max_ahead = 0u64;
    let mut step = 0;
    while download.body.len() < body.len() {
        // Give the server time to run ahead if it were going to.
        tokio::time::sleep(Duration::from_millis(if step < 3 { 300 } else { 30 })).await;
        let loaded = fx.loaded() - before;
        let ahead = loaded.saturating_sub(download.body.len() as u64);
        max_ahead = max_ahead.max(ahead);
        assert!(
            ahead <= slack,
            "{loaded} bytes of parts loaded while the client had read {}",
            download.body.len()
        );
        assert!(
            download.read_to(download.body.len() + MIB).await,
            "the body ended early"
        );
        step += 1;
    }
    assert!(download.body == body, "the bytes read back");
    assert_eq!(
        fx.loaded() - before,
        body.len() as u64,
        "each part loaded once"
    );
    eprintln!("at most {max_ahead} bytes loaded ahead of the client");
    fx.blob.shutdown().await;
}

/// The blob's bytes by a fresh Get Blob, or the status when it is not 200.
async fn current(url: &str) -> Result<Vec<u8>, StatusCode> {
    let r = signed(Method::GET, url, &[], "").await;
    match r.status {
        StatusCode::OK => Ok(r.body.to_vec()),
        other => Err(other),
    }
}

#[tokio::test]
async fn a_download_sends_the_blob_as_it_was_when_it_began_whatever_is_committed_meanwhile() {
    for redb in [false, true] {
        let fx = Fixture::start(redb).await;
        let url = fx.url("moving.bin");
        let first = pattern(3 * PART - 1, 5);
        put_blob(&url, &first).await;

        // Put Blob over it while a download has read only part of the first part.
        let mut d1 = Download::start(&fx, "moving.bin").await;
        assert!(d1.read_to(MIB).await);
        let second: Vec<Vec<u8>> = (0..3).map(|i| pattern(2 * MIB + i, 40 + i as u8)).collect();
        put_blocks(&url, &second).await;
        // The old parts are gone from the store; the new blob is what a new Get Blob sees.
        assert_eq!(fx.stored("moving.bin").await, (3, second.concat().len()));
        assert_eq!(current(&url).await.ok(), Some(second.concat()));

        // Put Blob and then Delete Blob while a second download is in its second part.
        let mut d2 = Download::start(&fx, "moving.bin").await;
        assert!(d2.read_to(2 * MIB + 10).await);
        let third = pattern(PART + 1, 77);
        put_blob(&url, &third).await;
        assert_eq!(current(&url).await.ok(), Some(third.clone()));
        let mut d3 = Download::start(&fx, "moving.bin").await;
        assert!(d3.read_to(10).await);
        let r = signed(Method::DELETE, &url, &[], "").await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
        assert_eq!(fx.stored("moving.bin").await, (0, 0));
        assert_eq!(current(&url).await, Err(StatusCode::NOT_FOUND));

        // Each download still sends exactly the blob it started on.
        for (d, expected) in [(d1, first), (d2, second.concat()), (d3, third)] {
            let mut d = d;
            assert_eq!(d.length, expected.len());
            assert!(d.read_to(expected.len()).await, "the body ended early");
            assert!(d.body == expected, "the download kept its snapshot");
        }
        fx.blob.shutdown().await;
    }
}

fn md5_b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}

#[tokio::test]
async fn range_md5_is_given_for_ranges_of_at_most_4_mib_and_refused_above() {
    let fx = Fixture::start(false).await;
    let url = fx.url("md5.bin");
    let body = pattern(2 * PART + 9, 9);
    put_blob(&url, &body).await;
    let md5 = [("x-ms-range-get-content-md5", "true")];

    // Exactly 4 MiB, across a part boundary.
    let (first, last) = (PART - 100, 2 * PART - 101);
    let range = format!("bytes={first}-{last}");
    let r = signed(Method::GET, &url, &[md5[0], ("x-ms-range", &range)], "").await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{}", r.text());
    assert!(r.body[..] == body[first..=last]);
    assert_eq!(
        r.header("content-md5"),
        Some(md5_b64(&body[first..=last]).as_str())
    );
    assert_eq!(r.header("content-length"), Some(PART.to_string().as_str()));

    // One byte more is refused before anything is loaded.
    let range = format!("bytes={first}-{}", last + 1);
    let before = fx.loaded();
    let r = signed(Method::GET, &url, &[md5[0], ("x-ms-range", &range)], "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.error_code(), Some("OutOfRangeInput"));
    assert!(r.text().contains("at most 4194304 bytes"), "{}", r.text());
    assert_eq!(fx.loaded(), before);
    // An open range over 4 MiB too; without the header the same range is served.
    let r = signed(Method::GET, &url, &[md5[0], ("x-ms-range", "bytes=0-")], "").await;
    assert_eq!(r.error_code(), Some("OutOfRangeInput"));
    let r = signed(Method::GET, &url, &[("x-ms-range", &range)], "").await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert!(r.body[..] == body[first..=last + 1]);
    assert_eq!(r.header("content-md5"), None);
    fx.blob.shutdown().await;
}
