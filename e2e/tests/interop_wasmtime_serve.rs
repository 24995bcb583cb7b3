//! Interop: the sample components (`wasm32-wasip2`) on `wasmtime serve`, the wasmtime CLI's
//! wasi:http host, against the embedded emulators started in this process. Same requests and
//! same answers as the harness tests (`guest_crates.rs`, `samples_azure.rs`), so one component
//! behaves the same on our harness and on a host we did not write.
//!
//! Ignored by default; `cargo xtask interop` (and `cargo xtask test`) installs wasmtime 48 and
//! runs them with `WASMTIME_CLI` set:
//!
//! ```sh
//! WASMTIME_CLI=/path/to/wasmtime cargo test -p e2e --test interop_wasmtime_serve -- --ignored
//! ```
//!
//! `wasmtime serve` gives the component the whole path (`/blob?container=..`), not a route
//! relative one; the samples key on query parameters, so that makes no difference. It has no
//! outbound allow-list: every outbound request is allowed.

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use emulator::{
    Emulators, EmulatorsConfig, SubscriptionConfig, DEV_ACCOUNT, DEV_ACCOUNT_KEY, DEV_TOPIC_KEY,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const COSMOS_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";
/// How long `wasmtime serve` may take to compile a component and accept connections (two cores,
/// several tests compiling at once).
const START_LIMIT: Duration = Duration::from_secs(180);

/// The wasmtime CLI (`WASMTIME_CLI`); panics with the fix when it is not set.
fn wasmtime_cli() -> PathBuf {
    match std::env::var_os("WASMTIME_CLI").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "WASMTIME_CLI is not set: run `cargo xtask interop` (it installs wasmtime 48 and sets it), \
             or set WASMTIME_CLI to a wasmtime 48 binary and run \
             `cargo test -p e2e --test interop_wasmtime_serve -- --ignored`"
        ),
    }
}

/// A `wasmtime serve` process serving one component on a free loopback port; killed on drop.
struct Serve {
    child: Child,
    base: String,
    log: tempfile::NamedTempFile,
    name: String,
}

