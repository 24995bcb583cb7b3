//! Shared Key known answers and negative cases for every Blob auth path.

mod common;

use common::*;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

fn vectors() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/vectors/storage-shared-key.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector json")
}

#[test]
fn shared_key_vectors_verify_exactly() {
    let v = vectors();
    let account = v["account"].as_str().expect("account");
    let key = v["key"].as_str().expect("key");
    let cases = v["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    for case in cases {
        let method: Method = case["method"]
            .as_str()
            .expect("method")
            .parse()
            .expect("method");
        let uri: http::Uri = case["url"].as_str().expect("url").parse().expect("uri");
        let mut h = HeaderMap::new();
        for (k, val) in case["headers"].as_object().expect("headers") {
            h.insert(
                http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).expect("name"),
                HeaderValue::from_str(val.as_str().expect("str")).expect("val"),
            );
        }
        let sts = emulator::blob::auth::string_to_sign(account, &method, &uri, &h);
        assert_eq!(
            sts,
            case["string_to_sign"].as_str().expect("sts"),
            "{}",
            case["name"]
        );
        let auth =
            emulator::blob::auth::authorization(account, key, &method, &uri, &h).expect("sign");
        assert_eq!(
            auth,
            case["authorization"].as_str().expect("auth"),
            "{}",
            case["name"]
        );
    }
}

#[tokio::test]
async fn the_path_style_vector_is_accepted_by_the_server_apart_from_its_old_date() {
    // The vector's date is from 2022, so the server must refuse it as stale (not as a bad MAC)...
    let blob = blob_emulator().await;
    let v = vectors();
    let case = &v["cases"][0];
    let url = case["url"]
        .as_str()
        .expect("url")
        .replace("http://127.0.0.1:10000", &blob.url());
    let mut headers: Vec<(String, String)> = case["headers"]
        .as_object()
        .expect("h")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect();
    headers.push((
        "authorization".into(),
        case["authorization"].as_str().expect("a").into(),
    ));
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let r = send(Method::PUT, &url, &refs, "hello world").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("too old"), "{}", r.text());
    // ...and with a current date and the same signing code it goes through to the container check.
    let r = signed(
        Method::PUT,
        &url,
        &[
            ("x-ms-blob-type", "BlockBlob"),
            ("content-type", "text/plain"),
        ],
        "hello world",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), Some("ContainerNotFound"));
}

