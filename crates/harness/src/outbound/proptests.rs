//! Property tests of the five `wasi_experimental_http` host functions, called from a tiny guest
//! with arbitrary pointers and lengths: they never trap or panic, they answer with a code, an
//! out-of-memory range is always code 3, nothing is written when a call fails, and on an open
//! response the buffer protocol (code 4 with the needed size, then the bytes) holds.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use wasmtime::{Engine, Instance, Linker, Memory, Module, Store};

use super::abi::{add_to_linker, HasOutbound};
use super::{Code, OutboundClient, OutboundPolicy, OutboundState};
use crate::{AllowList, Limits};
use azure_wasi_abi::{decode_request_headers, encode_response_headers, parse_method};

/// The guest's memory: 8 pages of 64 KiB.
const MEM: usize = 8 * 65_536;

const IMPORTS: &str = r#"
  (import "wasi_experimental_http" "req" (func $req (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_experimental_http" "close" (func $close (param i32) (result i32)))
  (import "wasi_experimental_http" "header_get" (func $header_get (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_experimental_http" "headers_get_all" (func $headers_get_all (param i32 i32 i32 i32) (result i32)))
  (import "wasi_experimental_http" "body_read" (func $body_read (param i32 i32 i32 i32) (result i32)))
  (func (export "req") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (call $req (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
               (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9)))
  (func (export "close") (param i32) (result i32) (call $close (local.get 0)))
  (func (export "header_get") (param i32 i32 i32 i32 i32 i32) (result i32)
    (call $header_get (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)))
  (func (export "headers_get_all") (param i32 i32 i32 i32) (result i32)
    (call $headers_get_all (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "body_read") (param i32 i32 i32 i32) (result i32)
    (call $body_read (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
"#;

struct Data {
    outbound: OutboundState,
}

impl HasOutbound for Data {
    fn outbound(&mut self) -> &mut OutboundState {
        &mut self.outbound
    }
}

/// A guest (with or without an exported memory) and the store it lives in.
struct Guest {
    store: Store<Data>,
    instance: Instance,
    memory: Option<Memory>,
}

struct Host {
    engine: Engine,
    linker: Linker<Data>,
    with_memory: Module,
    without_memory: Module,
    allow: AllowList,
    limits: Limits,
}

impl Host {
    fn new(allow: AllowList) -> Self {
        let engine = Engine::default();
        let mut linker = Linker::new(&engine);
        add_to_linker(&mut linker).unwrap();
        let module = |memory: &str| {
            let wat = format!("(module {IMPORTS} {memory})");
            Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap()
        };
        let limits = Limits {
            block_private_networks: false,
            ..Limits::default()
        };
        Self {
            with_memory: module(r#"(memory (export "memory") 8)"#),
            without_memory: module("(memory 1)"),
            engine,
            linker,
            allow,
            limits,
        }
    }

    async fn guest(&self, memory: bool) -> Guest {
        let policy = Arc::new(OutboundPolicy {
            route: "/proptest".into(),
            allow: self.allow.clone(),
            max_handles: 4,
            timeout: Duration::from_secs(10),
            max_body: 1 << 20,
        });
        let client = OutboundClient::new(&self.allow, &self.limits);
        let mut store = Store::new(
            &self.engine,
            Data {
                outbound: OutboundState::new(policy, client, 0),
            },
        );
        let module = if memory {
            &self.with_memory
        } else {
            &self.without_memory
        };
        let instance = self
            .linker
            .instantiate_async(&mut store, module)
            .await
            .unwrap();
        let memory = instance.get_memory(&mut store, "memory");
        Guest {
            store,
            instance,
            memory,
        }
    }
}

impl Guest {
    /// Calls export `name`; a trap fails the test.
    async fn call<P: wasmtime::WasmParams + Sync>(&mut self, name: &str, args: P) -> Code {
        let f = self
            .instance
            .get_typed_func::<P, i32>(&mut self.store, name)
            .unwrap();
        let code = f
            .call_async(&mut self.store, args)
            .await
            .unwrap_or_else(|e| panic!("{name} trapped: {e:?}"));
        Code::from_i32(code).unwrap_or_else(|| panic!("{name} returned {code}, not a code"))
    }

    fn data(&self) -> Vec<u8> {
        self.memory.unwrap().data(&self.store).to_vec()
    }

    fn write(&mut self, at: usize, bytes: &[u8]) {
        self.memory
            .unwrap()
            .write(&mut self.store, at, bytes)
            .unwrap();
    }
}

/// Whether `len` bytes at `ptr` are inside memory, as the host must decide it.
fn fits(ptr: i32, len: i32) -> bool {
    (ptr as u32 as u64) + (len as u32 as u64) <= MEM as u64
}

/// Pointers and lengths: anything, and many near the edges of memory.
fn int() -> impl Strategy<Value = i32> {
    prop_oneof![
        2 => any::<i32>(),
        2 => 0i32..256,
        2 => (MEM as i32 - 64)..(MEM as i32 + 64),
        1 => -64i32..0,
        1 => prop::sample::select(&[0, 1, 2, 4, i32::MAX, i32::MIN, -1, MEM as i32][..]),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new(RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

#[test]
fn arbitrary_arguments_never_trap_and_bad_ranges_are_code_3() {
    let rt = runtime();
    let host = Host::new(AllowList::default());
    let guest = RefCell::new(rt.block_on(host.guest(true)));
    let before = guest.borrow().data();
    let args = (
        prop::collection::vec(int(), 10),
        any::<i32>(),
        prop::sample::select(&["req", "close", "header_get", "headers_get_all", "body_read"][..]),
    );
    run(3000, args, |(a, handle, function)| {
        let mut g = guest.borrow_mut();
        let code = rt.block_on(async {
            match function {
                "req" => {
                    g.call(
                        "req",
                        (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]),
                    )
                    .await
                }
                "close" => g.call("close", handle).await,
                "header_get" => {
                    g.call("header_get", (handle, a[0], a[1], a[2], a[3], a[4]))
                        .await
                }
                "headers_get_all" => g.call("headers_get_all", (handle, a[0], a[1], a[2])).await,
                _ => g.call("body_read", (handle, a[0], a[1], a[2])).await,
            }
        });
        // Memory is all zeros: the url is empty (not a URL) and nothing may be written.
        let bad_range = match function {
            "req" => {
                !fits(a[8], 2) || !fits(a[9], 4) || (0..4).any(|i| !fits(a[2 * i], a[2 * i + 1]))
            }
            "close" => false,
            // The name is read (zeros are valid UTF-8) before `written` is checked.
            "header_get" => !fits(a[0], a[1]) || !fits(a[4], 4),
            "headers_get_all" => !fits(a[2], 4),
            _ => !fits(a[0], a[1]) || !fits(a[2], 4),
        };
        let expected = match function {
            _ if bad_range => Code::MemoryAccess,
            "req" => Code::InvalidUrl,
            _ => Code::InvalidHandle,
        };
        prop_assert_eq!(code, expected, "{}{:?}", function, a);
        prop_assert!(
            g.data() == before,
            "{} wrote to memory on failure",
            function
        );
        Ok(())
    });
}

#[test]
fn without_an_exported_memory_every_call_is_code_2() {
    let rt = runtime();
    let host = Host::new(AllowList::default());
    let guest = RefCell::new(rt.block_on(host.guest(false)));
    run(500, prop::collection::vec(int(), 10), |a| {
        let mut g = guest.borrow_mut();
        rt.block_on(async {
            let codes = [
                g.call(
                    "req",
                    (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]),
                )
                .await,
                g.call("header_get", (a[0], a[1], a[2], a[3], a[4], a[5]))
                    .await,
                g.call("headers_get_all", (a[0], a[1], a[2], a[3])).await,
                g.call("body_read", (a[0], a[1], a[2], a[3])).await,
            ];
            prop_assert_eq!(codes, [Code::MemoryNotFound; 4]);
            prop_assert_eq!(g.call("close", a[0]).await, Code::InvalidHandle);
            Ok(())
        })
    });
}

/// Bytes for a `req` argument: often nearly right, sometimes anything.
fn url() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => "https?://[a-z]{1,10}(\\.[a-z]{2,5})?(:[0-9]{1,5})?(/[a-zA-Z0-9._~%-]{0,10}){0,3}"
            .prop_map(String::into_bytes),
        1 => "(http|https|HTTP|ftp|file|data)://[a-z0-9.:\\[\\]@%-]{0,20}(/[ -~]{0,10})?".prop_map(String::into_bytes),
        1 => "[ -~]{0,30}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..30),
    ]
}

fn method() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(&["GET", "POST", "get", "", "G T", "GET\n", "PATCH"][..]).prop_map(|m| m.as_bytes().to_vec()),
        4 => "[A-Z]{1,8}".prop_map(String::into_bytes),
        1 => "[A-Za-z!#$%&'*+.^_`|~-]{0,12}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ]
}

fn header_block() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => "([a-z-]{1,8}: ?[ -~]{0,10}\n?){0,4}".prop_map(String::into_bytes),
        8 => prop::collection::vec(prop_oneof![any::<u8>(), Just(b':'), Just(b'\n'), b'a'..=b'z'], 0..40),
        // A block with more distinct names than a header map holds.
        1 => (25_000usize..30_000).prop_map(|n| {
            (0..n).map(|i| format!("x-h{i}:v")).collect::<Vec<_>>().join("\n").into_bytes()
        }),
    ]
}

#[test]
fn request_arguments_are_checked_in_order_and_never_reach_the_network() {
    let rt = runtime();
    // Nothing is allowed: every request that passes the argument checks is code 7, before any
    // connection is made.
    let host = Host::new(AllowList::default());
    let guest = RefCell::new(rt.block_on(host.guest(true)));
    let parts = (
        url(),
        method(),
        header_block(),
        prop::collection::vec(any::<u8>(), 0..16),
    );
    run(1000, parts, |(url, method, headers, body)| {
        let mut g = guest.borrow_mut();
        let mut at = 16usize;
        let mut place = |g: &mut Guest, bytes: &[u8]| {
            let ptr = at;
            g.write(ptr, bytes);
            at += bytes.len() + 1;
            (ptr as i32, bytes.len() as i32)
        };
        let (up, ul) = place(&mut g, &url);
        let (mp, ml) = place(&mut g, &method);
        let (hp, hl) = place(&mut g, &headers);
        let (bp, bl) = place(&mut g, &body);
        let code = rt.block_on(g.call("req", (up, ul, mp, ml, hp, hl, bp, bl, 0, 4)));
        let expected = match std::str::from_utf8(&url) {
            Err(_) => Code::Utf8,
            Ok(u) => match url::Url::parse(u) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    match parse_method(&method) {
                        Err(c) => c,
                        Ok(_) => match decode_request_headers(&headers) {
                            Err(c) => c,
                            Ok(_) => Code::DestinationNotAllowed,
                        },
                    }
                }
                _ => Code::InvalidUrl,
            },
        };
        prop_assert_eq!(code, expected);
        prop_assert_eq!(
            &g.data()[..8],
            &[0u8; 8][..],
            "status or handle written on failure"
        );
        prop_assert_eq!(g.store.data_mut().outbound.open_handles(), 0);
        // Clear what was placed, for the next case.
        let used = at.min(MEM);
        g.write(16, &vec![0; used - 16]);
        Ok(())
    });
}

/// The headers and body the loopback server answers with.
const BODY_LEN: usize = 3000;

fn body_byte(i: usize) -> u8 {
    (i * 7 % 251) as u8
}

/// A loopback server answering every request with repeated headers, a non-UTF-8 value and a
/// 3000-byte body.
async fn server() -> u16 {
    use http_body_util::Full;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    let body: Vec<u8> = (0..BODY_LEN).map(body_byte).collect();
                    let response = http::Response::builder()
                        .header("set-cookie", "a=1")
                        .header("set-cookie", "b=2")
                        .header(
                            "x-binary",
                            http::HeaderValue::from_bytes(b"\xff\xfe ok").unwrap(),
                        )
                        .header("content-type", "application/octet-stream")
                        .body(Full::new(bytes::Bytes::from(body)))
                        .unwrap();
                    Ok::<_, std::convert::Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    port
}

impl Guest {
    fn read_u32(&self, at: i32) -> u32 {
        let at = at as u32 as usize;
        let data = self.memory.unwrap().data(&self.store);
        u32::from_le_bytes(data[at..at + 4].try_into().unwrap())
    }

    /// Opens a response from the loopback server, with arguments the test knows to be valid.
    async fn open(&mut self, port: u16) -> i32 {
        let url = format!("http://127.0.0.1:{port}/");
        self.write(100, url.as_bytes());
        self.write(200, b"GET");
        let code = self
            .call("req", (100, url.len() as i32, 200, 3, 0, 0, 0, 0, 0, 4))
            .await;
        assert_eq!(code, Code::Ok);
        self.read_u32(4) as i32
    }
}

/// Whether `[a, a + la)` and `[b, b + lb)` overlap.
fn overlap(a: i32, la: usize, b: i32, lb: usize) -> bool {
    let (a, b) = (a as u32 as usize, b as u32 as usize);
    a < b + lb && b < a + la
}

#[test]
fn open_responses_follow_the_buffer_protocol_for_any_arguments() {
    let rt = runtime();
    let port = rt.block_on(server());
    let allow = AllowList::parse(&[format!("http://127.0.0.1:{port}")]).unwrap();
    let host = Host::new(allow);
    let names = prop::sample::select(
        &[
            "set-cookie",
            " Set-Cookie ",
            "X-BINARY",
            "content-type",
            "missing",
            "bad name",
            "\u{e9}",
            "",
        ][..],
    );
    let args = (prop::collection::vec(int(), 3), names, 0usize..3, 1i32..700);
    run(300, args, |(a, name, function, chunk)| {
        rt.block_on(async {
            let mut g = host.guest(true).await;
            let handle = g.open(port).await;
            let headers = g
                .store
                .data_mut()
                .outbound
                .get(handle)
                .unwrap()
                .headers
                .clone();
            let (buf, buf_len, written) = (a[0], a[1], a[2]);
            let before = g.data();
            match function {
                0 => {
                    let text = encode_response_headers(&headers);
                    let code = g
                        .call("headers_get_all", (handle, buf, buf_len, written))
                        .await;
                    if !fits(written, 4) {
                        prop_assert_eq!(code, Code::MemoryAccess);
                        prop_assert!(g.data() == before);
                    } else if text.len() > buf_len as u32 as usize {
                        prop_assert_eq!(code, Code::BufferTooSmall);
                        prop_assert_eq!(g.read_u32(written) as usize, text.len());
                    } else if !fits(buf, buf_len) {
                        prop_assert_eq!(code, Code::MemoryAccess);
                        prop_assert!(g.data() == before);
                    } else {
                        prop_assert_eq!(code, Code::Ok);
                        prop_assert_eq!(g.read_u32(written) as usize, text.len());
                        if !overlap(buf, text.len(), written, 4) {
                            let at = buf as u32 as usize;
                            prop_assert_eq!(&g.data()[at..at + text.len()], &text[..]);
                        }
                    }
                }
                1 => {
                    // The name sits at 1000; the value buffer and `written` are anything.
                    g.write(1000, name.as_bytes());
                    let before = g.data();
                    let code = g
                        .call(
                            "header_get",
                            (handle, 1000, name.len() as i32, buf, buf_len, written),
                        )
                        .await;
                    let value = headers.get(name.trim().to_ascii_lowercase().as_str());
                    if !fits(written, 4) {
                        prop_assert_eq!(code, Code::MemoryAccess);
                        prop_assert!(g.data() == before);
                    } else if let Some(value) = value {
                        let value = value.as_bytes();
                        if value.len() > buf_len as u32 as usize {
                            prop_assert_eq!(code, Code::BufferTooSmall);
                            prop_assert_eq!(g.read_u32(written) as usize, value.len());
                        } else if !fits(buf, buf_len) {
                            prop_assert_eq!(code, Code::MemoryAccess);
                            prop_assert!(g.data() == before);
                        } else {
                            prop_assert_eq!(code, Code::Ok);
                            prop_assert_eq!(g.read_u32(written) as usize, value.len());
                            if !overlap(buf, value.len(), written, 4) {
                                let at = buf as u32 as usize;
                                prop_assert_eq!(&g.data()[at..at + value.len()], value);
                            }
                        }
                    } else {
                        prop_assert_eq!(code, Code::HeaderNotFound, "{:?}", name);
                        prop_assert!(g.data() == before);
                    }
                }
                _ => {
                    // One call with the arbitrary arguments, then the whole body in `chunk`s.
                    let code = g.call("body_read", (handle, buf, buf_len, written)).await;
                    let mut got = Vec::new();
                    if !fits(buf, buf_len) || !fits(written, 4) {
                        prop_assert_eq!(code, Code::MemoryAccess);
                        prop_assert!(g.data() == before);
                    } else {
                        prop_assert_eq!(code, Code::Ok);
                        let n = g.read_u32(written) as usize;
                        prop_assert!(n <= buf_len as u32 as usize);
                        if !overlap(buf, n, written, 4) {
                            let at = buf as u32 as usize;
                            got.extend_from_slice(&g.data()[at..at + n]);
                        } else {
                            got.extend((got.len()..got.len() + n).map(body_byte));
                        }
                    }
                    loop {
                        let code = g.call("body_read", (handle, 2000, chunk, 8)).await;
                        prop_assert_eq!(code, Code::Ok);
                        let n = g.read_u32(8) as usize;
                        prop_assert!(n <= chunk as usize);
                        if n == 0 {
                            break;
                        }
                        got.extend_from_slice(&g.data()[2000..2000 + n]);
                        prop_assert!(got.len() <= BODY_LEN);
                    }
                    prop_assert_eq!(got, (0..BODY_LEN).map(body_byte).collect::<Vec<_>>());
                }
            }
            prop_assert_eq!(g.call("close", handle).await, Code::Ok);
            prop_assert_eq!(g.call("close", handle).await, Code::InvalidHandle);
            Ok(())
        })
    });
}
