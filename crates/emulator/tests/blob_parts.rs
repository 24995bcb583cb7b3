//! How the Blob emulator stores bytes, seen through its store: a block is written once (by Put
//! Block), a block list only names parts, parts no blob names are deleted, and ranges that span
//! parts read back right.

mod common;

use common::*;
use emulator::store::{StoreHandle, Table};
use http::{Method, StatusCode};

async fn start(store: StoreHandle) -> (emulator::blob::BlobEmulator, String) {
    blob_with_container(store, "parts").await
}

/// Total bytes stored in table `BlobData` under the blob `name` of the test container.
async fn stored_bytes(store: &StoreHandle, name: &str) -> (usize, usize) {
    let entries = store
        .scan_prefix(Table::BlobData, &format!("{ACCOUNT}/parts/{name}"))
        .await
        .expect("scan");
    (entries.len(), entries.iter().map(|(_, v)| v.len()).sum())
}

async fn put_block(url: &str, id: &str, body: Vec<u8>) {
    let r = signed(
        Method::PUT,
        &format!("{url}?comp=block&blockid={}", id.replace('=', "%3D")),
        &[],
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

async fn commit(url: &str, entries: &[(&str, &str)]) {
    let mut list = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for (kind, id) in entries {
        list.push_str(&format!("<{kind}>{id}</{kind}>"));
    }
    list.push_str("</BlockList>");
    let r = signed(Method::PUT, &format!("{url}?comp=blocklist"), &[], list).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

async fn get_range(url: &str, range: &str) -> Vec<u8> {
    let r = signed(Method::GET, url, &[("x-ms-range", range)], "").await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{}", r.text());
    r.body.to_vec()
}

#[tokio::test]
async fn blocks_are_stored_once_and_released_when_no_blob_names_them() {
    let store = StoreHandle::memory();
    let (blob, container) = start(store.clone()).await;
    let url = format!("{container}/b.bin");
    let (a, b, c) = ("QUFBQQ==", "QkJCQg==", "Q0NDQw==");
    put_block(&url, a, vec![b'a'; 1000]).await;
    put_block(&url, b, vec![b'b'; 1000]).await;
    // Staging `a` again replaces its bytes: the first copy is gone at once.
    put_block(&url, a, vec![b'A'; 1000]).await;
    assert_eq!(stored_bytes(&store, "b.bin").await, (2, 2000));

    // `a` named three times is still stored once.
    commit(
        &url,
        &[("Latest", a), ("Latest", b), ("Latest", a), ("Latest", a)],
    )
    .await;
    assert_eq!(stored_bytes(&store, "b.bin").await, (2, 2000));
    let whole = signed(Method::GET, &url, &[], "").await;
    assert_eq!(whole.body.len(), 4000);
    // A range across three parts.
    let expected: Vec<u8> = [vec![b'A'; 10], vec![b'b'; 1000], vec![b'A'; 10]].concat();
    assert_eq!(get_range(&url, "bytes=990-2009").await, expected);

    // Re-commit keeping `b` (committed) and a new `c`: `a`'s part is released, `b`'s kept.
    put_block(&url, c, vec![b'c'; 500]).await;
    commit(&url, &[("Committed", b), ("Uncommitted", c)]).await;
    assert_eq!(stored_bytes(&store, "b.bin").await, (2, 1500));
    assert_eq!(get_range(&url, "bytes=995-1004").await, b"bbbbbccccc");

    // A staged block never committed is dropped with the staging list on the next commit.
    put_block(&url, a, vec![b'z'; 700]).await;
    assert_eq!(stored_bytes(&store, "b.bin").await, (3, 2200));
    commit(&url, &[("Committed", c)]).await;
    assert_eq!(stored_bytes(&store, "b.bin").await, (1, 500));

    // Put Blob over it replaces every part; Delete Blob leaves nothing.
    let r = signed(
        Method::PUT,
        &url,
        &[("x-ms-blob-type", "BlockBlob")],
        vec![b'p'; 64],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(stored_bytes(&store, "b.bin").await, (1, 64));
    let r = signed(Method::DELETE, &url, &[], "").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(stored_bytes(&store, "b.bin").await, (0, 0));
    blob.shutdown().await;
}

#[tokio::test]
async fn a_large_put_blob_is_stored_in_4_mib_parts_and_read_back_by_range() {
    let store = StoreHandle::memory();
    let (blob, container) = start(store.clone()).await;
    let url = format!("{container}/big.bin");
    let body: Vec<u8> = (0..9 * 1024 * 1024 + 3).map(|i| (i % 251) as u8).collect();
    let r = signed(
        Method::PUT,
        &url,
        &[("x-ms-blob-type", "BlockBlob")],
        body.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(stored_bytes(&store, "big.bin").await, (3, body.len()));
    let from = 4 * 1024 * 1024 - 5;
    let to = 8 * 1024 * 1024 + 5;
    assert_eq!(
        get_range(&url, &format!("bytes={from}-{to}")).await,
        &body[from..=to]
    );
    let whole = signed(Method::GET, &url, &[], "").await;
    assert!(whole.body[..] == body[..], "the whole blob reads back");
    blob.shutdown().await;
}
