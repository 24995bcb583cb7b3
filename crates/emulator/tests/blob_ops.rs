//! Container and block blob operations over real HTTP.

mod common;

use common::*;
use http::{Method, StatusCode};

async fn setup(container: &str) -> (emulator::blob::BlobEmulator, String) {
    let blob = blob_emulator().await;
    let base = format!("{}/{container}", blob.account_url(ACCOUNT));
    let r = signed(
        Method::PUT,
        &format!("{base}?restype=container"),
        &[("x-ms-meta-owner", "tests")],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    (blob, base)
}

#[tokio::test]
async fn containers_lifecycle() {
    let (blob, base) = setup("life").await;
    let r = signed(Method::PUT, &format!("{base}?restype=container"), &[], "").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), Some("ContainerAlreadyExists"));
    let r = signed(Method::HEAD, &format!("{base}?restype=container"), &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("x-ms-meta-owner"), Some("tests"));
    assert!(r.header("etag").is_some_and(|e| e.starts_with("\"0x")));
    let r = signed(
        Method::PUT,
        &format!("{}/other-1?restype=container", blob.account_url(ACCOUNT)),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = signed(
        Method::GET,
        &format!("{}?comp=list&include=metadata", blob.account_url(ACCOUNT)),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let t = r.text();
    assert!(
        t.contains("<Name>life</Name>")
            && t.contains("<Name>other-1</Name>")
            && t.contains("<owner>tests</owner>"),
        "{t}"
    );
    let r = signed(
        Method::GET,
        &format!("{}?comp=list&maxresults=1", blob.account_url(ACCOUNT)),
        &[],
        "",
    )
    .await;
    assert!(
        r.text().contains("<NextMarker>other-1</NextMarker>"),
        "{}",
        r.text()
    );
    let r = signed(
        Method::GET,
        &format!("{}?comp=list&prefix=oth", blob.account_url(ACCOUNT)),
        &[],
        "",
    )
    .await;
    assert!(!r.text().contains("<Name>life</Name>"));
    let r = signed(
        Method::DELETE,
        &format!("{base}?restype=container"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = signed(Method::GET, &format!("{base}?restype=container"), &[], "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), Some("ContainerNotFound"));
    assert!(r.text().contains("<Code>ContainerNotFound</Code>"));
    let r = signed(
        Method::PUT,
        &format!("{base}/x"),
        &[("x-ms-blob-type", "BlockBlob")],
        "x",
    )
    .await;
    assert_eq!(r.error_code(), Some("ContainerNotFound"));
    let r = signed(
        Method::PUT,
        &format!("{}/Bad_Name?restype=container", blob.account_url(ACCOUNT)),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn put_get_range_head_metadata_delete() {
    let (_blob, base) = setup("data").await;
    let url = format!("{base}/dir/hello%20world.txt");
    let r = signed(
        Method::PUT,
        &url,
        &[
            ("x-ms-blob-type", "BlockBlob"),
            ("content-type", "text/plain"),
            ("x-ms-meta-color", "blue"),
        ],
        "0123456789",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let etag = r.header("etag").expect("etag").to_string();
    assert!(r.header("last-modified").is_some());
    assert!(r.header("content-md5").is_some());

    let r = signed(Method::GET, &url, &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.body[..], b"0123456789");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("x-ms-meta-color"), Some("blue"));
    assert_eq!(r.header("x-ms-blob-type"), Some("BlockBlob"));

    let r = signed(Method::GET, &url, &[("x-ms-range", "bytes=2-5")], "").await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&r.body[..], b"2345");
    assert_eq!(r.header("content-range"), Some("bytes 2-5/10"));
    let r = signed(Method::GET, &url, &[("range", "bytes=7-")], "").await;
    assert_eq!(&r.body[..], b"789");
    let r = signed(Method::GET, &url, &[("range", "bytes=4-100")], "").await;
    assert_eq!(r.header("content-range"), Some("bytes 4-9/10"));
    let r = signed(Method::GET, &url, &[("range", "bytes=10-20")], "").await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.error_code(), Some("InvalidRange"));

    let r = signed(Method::HEAD, &url, &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-length"), Some("10"));
    assert!(r.body.is_empty());

    // Conditional reads.
    let r = signed(Method::GET, &url, &[("if-none-match", &etag)], "").await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = signed(Method::GET, &url, &[("if-match", "\"0x1\"")], "").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.error_code(), Some("ConditionNotMet"));
    let r = signed(Method::GET, &url, &[("if-match", &etag)], "").await;
    assert_eq!(r.status, StatusCode::OK);

    // Conditional writes.
    let r = signed(
        Method::PUT,
        &url,
        &[("x-ms-blob-type", "BlockBlob"), ("if-none-match", "*")],
        "new",
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), Some("BlobAlreadyExists"));
    let r = signed(
        Method::PUT,
        &url,
        &[("x-ms-blob-type", "BlockBlob"), ("if-match", "\"0x1\"")],
        "new",
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = signed(
        Method::PUT,
        &url,
        &[("x-ms-blob-type", "BlockBlob"), ("if-match", &etag)],
        "new",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let etag2 = r.header("etag").expect("etag").to_string();
    assert_ne!(etag, etag2);

    // Metadata and properties.
    let r = signed(
        Method::PUT,
        &format!("{url}?comp=metadata"),
        &[("x-ms-meta-size", "small")],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = signed(Method::HEAD, &url, &[], "").await;
    assert_eq!(r.header("x-ms-meta-size"), Some("small"));
    assert_eq!(r.header("x-ms-meta-color"), None);
    let r = signed(
        Method::PUT,
        &format!("{url}?comp=properties"),
        &[("x-ms-blob-content-type", "application/json")],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = signed(Method::HEAD, &url, &[], "").await;
    assert_eq!(r.header("content-type"), Some("application/json"));

    // Bad MD5.
    let r = signed(
        Method::PUT,
        &url,
        &[
            ("x-ms-blob-type", "BlockBlob"),
            ("content-md5", "AAAAAAAAAAAAAAAAAAAAAA=="),
        ],
        "abc",
    )
    .await;
    assert_eq!(r.error_code(), Some("Md5Mismatch"));

    // Delete.
    let r = signed(Method::DELETE, &url, &[("if-match", "\"0x1\"")], "").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = signed(Method::DELETE, &url, &[], "").await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = signed(Method::GET, &url, &[], "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), Some("BlobNotFound"));
    let r = signed(Method::HEAD, &url, &[], "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), Some("BlobNotFound"));
}

#[tokio::test]
async fn block_list_upload() {
    let (_blob, base) = setup("blocks").await;
    let url = format!("{base}/big.bin");
    let ids = ["YmxvY2stMDAx", "YmxvY2stMDAy", "YmxvY2stMDAz"];
    for (i, id) in ids.iter().enumerate() {
        let r = signed(
            Method::PUT,
            &format!(
                "{url}?comp=block&blockid={}",
                url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
            ),
            &[],
            format!("part{i}-"),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    // Not visible before commit.
    assert_eq!(
        signed(Method::GET, &url, &[], "").await.status,
        StatusCode::NOT_FOUND
    );
    let r = signed(
        Method::GET,
        &format!("{url}?comp=blocklist&blocklisttype=uncommitted"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text().contains("<Name>YmxvY2stMDAx</Name><Size>6</Size>"),
        "{}",
        r.text()
    );
    // A missing block is rejected.
    let bad =
        "<?xml version='1.0' encoding='utf-8'?><BlockList><Latest>bm9wZQ==</Latest></BlockList>";
    let r = signed(Method::PUT, &format!("{url}?comp=blocklist"), &[], bad).await;
    assert_eq!(r.error_code(), Some("InvalidBlockList"));
    let list = format!("<?xml version='1.0' encoding='utf-8'?>\n<BlockList><Latest>{}</Latest><Uncommitted>{}</Uncommitted><Latest>{}</Latest></BlockList>", ids[0], ids[1], ids[2]);
    let r = signed(
        Method::PUT,
        &format!("{url}?comp=blocklist"),
        &[("x-ms-blob-content-type", "application/x-test")],
        list,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = signed(Method::GET, &url, &[], "").await;
    assert_eq!(&r.body[..], b"part0-part1-part2-");
    assert_eq!(r.header("content-type"), Some("application/x-test"));
    // Re-commit reusing committed blocks plus a new one.
    let r = signed(
        Method::PUT,
        &format!("{url}?comp=block&blockid=YmxvY2stMDA0"),
        &[],
        "tail",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let list = format!(
        "<BlockList><Committed>{}</Committed><Latest>YmxvY2stMDA0</Latest></BlockList>",
        ids[2]
    );
    let r = signed(Method::PUT, &format!("{url}?comp=blocklist"), &[], list).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = signed(Method::GET, &url, &[], "").await;
    assert_eq!(&r.body[..], b"part2-tail");
    let r = signed(
        Method::GET,
        &format!("{url}?comp=blocklist&blocklisttype=all"),
        &[],
        "",
    )
    .await;
    assert!(r.text().contains("<CommittedBlocks><Block><Name>YmxvY2stMDAz</Name><Size>6</Size></Block><Block><Name>YmxvY2stMDA0</Name><Size>4</Size></Block></CommittedBlocks><UncommittedBlocks></UncommittedBlocks>"), "{}", r.text());
    // Invalid block id.
    let r = signed(
        Method::PUT,
        &format!("{url}?comp=block&blockid=%%%"),
        &[],
        "x",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn listing_with_prefix_delimiter_and_paging() {
    let (_blob, base) = setup("list").await;
    let names = [
        "a/1.txt",
        "a/2.txt",
        "b/1.txt",
        "c.txt",
        "d.txt",
        "e/x/y.txt",
    ];
    for n in names {
        let r = signed(
            Method::PUT,
            &format!("{base}/{n}"),
            &[("x-ms-blob-type", "BlockBlob"), ("x-ms-meta-n", "1")],
            "x",
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    // Flat paging, 2 per page: all 6 names in 3 pages.
    let mut marker = String::new();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = signed(
            Method::GET,
            &format!(
                "{base}?restype=container&comp=list&maxresults=2&marker={}",
                url::form_urlencoded::byte_serialize(marker.as_bytes()).collect::<String>()
            ),
            &[],
            "",
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let t = r.text();
        pages += 1;
        for part in t.split("<Blob><Name>").skip(1) {
            seen.push(part.split('<').next().unwrap_or("").to_string());
        }
        marker = t
            .split("<NextMarker>")
            .nth(1)
            .and_then(|s| s.split("</NextMarker>").next())
            .unwrap_or("")
            .to_string();
        if marker.is_empty() {
            break;
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, names);
    // Delimiter: prefixes roll up, and paging over them works.
    let r = signed(
        Method::GET,
        &format!("{base}?restype=container&comp=list&delimiter=/"),
        &[],
        "",
    )
    .await;
    let t = r.text();
    assert!(t.contains("<BlobPrefix><Name>a/</Name></BlobPrefix><BlobPrefix><Name>b/</Name></BlobPrefix><Blob><Name>c.txt</Name>"), "{t}");
    assert!(
        t.contains("<BlobPrefix><Name>e/</Name></BlobPrefix>"),
        "{t}"
    );
    assert!(t.contains("<Delimiter>/</Delimiter>"));
    let r = signed(
        Method::GET,
        &format!("{base}?restype=container&comp=list&delimiter=/&maxresults=1"),
        &[],
        "",
    )
    .await;
    assert!(
        r.text().contains("<NextMarker>b/</NextMarker>"),
        "{}",
        r.text()
    );
    let r = signed(
        Method::GET,
        &format!("{base}?restype=container&comp=list&delimiter=/&maxresults=2&marker=b/"),
        &[],
        "",
    )
    .await;
    let t = r.text();
    assert!(
        t.contains("<BlobPrefix><Name>b/</Name></BlobPrefix><Blob><Name>c.txt</Name>")
            && t.contains("<NextMarker>d.txt</NextMarker>"),
        "{t}"
    );
    // Prefix + delimiter, metadata included.
    let r = signed(
        Method::GET,
        &format!("{base}?restype=container&comp=list&prefix=a/&delimiter=/&include=metadata"),
        &[],
        "",
    )
    .await;
    let t = r.text();
    assert!(
        t.contains("<Prefix>a/</Prefix>")
            && t.contains("<Name>a/1.txt</Name>")
            && t.contains("<n>1</n>")
            && !t.contains("b/1.txt"),
        "{t}"
    );
    let r = signed(
        Method::GET,
        &format!("{base}?restype=container&comp=list&maxresults=0"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unsupported_operations_are_named() {
    let (_blob, base) = setup("unsup").await;
    let r = signed(
        Method::PUT,
        &format!("{base}/p"),
        &[
            ("x-ms-blob-type", "PageBlob"),
            ("x-ms-blob-content-length", "512"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    assert!(r.text().contains("Page blobs"), "{}", r.text());
    let r = signed(
        Method::PUT,
        &format!("{base}/p?comp=lease"),
        &[("x-ms-lease-action", "acquire")],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    assert!(r.text().contains("Lease Blob"));
    let r = signed(
        Method::PUT,
        &format!("{base}/p"),
        &[("x-ms-copy-source", "http://x/y")],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    let r = signed(
        Method::GET,
        &format!("{base}?restype=container&comp=acl"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    let r = signed(Method::PUT, &format!("{base}/p"), &[], "x").await;
    assert_eq!(r.error_code(), Some("MissingRequiredHeader"));
    let r = signed(Method::PUT, &format!("{base}/p?comp=bogus"), &[], "x").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