#[tokio::test]
async fn shared_key_negative_cases() {
    let blob = blob_emulator().await;
    let url = format!("{}/cc1?restype=container", blob.account_url(ACCOUNT));
    // Missing auth.
    let r = send(
        Method::PUT,
        &url,
        &[("x-ms-date", &now_http()), ("x-ms-version", "2021-08-06")],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), Some("NoAuthenticationInformation"));
    assert!(r.text().starts_with("<?xml"), "{}", r.text());
    // Wrong key.
    let other = "b3RoZXJrZXlvdGhlcmtleW90aGVya2V5b3RoZXJrZXk=";
    let r = signed_with(other, &now_http(), Method::PUT, &url, &[], "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), Some("AuthenticationFailed"));
    assert!(r.text().contains("<Code>AuthenticationFailed</Code>"));
    // Stale date.
    let old = httpdate::fmt_http_date(
        std::time::SystemTime::now() - std::time::Duration::from_secs(3600),
    );
    let r = signed_with(KEY, &old, Method::PUT, &url, &[], "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("too old"));
    // Signature over different headers (tampered after signing).
    let mut h = HeaderMap::new();
    h.insert("x-ms-date", HeaderValue::from_str(&now_http()).expect("d"));
    h.insert("x-ms-version", HeaderValue::from_static("2021-08-06"));
    let uri: http::Uri = url.parse().expect("uri");
    let auth =
        emulator::blob::auth::authorization(ACCOUNT, KEY, &Method::PUT, &uri, &h).expect("auth");
    let r = send(
        Method::PUT,
        &url,
        &[
            ("x-ms-date", &now_http()),
            ("x-ms-version", "2021-08-06"),
            ("x-ms-meta-x", "added"),
            ("authorization", &auth),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Wrong account name in the header, unsupported schemes.
    for bad in [
        auth.replace("devstoreaccount1:", "someoneelse:"),
        auth.replace("SharedKey ", "SharedKeyLite "),
        "garbage".to_string(),
    ] {
        let r = send(
            Method::PUT,
            &url,
            &[
                ("x-ms-date", &now_http()),
                ("x-ms-version", "2021-08-06"),
                ("authorization", &bad),
            ],
            "",
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{bad}");
        assert_eq!(r.error_code(), Some("AuthenticationFailed"));
    }
    // A bearer token this emulator cannot verify: 401 with Azure's bearer error code.
    let r = send(
        Method::PUT,
        &url,
        &[
            ("x-ms-date", &now_http()),
            ("x-ms-version", "2021-08-06"),
            ("authorization", "Bearer abc"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), Some("InvalidAuthenticationInfo"));
    // Unknown account.
    let r = signed(
        Method::GET,
        &format!("{}/nobody?comp=list", blob.url()),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // And the good signature works.
    let r = signed(Method::PUT, &url, &[], "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(r.header("x-ms-request-id").is_some());
    assert!(r.header("date").is_some());
    assert_eq!(r.header("x-ms-version"), Some("2021-08-06"));
}

fn future(secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    t.replace_nanosecond(0)
        .expect("ns")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("fmt")
}

#[tokio::test]
async fn service_sas_checks_signature_permissions_scope_and_time() {
    let blob = blob_emulator().await;
    let base = blob.account_url(ACCOUNT);
    assert_eq!(
        signed(
            Method::PUT,
            &format!("{base}/sas?restype=container"),
            &[],
            ""
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(
        signed(
            Method::PUT,
            &format!("{base}/sas/a.txt"),
            &[("x-ms-blob-type", "BlockBlob")],
            "hello"
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let blob_res = "/blob/devstoreaccount1/sas/a.txt";
    let cont_res = "/blob/devstoreaccount1/sas";
    let se = future(3600);
    let sas = |res: &str, params: &[(&str, &str)]| {
        emulator::blob::auth::service_sas_query(KEY, res, params).expect("sas")
    };

    // Read with a blob SAS (current and older versions of the string-to-sign).
    for sv in ["2021-08-06", "2019-12-12", "2017-11-09"] {
        let q = sas(
            blob_res,
            &[("sv", sv), ("sr", "b"), ("sp", "r"), ("se", &se)],
        );
        let r = send(Method::GET, &format!("{base}/sas/a.txt?{q}"), &[], "").await;
        assert_eq!(r.status, StatusCode::OK, "sv={sv}: {}", r.text());
        assert_eq!(&r.body[..], b"hello");
    }
    // Response header overrides.
    let q = sas(
        blob_res,
        &[
            ("sv", "2021-08-06"),
            ("sr", "b"),
            ("sp", "r"),
            ("se", &se),
            ("rsct", "text/x-custom"),
        ],
    );
    let r = send(Method::GET, &format!("{base}/sas/a.txt?{q}"), &[], "").await;
    assert_eq!(r.header("content-type"), Some("text/x-custom"));

    // Bad signature (tampered permission).
    let q = sas(
        blob_res,
        &[("sv", "2021-08-06"), ("sr", "b"), ("sp", "r"), ("se", &se)],
    )
    .replace("sp=r", "sp=rw");
    let r = send(
        Method::PUT,
        &format!("{base}/sas/a.txt?{q}"),
        &[("x-ms-blob-type", "BlockBlob")],
        "x",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), Some("AuthenticationFailed"));

    // Wrong permission: read-only SAS cannot write or delete.
    let q = sas(
        blob_res,
        &[("sv", "2021-08-06"), ("sr", "b"), ("sp", "r"), ("se", &se)],
    );
    let r = send(
        Method::PUT,
        &format!("{base}/sas/a.txt?{q}"),
        &[("x-ms-blob-type", "BlockBlob")],
        "x",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), Some("AuthorizationPermissionMismatch"));
    let r = send(Method::DELETE, &format!("{base}/sas/a.txt?{q}"), &[], "").await;
    assert_eq!(r.error_code(), Some("AuthorizationPermissionMismatch"));

    // Expired and not-yet-valid.
    let q = sas(
        blob_res,
        &[
            ("sv", "2021-08-06"),
            ("sr", "b"),
            ("sp", "r"),
            ("se", &future(-60)),
        ],
    );
    let r = send(Method::GET, &format!("{base}/sas/a.txt?{q}"), &[], "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("expired"), "{}", r.text());
    let q = sas(
        blob_res,
        &[
            ("sv", "2021-08-06"),
            ("sr", "b"),
            ("sp", "r"),
            ("st", &future(600)),
            ("se", &se),
        ],
    );
    let r = send(Method::GET, &format!("{base}/sas/a.txt?{q}"), &[], "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // A blob SAS used for another blob fails its signature; used on the container, the resource type.
    let q = sas(
        blob_res,
        &[("sv", "2021-08-06"), ("sr", "b"), ("sp", "r"), ("se", &se)],
    );
    let r = send(Method::GET, &format!("{base}/sas/other.txt?{q}"), &[], "").await;
    assert_eq!(r.error_code(), Some("AuthenticationFailed"));
    let r = send(
        Method::GET,
        &format!("{base}/sas?restype=container&comp=list&{q}"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.error_code(), Some("AuthorizationResourceTypeMismatch"));

    // https-only SAS over http.
    let q = sas(
        blob_res,
        &[
            ("sv", "2021-08-06"),
            ("sr", "b"),
            ("sp", "r"),
            ("se", &se),
            ("spr", "https"),
        ],
    );
    let r = send(Method::GET, &format!("{base}/sas/a.txt?{q}"), &[], "").await;
    assert_eq!(r.error_code(), Some("AuthorizationProtocolMismatch"));
    // IP restriction.
    let q = sas(
        blob_res,
        &[
            ("sv", "2021-08-06"),
            ("sr", "b"),
            ("sp", "r"),
            ("se", &se),
            ("sip", "10.1.1.1"),
        ],
    );
    let r = send(Method::GET, &format!("{base}/sas/a.txt?{q}"), &[], "").await;
    assert_eq!(r.error_code(), Some("AuthorizationSourceIPMismatch"));

    // Container SAS: list and write any blob, but not create containers.
    let q = sas(
        cont_res,
        &[
            ("sv", "2021-08-06"),
            ("sr", "c"),
            ("sp", "rwl"),
            ("se", &se),
        ],
    );
    let r = send(
        Method::GET,
        &format!("{base}/sas?restype=container&comp=list&{q}"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("<Name>a.txt</Name>"));
    let r = send(
        Method::PUT,
        &format!("{base}/sas/new.txt?{q}"),
        &[("x-ms-blob-type", "BlockBlob")],
        "n",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = send(
        Method::PUT,
        &format!("{base}/sas?restype=container&{q}"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Create-only permission: new blobs yes, overwrite no.
    let q = sas(
        cont_res,
        &[("sv", "2021-08-06"), ("sr", "c"), ("sp", "c"), ("se", &se)],
    );
    let r = send(
        Method::PUT,
        &format!("{base}/sas/fresh.txt?{q}"),
        &[("x-ms-blob-type", "BlockBlob")],
        "n",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = send(
        Method::PUT,
        &format!("{base}/sas/fresh.txt?{q}"),
        &[("x-ms-blob-type", "BlockBlob")],
        "n",
    )
    .await;
    assert_eq!(r.error_code(), Some("AuthorizationPermissionMismatch"));
    // Unsupported SAS kinds say so.
    let r = send(
        Method::GET,
        &format!("{base}/sas/a.txt?sv=2021-08-06&ss=b&srt=o&sp=r&se={se}&sig=x"),
        &[],
        "",
    )
    .await;
    assert!(r.text().contains("Account SAS"), "{}", r.text());
}
