//! The official blob clients with our signing policies, against a mock transport.

mod common;

use azure_core::http::{headers::Headers, Method, Url};
use azure_wasi_core::auth::SigningKey;
use azure_wasi_storage::{
    string_to_sign, BlobSasBuilder, Error, SasPermissions, Storage, StorageAuth, StorageSettings,
    UploadOptions, EMULATOR_ACCOUNT, EMULATOR_KEY,
};
use common::{Mock, Seen};
use futures::executor::block_on;

fn emulator() -> StorageSettings {
    StorageSettings::new(
        EMULATOR_ACCOUNT,
        EMULATOR_KEY,
        Some("http://127.0.0.1:10000/devstoreaccount1"),
    )
    .unwrap()
}

fn blocks_of(size: usize) -> Option<UploadOptions> {
    Some(UploadOptions {
        block_size: Some(size),
        ..Default::default()
    })
}

/// Recomputes the Shared Key signature of a request as the service would.
fn assert_signed(seen: &Seen) {
    let mut headers = Headers::new();
    for (n, v) in &seen.headers {
        headers.insert(n.clone(), v.clone());
    }
    let url: Url = seen.url.parse().unwrap();
    let method = match seen.method.as_str() {
        "PUT" => Method::Put,
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "DELETE" => Method::Delete,
        other => panic!("unexpected method {other}"),
    };
    let sts = string_to_sign(
        EMULATOR_ACCOUNT,
        method,
        &url,
        &headers,
        seen.body.len() as u64,
    );
    let key = SigningKey::from_base64(EMULATOR_KEY).unwrap();
    let expected = format!("SharedKey {EMULATOR_ACCOUNT}:{}", key.sign(&sts));
    assert_eq!(
        seen.header("authorization"),
        Some(expected.as_str()),
        "{sts:?}"
    );
    assert!(seen.header("x-ms-date").is_some());
    assert!(seen.header("x-ms-version").is_some());
}

#[test]
fn small_upload_is_one_signed_put_over_http() {
    let mock = Mock::new();
    mock.reply(201, &[("etag", "\"0x1\"")], b"");
    let blob = Storage::with_options(emulator(), mock.options())
        .blob("photos", "a b.txt")
        .unwrap();
    let summary = block_on(blob.upload(&b"hello world"[..], Some("text/plain"), None)).unwrap();
    assert_eq!(summary.bytes, 11);
    assert_eq!(summary.blocks, 1);
    assert_eq!(summary.etag.as_deref(), Some("\"0x1\""));
    let seen = mock.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].url,
        "http://127.0.0.1:10000/devstoreaccount1/photos/a%20b.txt"
    );
    assert_eq!(seen[0].header("x-ms-blob-type"), Some("BlockBlob"));
    assert_eq!(seen[0].header("x-ms-blob-content-type"), Some("text/plain"));
    assert_eq!(seen[0].body, b"hello world");
    assert_signed(&seen[0]);
}

#[test]
fn retries_are_signed_again() {
    let mock = Mock::new();
    mock.reply(503, &[("retry-after-ms", "1")], b"busy");
    mock.reply(201, &[], b"");
    let blob = Storage::with_options(emulator(), mock.options())
        .blob("photos", "r.txt")
        .unwrap();
    block_on(blob.upload(&b"x"[..], None, None)).unwrap();
    let seen = mock.seen();
    assert_eq!(seen.len(), 2, "one retry expected");
    for attempt in &seen {
        assert_signed(attempt);
    }
}

#[test]
fn large_upload_stages_blocks_and_commits() {
    let mock = Mock::new();
    for _ in 0..3 {
        mock.reply(201, &[], b"");
    }
    mock.reply(201, &[("etag", "\"0x2\"")], b"");
    let blob = Storage::with_options(emulator(), mock.options())
        .blob("photos", "big.bin")
        .unwrap();
    let data: Vec<u8> = (0u8..10).collect();
    let summary =
        block_on(blob.upload(&data[..], Some("application/x-test"), blocks_of(4))).unwrap();
    assert_eq!(summary.bytes, 10);
    assert_eq!(summary.blocks, 3);
    assert_eq!(summary.etag.as_deref(), Some("\"0x2\""));
    let seen = mock.seen();
    assert_eq!(seen.len(), 4);
    let mut staged = Vec::new();
    for s in &seen[..3] {
        assert!(s.url.contains("comp=block"), "{}", s.url);
        staged.extend_from_slice(&s.body);
        assert_signed(s);
    }
    assert_eq!(staged, data);
    let commit = &seen[3];
    assert!(commit.url.contains("comp=blocklist"));
    assert_eq!(
        commit.header("x-ms-blob-content-type"),
        Some("application/x-test")
    );
    let xml = String::from_utf8(commit.body.clone()).unwrap();
    assert_eq!(xml.matches("<Latest>").count(), 3, "{xml}");
    assert_signed(commit);
}

#[test]
fn exact_multiple_of_block_size_commits_without_an_empty_block() {
    let mock = Mock::new();
    for _ in 0..3 {
        mock.reply(201, &[], b"");
    }
    let blob = Storage::with_options(emulator(), mock.options())
        .blob("photos", "even.bin")
        .unwrap();
    let summary = block_on(blob.upload(&[7u8; 8][..], None, blocks_of(4))).unwrap();
    assert_eq!(summary.blocks, 2);
    let seen = mock.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| !s.body.is_empty()));
}