impl Serve {
    /// Spawns `wasmtime serve -Scli --addr 127.0.0.1:<port> --env K=V .. <component>`.
    fn spawn(name: &str, env: &[(String, String)]) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let log = tempfile::NamedTempFile::new().expect("a log file for wasmtime serve");
        let stderr = log.reopen().expect("reopen the log file");
        let stdout = log.reopen().expect("reopen the log file");
        let mut cmd = Command::new(wasmtime_cli());
        // -Scli: the component imports wasi:cli (environment, stdio); wasi:http is on by default
        // in `serve`.
        cmd.args(["serve", "-Scli", "--addr", &format!("127.0.0.1:{port}")]);
        for (k, v) in env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        let child = cmd
            .arg(e2e::component(name))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", wasmtime_cli()));
        Serve {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            name: name.to_string(),
        }
    }

    /// Waits until it accepts connections.
    async fn ready(mut self) -> Serve {
        let started = Instant::now();
        let addr = self.base.trim_start_matches("http://").to_string();
        loop {
            if TcpStream::connect(&addr).is_ok() {
                return self;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "wasmtime serve ({}) exited ({status}) before accepting:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            assert!(
                started.elapsed() < START_LIMIT,
                "wasmtime serve ({}) did not accept connections within {START_LIMIT:?}:\n{}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Spawns and waits until it accepts.
    async fn start(name: &str, env: &[(String, String)]) -> Serve {
        Serve::spawn(name, env).ready().await
    }

    fn log_text(&self) -> String {
        let mut s = String::new();
        let _ = self.log.reopen().and_then(|mut f| f.read_to_string(&mut s));
        s
    }

    async fn send(&self, req: Request<Bytes>) -> Response<Bytes> {
        e2e::fetch(&self.base, req).await
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn emulators(cosmos: bool) -> Emulators {
    let mut cfg = EmulatorsConfig::default().with_free_ports();
    cfg.cosmos.enabled = cosmos;
    cfg.eventgrid.retry.initial_backoff_ms = 50;
    cfg.eventgrid.retry.max_backoff_ms = 200;
    Emulators::start(cfg).await.expect("start the emulators")
}

/// The environment every Azure sample may need (the same as `samples_azure.rs` gives modules).
fn azure_env(emus: &Emulators) -> Vec<(String, String)> {
    let blob = emus.blob().expect("blob emulator enabled");
    let mut env = vec![
        ("STORAGE_ACCOUNT".to_string(), DEV_ACCOUNT.to_string()),
        ("STORAGE_MASTER_KEY".into(), DEV_ACCOUNT_KEY.into()),
        ("STORAGE_ENDPOINT".into(), blob.account_url(DEV_ACCOUNT)),
    ];
    if let Some(cosmos) = emus.cosmos() {
        env.push(("COSMOS_ENDPOINT".into(), cosmos.url()));
        env.push(("COSMOS_MASTER_KEY".into(), COSMOS_KEY.into()));
    }
    if let Some(eg) = emus.eventgrid() {
        env.push(("EVENTGRID_ENDPOINT".into(), eg.topic_endpoint("default")));
        env.push(("EVENTGRID_KEY".into(), DEV_TOPIC_KEY.into()));
    }
    env
}

fn with(env: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    let mut env: Vec<_> = env.iter().filter(|(k, _)| k != key).cloned().collect();
    env.push((key.to_string(), value.to_string()));
    env
}

fn json_body(resp: &Response<Bytes>) -> Value {
    serde_json::from_slice(resp.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", e2e::body_text(resp)))
}

fn header_values(resp: &Response<Bytes>, name: &str) -> Vec<String> {
    resp.headers()
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

fn request(method: &str, uri: &str, content_type: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(body.into())
        .expect("a valid test request")
}

/// An RFC 1123 date (`Tue, 01 Nov 2022 00:00:00 GMT`) for now.
fn http_date_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{weekday}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        months[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Reads a blob straight from the Blob emulator with a Shared Key request (not through a sample).
async fn blob_in_emulator(emus: &Emulators, container: &str, blob: &str) -> Response<Bytes> {
    let emu = emus.blob().expect("blob emulator enabled");
    let path = format!("/{DEV_ACCOUNT}/{container}/{blob}");
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-ms-date",
        HeaderValue::from_str(&http_date_now()).expect("date"),
    );
    headers.insert("x-ms-version", HeaderValue::from_static("2021-08-06"));
    let uri: http::Uri = path.parse().expect("a blob path");
    let auth = emulator::blob::auth::authorization(
        DEV_ACCOUNT,
        DEV_ACCOUNT_KEY,
        &Method::GET,
        &uri,
        &headers,
    )
    .expect("sign the request");
    let mut req = e2e::get(&path);
    *req.headers_mut() = headers;
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&auth).expect("auth header"),
    );
    e2e::fetch(&emu.url(), req).await
}

/// Reads a document straight from the Cosmos emulator with a master-key request.
async fn cosmos_document(emus: &Emulators, db: &str, coll: &str, id: &str) -> Response<Bytes> {
    let cosmos = emus.cosmos().expect("cosmos emulator enabled");
    let date = http_date_now();
    let link = format!("dbs/{db}/colls/{coll}/docs/{id}");
    let auth =
        emulator::cosmos::auth::authorization_header(COSMOS_KEY, "GET", "docs", &link, &date)
            .expect("sign the request");
    let req = Request::get(format!("/dbs/{db}/colls/{coll}/docs/{}", e2e::enc(id)))
        .header("x-ms-date", date)
        .header("x-ms-version", "2018-12-31")
        .header("authorization", auth)
        .header(
            "x-ms-documentdb-partitionkey",
            serde_json::to_string(&json!([id])).expect("json"),
        )
        .body(Bytes::new())
        .expect("a valid request");
    e2e::fetch(&cosmos.url(), req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: needs WASMTIME_CLI (wasmtime 48); run by `cargo xtask interop`"]
async fn hello_component_on_wasmtime_serve() {
    let s = Serve::start("hello", &[]).await;
    let resp = s.send(e2e::get("/hello?name=wasm+world")).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(e2e::body_text(&resp), "hello, wasm world\n");
    assert_eq!(
        header_values(&resp, "content-type"),
        ["text/plain; charset=utf-8"]
    );
    let resp = s.send(e2e::get("/anything")).await;
    assert_eq!(e2e::body_text(&resp), "hello, world\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: needs WASMTIME_CLI (wasmtime 48); run by `cargo xtask interop`"]
async fn echo_component_on_wasmtime_serve() {
    let s = Serve::start("echo", &[]).await;
    let qs = "a=1&a=2&b=x+y&c=%E2%82%AC&d=%zz&e&=v&f=1%2B1&g=%&&h=%41%4";
    let resp = s.send(e2e::get(&format!("/echo?{qs}"))).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    let v = json_body(&resp);
    assert_eq!(
        v["query"],
        json!([
            ["a", "1"],
            ["a", "2"],
            ["b", "x y"],
            ["c", "€"],
            ["d", "%zz"],
            ["e", ""],
            ["", "v"],
            ["f", "1+1"],
            ["g", "%"],
            ["h", "A%4"]
        ])
    );
    assert_eq!(v["method"], "GET");
    assert_eq!(v["query_string"], qs);

    let sent = json!({
        "id": "item-1",
        "nested": {"list": [1, 2.5, null, true], "text": "ünïcødé \"quoted\"\n"},
        "empty": {}
    });
    let req = Request::post("/echo?mode=json")
        .header("content-type", "application/json")
        .header("x-custom", "custom value")
        .body(Bytes::from(serde_json::to_vec(&sent).expect("serialise")))
        .expect("request");
    let resp = s.send(req).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(header_values(&resp, "content-type"), ["application/json"]);
    let v = json_body(&resp);
    assert_eq!(v["json"], sent);
    assert_eq!(v["method"], "POST");
    assert_eq!(v["content_type"], "application/json");
    assert_eq!(v["headers"]["x-custom"], json!(["custom value"]));

    let req = request("POST", "/echo", "application/json", "{\"unterminated");
    let resp = s.send(req).await;
    let body = e2e::body_text(&resp);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("JSON"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: needs WASMTIME_CLI (wasmtime 48); run by `cargo xtask interop`"]
async fn fetch_component_on_wasmtime_serve_streams_retries_and_explains() {
    let big: Bytes = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect::<Vec<u8>>()
        .into();
    let expected = Sha256::digest(&big);
    let served = big.clone();
    let hits = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let seen = hits.clone();
    let upstream = e2e::Upstream::start(move |req| {
        let body = served.clone();
        let seen = seen.clone();
        async move {
            if req.uri().path() == "/flaky" {
                let n = {
                    let mut v = seen.lock().expect("hits lock");
                    v.push(Instant::now());
                    v.len()
                };
                if n == 1 {
                    let mut r = e2e::text(503, "busy");
                    r.headers_mut()
                        .insert("retry-after", HeaderValue::from_static("1"));
                    return r;
                }
                return e2e::text(200, "recovered");
            }
            let mut r = Response::new(body);
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("application/x-test-blob"),
            );
            r
        }
    })
    .await;
    let s = Serve::start("fetch", &[]).await;

    let resp = s
        .send(e2e::get(&format!(
            "/fetch?url={}",
            e2e::enc(&upstream.url("/big"))
        )))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(
        header_values(&resp, "content-type"),
        ["application/x-test-blob"]
    );
    assert_eq!(resp.body().len(), big.len());
    assert_eq!(Sha256::digest(resp.body()), expected, "body differs");

    let resp = s
        .send(e2e::get(&format!(
            "/fetch?url={}",
            e2e::enc(&upstream.url("/flaky"))
        )))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(e2e::body_text(&resp), "recovered");
    let hits = hits.lock().expect("hits lock").clone();
    assert_eq!(hits.len(), 2, "exactly one retry");
    assert!(
        hits[1] - hits[0] >= Duration::from_millis(950),
        "the retry came before Retry-After: 1 elapsed"
    );

    let resp = s.send(e2e::get("/fetch")).await;
    let body = e2e::body_text(&resp);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("`url`"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: needs WASMTIME_CLI (wasmtime 48); run by `cargo xtask interop`"]
async fn blob_components_on_wasmtime_serve_write_and_read() {
    let emus = emulators(false).await;
    let env = azure_env(&emus);
    let write = Serve::spawn("blob-write", &env);
    let read = Serve::spawn("blob-read", &env);
    let (write, read) = (write.ready().await, read.ready().await);

    let resp = write
        .send(request(
            "POST",
            "/write?container=e2e&blob=dir/hello.txt",
            "text/plain",
            "hello world",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}\n{}",
        e2e::body_text(&resp),
        write.log_text()
    );
    let written = json_body(&resp);
    assert_eq!(written["bytes"], 11);
    assert_eq!(written["blob"], "dir/hello.txt");
    assert_eq!(written["contentType"], "text/plain");

    // Really stored: read straight from the emulator, not through a sample.
    let stored = blob_in_emulator(&emus, "e2e", "dir/hello.txt").await;
    assert_eq!(
        stored.status(),
        StatusCode::OK,
        "{}",
        e2e::body_text(&stored)
    );
    assert_eq!(e2e::body_text(&stored), "hello world");
    assert_eq!(stored.headers()["content-type"], "text/plain");

    let resp = read
        .send(e2e::get("/read?container=e2e&blob=dir/hello.txt"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(e2e::body_text(&resp), "hello world");
    assert_eq!(resp.headers()["content-type"], "text/plain");

    // 9 MiB: three staged blocks on the way in, ranged reads on the way out.
    let big: Vec<u8> = (0..9 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let expected = Sha256::digest(&big);
    let resp = write
        .send(request(
            "POST",
            "/write?container=e2e&blob=big.bin",
            "application/octet-stream",
            big,
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        e2e::body_text(&resp)
    );
    let written = json_body(&resp);
    assert_eq!(written["bytes"], 9 * 1024 * 1024);
    assert_eq!(written["blocks"], 3);
    let stored = blob_in_emulator(&emus, "e2e", "big.bin").await;
    assert_eq!(stored.status(), StatusCode::OK);
    assert_eq!(
        Sha256::digest(stored.body()),
        expected,
        "stored blob differs"
    );
    let resp = read
        .send(e2e::get("/read?container=e2e&blob=big.bin"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.body().len(), 9 * 1024 * 1024);
    assert_eq!(Sha256::digest(resp.body()), expected);

    // Bad input is explained, as in the harness.
    let resp = write
        .send(request("POST", "/write?blob=x", "text/plain", "abc"))
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(e2e::body_text(&resp).contains("container"));
    let resp = write
        .send(request(
            "POST",
            "/write?container=e2e&blob=x",
            "text/plain",
            "",
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(e2e::body_text(&resp).contains("empty"));
    let resp = write
        .send(request(
            "POST",
            "/write?container=Bad_Name&blob=x",
            "text/plain",
            "abc",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "{}",
        e2e::body_text(&resp)
    );
    let resp = read
        .send(e2e::get("/read?container=e2e&blob=missing.txt"))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "{}",
        e2e::body_text(&resp)
    );
    assert!(e2e::body_text(&resp).contains("write it first"));
    let resp = read.send(e2e::get("/read?container=e2e")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(e2e::body_text(&resp).contains("blob"));

    drop((write, read));
    emus.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: needs WASMTIME_CLI (wasmtime 48); run by `cargo xtask interop`"]
async fn blob_write_component_with_a_wrong_key_is_a_502() {
    let emus = emulators(false).await;
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc=";
    let env = with(&azure_env(&emus), "STORAGE_MASTER_KEY", wrong);
    let write = Serve::start("blob-write", &env).await;
    let resp = write
        .send(request(
            "POST",
            "/write?container=e2e&blob=x",
            "text/plain",
            "abc",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::BAD_GATEWAY,
        "{}",
        e2e::body_text(&resp)
    );
    assert!(!e2e::body_text(&resp).contains(wrong));
    drop(write);
    emus.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: needs WASMTIME_CLI (wasmtime 48); run by `cargo xtask interop`"]
async fn cosmos_component_on_wasmtime_serve_writes_reads_lists_queries_and_deletes() {
    let emus = emulators(true).await;
    let s = Serve::start("cosmos", &azure_env(&emus)).await;

    for (id, owner) in [("n1", "ann"), ("n2", "bob"), ("n3", "ann")] {
        let doc = format!(r#"{{"id":"{id}","owner":"{owner}","text":"note {id}"}}"#);
        let resp = s
            .send(request(
                "POST",
                "/cosmos?collection=notes",
                "application/json",
                doc,
            ))
            .await;
        assert!(
            resp.status().is_success(),
            "{}: {}\n{}",
            resp.status(),
            e2e::body_text(&resp),
            s.log_text()
        );
    }
    // Really written: read straight from the emulator.
    let stored = cosmos_document(&emus, "wagi", "notes", "n2").await;
    assert_eq!(
        stored.status(),
        StatusCode::OK,
        "{}",
        e2e::body_text(&stored)
    );
    assert_eq!(json_body(&stored)["owner"], "bob");

    let resp = s.send(e2e::get("/cosmos?collection=notes&id=n2")).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(json_body(&resp)["owner"], "bob");

    let resp = s.send(e2e::get("/cosmos?collection=notes")).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(json_body(&resp)["count"], 3);

    let resp = s
        .send(e2e::get("/cosmos?collection=notes&where=owner&equals=ann"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(json_body(&resp)["count"], 2);

    let resp = s
        .send(request(
            "DELETE",
            "/cosmos?collection=notes&id=n1",
            "text/plain",
            "",
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    let resp = s.send(e2e::get("/cosmos?collection=notes&id=n1")).await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "{}",
        e2e::body_text(&resp)
    );
    let gone = cosmos_document(&emus, "wagi", "notes", "n1").await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    let resp = s
        .send(request(
            "POST",
            "/cosmos?collection=notes",
            "application/json",
            r#"{"owner":"x"}"#,
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        e2e::body_text(&resp).contains("\"id\""),
        "{}",
        e2e::body_text(&resp)
    );
    drop(s);
    emus.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: needs WASMTIME_CLI (wasmtime 48); run by `cargo xtask interop`"]
async fn webhook_component_on_wasmtime_serve_answers_the_handshakes() {
    let emus = emulators(true).await;
    let s = Serve::start("eventgrid-webhook", &azure_env(&emus)).await;
    let validation = r#"[{"id":"v1","topic":"t","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime":"2024-01-01T00:00:00Z","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},"dataVersion":"1"}]"#;
    let resp = s
        .send(request("POST", "/webhook", "application/json", validation))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(
        json_body(&resp)["validationResponse"],
        "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
    );

    let options = Request::builder()
        .method("OPTIONS")
        .uri("/webhook")
        .header("WebHook-Request-Origin", "eventgrid.azure.net")
        .body(Bytes::new())
        .expect("request");
    let resp = s.send(options).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(
        resp.headers()["webhook-allowed-origin"],
        "eventgrid.azure.net"
    );

    let resp = s
        .send(request("POST", "/webhook", "application/json", "{not json"))
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let custom = r#"[{"id":"c1","subject":"x","eventType":"Contoso.Custom","eventTime":"t","data":{"a":1}}]"#;
    let resp = s
        .send(request("POST", "/webhook", "application/json", custom))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(
        json_body(&resp)["ignored"][0]["eventType"],
        "Contoso.Custom"
    );
    drop(s);
    emus.shutdown().await;
}

/// The article's scenario with every step a component on `wasmtime serve`: publish stores a blob
/// and announces it; the EventGrid emulator validates and delivers to the webhook component; the
/// webhook reads the blob and records it in Cosmos DB; the cosmos component finds the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "interop: needs WASMTIME_CLI (wasmtime 48); run by `cargo xtask interop`"]
async fn publish_event_webhook_records_the_blob_in_cosmos_on_wasmtime_serve() {
    let emus = emulators(true).await;
    let env = azure_env(&emus);
    let publish = Serve::spawn("eventgrid-publish", &env);
    let webhook = Serve::spawn("eventgrid-webhook", &env);
    let cosmos = Serve::spawn("cosmos", &env);
    let publish = publish.ready().await;
    let webhook = webhook.ready().await;
    let cosmos = cosmos.ready().await;

    let mut sub =
        SubscriptionConfig::new("webhook", "default", &format!("{}/webhook", webhook.base));
    sub.included_event_types = vec!["Microsoft.Storage.BlobCreated".into()];
    emus.add_subscription(sub)
        .await
        .expect("subscribe the webhook (the validation handshake goes to the component)");

    let resp = publish
        .send(request(
            "POST",
            "/publish?container=uploads&blob=note.txt",
            "text/plain",
            "hello from the article",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}\n{}",
        e2e::body_text(&resp),
        publish.log_text()
    );
    let published = json_body(&resp);
    assert_eq!(
        published["event"]["eventType"],
        "Microsoft.Storage.BlobCreated"
    );
    let stored = blob_in_emulator(&emus, "uploads", "note.txt").await;
    assert_eq!(e2e::body_text(&stored), "hello from the article");

    let deadline = Instant::now() + Duration::from_secs(30);
    let record = loop {
        let resp = cosmos
            .send(e2e::get("/cosmos?collection=blobs&id=uploads%7Cnote.txt"))
            .await;
        if resp.status() == StatusCode::OK {
            break json_body(&resp);
        }
        assert!(
            Instant::now() < deadline,
            "the webhook did not record the blob in 30 s; last answer {}: {}\nwebhook log:\n{}",
            resp.status(),
            e2e::body_text(&resp),
            webhook.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(record["container"], "uploads");
    assert_eq!(record["blob"], "note.txt");
    assert_eq!(record["size"], 22);
    assert_eq!(record["preview"], "hello from the article");
    assert_eq!(record["eventId"], published["event"]["id"]);

    // Delivered, not dead-lettered; and the document is really in the emulator.
    let dead = emus.dead_letters("default").await.expect("dead letters");
    assert!(dead.is_empty(), "dead letters: {}", dead.len());
    let doc = cosmos_document(&emus, "wagi", "blobs", "uploads|note.txt").await;
    assert_eq!(doc.status(), StatusCode::OK, "{}", e2e::body_text(&doc));
    assert_eq!(json_body(&doc)["eventId"], published["event"]["id"]);

    drop((publish, webhook, cosmos));
    emus.shutdown().await;
}
