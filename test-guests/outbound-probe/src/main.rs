//! A test guest that calls the raw `wasi_experimental_http` imports, including with bad
//! arguments, and reports the codes. `?op=<name>&url=<percent-encoded URL>`.
//!
//! Output is `Content-Type: text/plain` with `key=value` lines: `code` (the ABI code of the
//! operation under test), and for successful requests `status`, `headers` (escaped) and
//! `body_len` / `body_sha` (FNV-1a of the body, hex).

use std::io::{Read, Write};

#[cfg(target_arch = "wasm32")]
mod raw {
    #[link(wasm_import_module = "wasi_experimental_http")]
    extern "C" {
        pub fn req(
            url_ptr: *const u8,
            url_len: usize,
            method_ptr: *const u8,
            method_len: usize,
            headers_ptr: *const u8,
            headers_len: usize,
            body_ptr: *const u8,
            body_len: usize,
            status_code_ptr: *mut u16,
            res_handle_ptr: *mut u32,
        ) -> u32;
        pub fn close(handle: u32) -> u32;
        pub fn header_get(
            handle: u32,
            name_ptr: *const u8,
            name_len: usize,
            value_ptr: *mut u8,
            value_len: usize,
            written_ptr: *mut usize,
        ) -> u32;
        pub fn headers_get_all(
            handle: u32,
            buf_ptr: *mut u8,
            buf_len: usize,
            written_ptr: *mut usize,
        ) -> u32;
        pub fn body_read(
            handle: u32,
            buf_ptr: *mut u8,
            buf_len: usize,
            written_ptr: *mut usize,
        ) -> u32;
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod raw {
    //! Host builds only type-check; the probe is meant for wasm32-wasip1.
    #![allow(clippy::too_many_arguments, clippy::missing_safety_doc)]
    pub unsafe fn req(
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
        _: *const u8,
        _: usize,
        _: *mut u16,
        _: *mut u32,
    ) -> u32 {
        12
    }
    pub unsafe fn close(_: u32) -> u32 {
        12
    }
    pub unsafe fn header_get(
        _: u32,
        _: *const u8,
        _: usize,
        _: *mut u8,
        _: usize,
        _: *mut usize,
    ) -> u32 {
        12
    }
    pub unsafe fn headers_get_all(_: u32, _: *mut u8, _: usize, _: *mut usize) -> u32 {
        12
    }
    pub unsafe fn body_read(_: u32, _: *mut u8, _: usize, _: *mut usize) -> u32 {
        12
    }
}

fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

struct Report(String);

impl Report {
    fn kv(&mut self, k: &str, v: impl std::fmt::Display) {
        self.0.push_str(&format!("{k}={v}\n"));
    }
}

fn send(url: &[u8], method: &[u8], headers: &[u8], body: &[u8]) -> (u32, u16, u32) {
    let mut status = 0u16;
    let mut handle = 0u32;
    let code = unsafe {
        raw::req(
            url.as_ptr(),
            url.len(),
            method.as_ptr(),
            method.len(),
            headers.as_ptr(),
            headers.len(),
            body.as_ptr(),
            body.len(),
            &mut status,
            &mut handle,
        )
    };
    (code, status, handle)
}

fn read_all_headers(handle: u32, start: usize, r: &mut Report) -> u32 {
    let mut cap = start;
    loop {
        let mut buf = vec![0u8; cap];
        let mut written = 0usize;
        let code =
            unsafe { raw::headers_get_all(handle, buf.as_mut_ptr(), buf.len(), &mut written) };
        if code == 4 {
            r.kv("grew_from", cap);
            cap = cap.max(1) * 2;
            continue;
        }
        if code == 0 {
            buf.truncate(written);
            r.kv("headers", String::from_utf8_lossy(&buf).replace('\n', "|"));
        }
        return code;
    }
}

fn read_body(handle: u32, r: &mut Report) -> u32 {
    let mut body = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut written = 0usize;
        let code = unsafe { raw::body_read(handle, buf.as_mut_ptr(), buf.len(), &mut written) };
        if code != 0 {
            return code;
        }
        if written == 0 {
            break;
        }
        body.extend_from_slice(&buf[..written]);
    }
    r.kv("body_len", body.len());
    r.kv("body_sha", format!("{:016x}", fnv(&body)));
    if body.len() <= 256 {
        r.kv("body", String::from_utf8_lossy(&body).replace('\n', "|"));
    }
    0
}

fn main() {
    let query = std::env::var("QUERY_STRING").unwrap_or_default();
    let op = param(&query, "op").unwrap_or_else(|| "get".into());
    let url = param(&query, "url").unwrap_or_default();
    let method = param(&query, "method").unwrap_or_else(|| "GET".into());
    let headers = param(&query, "headers").unwrap_or_default();
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body).unwrap();
    let mut r = Report(String::new());
    let wild = 0xFFFF_FFF0usize as *const u8;
    match op.as_str() {
        "get" => {
            let (code, status, handle) =
                send(url.as_bytes(), method.as_bytes(), headers.as_bytes(), &body);
            r.kv("code", code);
            if code == 0 {
                r.kv("status", status);
                let c = read_all_headers(handle, 16, &mut r);
                r.kv("headers_code", c);
                let mut value = vec![0u8; 256];
                let mut written = 0usize;
                let name = b"content-type";
                let c = unsafe {
                    raw::header_get(
                        handle,
                        name.as_ptr(),
                        name.len(),
                        value.as_mut_ptr(),
                        value.len(),
                        &mut written,
                    )
                };
                if c == 0 {
                    r.kv("content_type", String::from_utf8_lossy(&value[..written]));
                }
                let missing = b"x-not-there";
                let c = unsafe {
                    raw::header_get(
                        handle,
                        missing.as_ptr(),
                        missing.len(),
                        value.as_mut_ptr(),
                        value.len(),
                        &mut written,
                    )
                };
                r.kv("missing_header_code", c);
                let c = read_body(handle, &mut r);
                r.kv("body_code", c);
                r.kv("close_code", unsafe { raw::close(handle) });
                r.kv("close_again_code", unsafe { raw::close(handle) });
            }
        }
        "wild-url-ptr" => {
            let mut status = 0u16;
            let mut handle = 0u32;
            let m = b"GET";
            let code = unsafe {
                raw::req(
                    wild,
                    64,
                    m.as_ptr(),
                    3,
                    m.as_ptr(),
                    0,
                    m.as_ptr(),
                    0,
                    &mut status,
                    &mut handle,
                )
            };
            r.kv("code", code);
        }
        "len-past-memory" => {
            let m = b"GET";
            let mut status = 0u16;
            let mut handle = 0u32;
            let code = unsafe {
                raw::req(
                    url.as_ptr(),
                    usize::MAX / 2,
                    m.as_ptr(),
                    3,
                    m.as_ptr(),
                    0,
                    m.as_ptr(),
                    0,
                    &mut status,
                    &mut handle,
                )
            };
            r.kv("code", code);
        }
        "wild-status-ptr" => {
            let m = b"GET";
            let mut handle = 0u32;
            let code = unsafe {
                raw::req(
                    url.as_ptr(),
                    url.len(),
                    m.as_ptr(),
                    3,
                    m.as_ptr(),
                    0,
                    m.as_ptr(),
                    0,
                    wild as *mut u16,
                    &mut handle,
                )
            };
            r.kv("code", code);
        }
        "non-utf8-url" => r.kv("code", send(&[0xff, 0xfe, 0x80], b"GET", b"", b"").0),
        "repeat" => {
            // `times` calls to `url`; reports how many were refused (code 7).
            let times: usize = param(&query, "times")
                .and_then(|v| v.parse().ok())
                .unwrap_or(100);
            let denied = (0..times)
                .filter(|_| send(url.as_bytes(), b"GET", b"", b"").0 == 7)
                .count();
            r.kv("denied", denied);
        }
        "bad-url" => r.kv("code", send(b"not a url", b"GET", b"", b"").0),
        "bad-method" => r.kv("code", send(url.as_bytes(), b"get", b"", b"").0),
        "no-colon-header" => r.kv("code", send(url.as_bytes(), b"GET", b"NoColonHere", b"").0),
        "unknown-handle" => {
            let mut buf = [0u8; 8];
            let mut written = 0usize;
            r.kv("body_read", unsafe {
                raw::body_read(4242, buf.as_mut_ptr(), buf.len(), &mut written)
            });
            r.kv("headers_get_all", unsafe {
                raw::headers_get_all(4242, buf.as_mut_ptr(), buf.len(), &mut written)
            });
            let n = b"a";
            r.kv("header_get", unsafe {
                raw::header_get(
                    4242,
                    n.as_ptr(),
                    1,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut written,
                )
            });
            r.kv("close", unsafe { raw::close(4242) });
        }
        "wild-body-buf" => {
            let (code, _, handle) = send(url.as_bytes(), b"GET", b"", b"");
            r.kv("req_code", code);
            let mut written = 0usize;
            r.kv("code", unsafe {
                raw::body_read(handle, wild as *mut u8, 64, &mut written)
            });
        }
        "small-buffer" => {
            let (code, _, handle) = send(url.as_bytes(), b"GET", b"", b"");
            r.kv("req_code", code);
            let c = read_all_headers(handle, 1, &mut r);
            r.kv("code", c);
            let mut value = [0u8; 1];
            let mut written = 0usize;
            let name = b"content-type";
            r.kv("header_get_small", unsafe {
                raw::header_get(
                    handle,
                    name.as_ptr(),
                    name.len(),
                    value.as_mut_ptr(),
                    1,
                    &mut written,
                )
            });
            r.kv("needed", written);
        }
        "too-many" => {
            let n: usize = param(&query, "n").and_then(|v| v.parse().ok()).unwrap_or(3);
            let mut codes = Vec::new();
            for _ in 0..n {
                codes.push(send(url.as_bytes(), b"GET", b"", b"").0.to_string());
            }
            r.kv("codes", codes.join(","));
        }
        other => r.kv("error", format!("unknown op {other}")),
    }
    let mut out = std::io::stdout();
    write!(out, "Content-Type: text/plain\n\n{}", r.0).unwrap();
    out.flush().unwrap();
}