#[test]
fn download_streams_body_and_content_type() {
    let mock = Mock::new();
    mock.reply(
        200,
        &[
            ("content-type", "image/png"),
            ("content-length", "4"),
            ("etag", "\"0x3\""),
        ],
        b"\x89PNG",
    );
    let blob = Storage::with_options(emulator(), mock.options())
        .blob("photos", "p.png")
        .unwrap();
    let download = block_on(blob.download(None)).unwrap();
    assert_eq!(download.content_type.as_deref(), Some("image/png"));
    let mut out = Vec::new();
    let n = block_on(download.copy_to(&mut out)).unwrap();
    assert_eq!(n, 4);
    assert_eq!(out, b"\x89PNG");
    assert_signed(&mock.seen()[0]);
}

#[test]
fn service_errors_keep_the_status_and_hide_the_key() {
    let mock = Mock::new();
    let body = br#"<?xml version="1.0" encoding="utf-8"?><Error><Code>ContainerNotFound</Code><Message>The specified container does not exist.</Message></Error>"#;
    mock.reply(404, &[("x-ms-error-code", "ContainerNotFound")], body);
    let blob = Storage::with_options(emulator(), mock.options())
        .blob("nope", "x")
        .unwrap();
    let err = block_on(blob.download(None)).unwrap_err();
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(err.status(), 404);
    assert!(
        matches!(&err, Error::Service { code: Some(c), .. } if c == "ContainerNotFound"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(!text.contains(EMULATOR_KEY));
    assert!(!text.contains("SharedKey"));
}

#[test]
fn sas_mode_appends_the_token_and_sends_no_authorization() {
    let settings = emulator();
    let expiry = azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
    let token = settings
        .sas(&BlobSasBuilder::container(
            "photos",
            SasPermissions {
                read: true,
                write: true,
                create: true,
                ..Default::default()
            },
            expiry,
        ))
        .unwrap();
    let sas_settings = StorageSettings::with_auth(
        EMULATOR_ACCOUNT,
        StorageAuth::Sas(token),
        Some("http://127.0.0.1:10000/devstoreaccount1"),
    )
    .unwrap();
    let mock = Mock::new();
    mock.reply(201, &[], b"");
    let blob = Storage::with_options(sas_settings, mock.options())
        .blob("photos", "s.txt")
        .unwrap();
    block_on(blob.upload(&b"abc"[..], None, None)).unwrap();
    let seen = &mock.seen()[0];
    assert!(seen.header("authorization").is_none());
    let url: Url = seen.url.parse().unwrap();
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    for k in ["sv", "sr", "sp", "se", "spr", "sig"] {
        assert!(keys.contains(&k.to_string()), "{k} missing in {}", seen.url);
    }
}

#[test]
fn container_client_lists_and_creates_with_signed_requests() {
    let mock = Mock::new();
    mock.reply(201, &[], b"");
    let container = Storage::with_options(emulator(), mock.options())
        .container("photos")
        .unwrap();
    assert!(block_on(container.create_if_not_exists(None)).unwrap());
    let seen = &mock.seen()[0];
    assert_eq!(
        seen.url,
        "http://127.0.0.1:10000/devstoreaccount1/photos?restype=container"
    );
    assert_signed(seen);
}

#[test]
fn an_existing_container_is_success_for_create_if_not_exists() {
    let mock = Mock::new();
    let body = br#"<?xml version="1.0" encoding="utf-8"?><Error><Code>ContainerAlreadyExists</Code><Message>The specified container already exists.</Message></Error>"#;
    mock.reply(409, &[("x-ms-error-code", "ContainerAlreadyExists")], body);
    let container = Storage::with_options(emulator(), mock.options())
        .container("photos")
        .unwrap();
    assert!(!block_on(container.create_if_not_exists(None)).unwrap());
}

#[test]
fn an_empty_upload_is_refused_before_any_request() {
    let mock = Mock::new();
    let blob = Storage::with_options(emulator(), mock.options())
        .blob("photos", "empty.txt")
        .unwrap();
    let err = block_on(blob.upload(&b""[..], None, None)).unwrap_err();
    assert!(matches!(err, Error::EmptyUpload), "{err:?}");
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("empty"));
    assert!(mock.seen().is_empty());
    let allowed = Some(UploadOptions {
        allow_empty: true,
        ..Default::default()
    });
    mock.reply(201, &[], b"");
    let summary = block_on(blob.upload(&b""[..], None, allowed)).unwrap();
    assert_eq!(summary.bytes, 0);
    assert_eq!(summary.content_type, "application/octet-stream");
}

#[test]
fn throttling_keeps_the_services_retry_after_and_hides_the_signature() {
    let mock = Mock::new();
    let body = br#"<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy. sig=c2VjcmV0LXNpZ25hdHVyZS1zZWNyZXQtc2lnbmF0dXJl</Message></Error>"#;
    mock.reply(
        503,
        &[("x-ms-error-code", "ServerBusy"), ("retry-after", "9")],
        body,
    );
    let options = azure_core::http::ClientOptions {
        retry: azure_core::http::RetryOptions::none(),
        ..mock.options()
    };
    let blob = Storage::with_options(emulator(), options)
        .blob("photos", "busy.txt")
        .unwrap();
    let err = block_on(blob.download(None)).unwrap_err();
    assert_eq!(err.status(), 503);
    assert_eq!(err.retry_after(), Some("9"));
    let text = err.to_string();
    assert!(text.contains("ServerBusy"), "{text}");
    assert!(!text.contains("c2VjcmV0"), "{text}");
}
