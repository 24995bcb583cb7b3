//! Test guest for the harness's component world: a raw `wasi:http/incoming-handler`.
//!
//! Built for `wasm32-wasip2`; on other targets it compiles to an empty program. The operation is
//! picked by the query string:
//!
//! | query | answer |
//! |---|---|
//! | `op=env&name=X` | the value of env var `X` (404 when unset) |
//! | `op=echo` | `key=value` lines: method, scheme, authority, path, query, every header, body |
//! | `op=fetch&url=U[&header=n:v]...[&timeout_ms=N]` | outbound GET: `status=`, `body=` lines, or 502 and `error=<ErrorCode debug>` |
//! | `op=big&bytes=N` | `N` bytes of `x`, streamed |
//! | `op=copy` | the request body as the response body, copied 64 KiB at a time (never held whole) |
//! | `op=sleep&ms=N` | waits `N` ms on a host clock pollable, then `slept` |
//! | `op=trap` | traps (`unreachable`) |
//! | `op=spin` | loops forever |
//! | `op=stderr` | writes two lines to stderr, answers `ok` |
//! | `op=stderr-flood&lines=N` | `N` lines of 1 KiB to stderr, answers `still writing` |
//! | `op=repeat&url=U&times=N` | `N` outbound GETs of `U`, answers `denied=<failures>` |

#[cfg(target_env = "p2")]
mod probe {
    use std::io::{Read, Write};

    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingRequest,
        OutgoingResponse, RequestOptions, ResponseOutparam, Scheme,
    };

    pub struct Probe;

    impl wasip2::exports::http::incoming_handler::Guest for Probe {
        fn handle(request: IncomingRequest, out: ResponseOutparam) {
            let path_with_query = request.path_with_query().unwrap_or_default();
            let query = path_with_query
                .split_once('?')
                .map(|(_, q)| q.to_string())
                .unwrap_or_default();
            let params = parse_query(&query);
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            match param("op").as_deref().unwrap_or("") {
                "env" => {
                    let name = param("name").unwrap_or_default();
                    match std::env::var(&name) {
                        Ok(v) => respond(out, 200, v.as_bytes()),
                        Err(_) => respond(out, 404, format!("{name} is not set").as_bytes()),
                    }
                }
                "echo" => respond(
                    out,
                    200,
                    echo(&request, &path_with_query, &query).as_bytes(),
                ),
                "fetch" => {
                    let url = param("url").unwrap_or_default();
                    let headers: Vec<String> = params
                        .iter()
                        .filter(|(k, _)| k == "header")
                        .map(|(_, v)| v.clone())
                        .collect();
                    let timeout_ms = param("timeout_ms").and_then(|v| v.parse::<u64>().ok());
                    match fetch(&url, &headers, timeout_ms) {
                        Ok(text) => respond(out, 200, text.as_bytes()),
                        Err(text) => respond(out, 502, text.as_bytes()),
                    }
                }
                "repeat" => {
                    // `times` fetches of `url`; answers how many failed.
                    let url = param("url").unwrap_or_default();
                    let times: usize = param("times").and_then(|v| v.parse().ok()).unwrap_or(100);
                    let failed = (0..times)
                        .filter(|_| fetch(&url, &[], None).is_err())
                        .count();
                    respond(out, 200, format!("denied={failed}").as_bytes())
                }
                "big" => {
                    let n = param("bytes").and_then(|v| v.parse().ok()).unwrap_or(0);
                    big(out, n)
                }
                "copy" => copy(&request, out),
                "sleep" => {
                    let ms: u64 = param("ms").and_then(|v| v.parse().ok()).unwrap_or(0);
                    wasip2::clocks::monotonic_clock::subscribe_duration(ms * 1_000_000).block();
                    respond(out, 200, b"slept")
                }
                "trap" => core::arch::wasm32::unreachable(),
                "spin" => {
                    let mut n: u64 = 0;
                    loop {
                        n = std::hint::black_box(n.wrapping_add(1));
                    }
                }
                "stderr" => {
                    eprintln!("component-probe: first stderr line");
                    eprintln!("component-probe: second stderr line");
                    respond(out, 200, b"ok")
                }
                "stderr-flood" => {
                    // `lines` lines of 1 KiB; `eprintln!` panics if the host refuses a write.
                    let lines: usize = param("lines").and_then(|v| v.parse().ok()).unwrap_or(1024);
                    let line = "x".repeat(1023);
                    for _ in 0..lines {
                        eprintln!("{line}");
                    }
                    respond(out, 200, b"still writing")
                }
                other => respond(out, 400, format!("unknown op {other:?}").as_bytes()),
            }
        }
    }

    /// Sends a response with a body written in one go.
    fn respond(out: ResponseOutparam, status: u16, body: &[u8]) {
        let headers = Fields::new();
        let _ = headers.set("content-type", &[b"text/plain".to_vec()]);
        let response = OutgoingResponse::new(headers);
        let _ = response.set_status_code(status);
        let Ok(outgoing) = response.body() else {
            return;
        };
        ResponseOutparam::set(out, Ok(response));
        if let Ok(mut stream) = outgoing.write() {
            let _ = stream.write_all(body);
            let _ = stream.flush();
        }
        let _ = OutgoingBody::finish(outgoing, None);
    }

    /// Streams the request body back: each read of up to 64 KiB is written before the next.
    fn copy(request: &IncomingRequest, out: ResponseOutparam) {
        let response = OutgoingResponse::new(Fields::new());
        let Ok(outgoing) = response.body() else {
            return;
        };
        ResponseOutparam::set(out, Ok(response));
        if let Ok(incoming) = request.consume() {
            if let (Ok(mut source), Ok(mut sink)) = (incoming.stream(), outgoing.write()) {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match Read::read(&mut source, &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if sink.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = sink.flush();
            }
            let _ = IncomingBody::finish(incoming);
        }
        let _ = OutgoingBody::finish(outgoing, None);
    }

    fn big(out: ResponseOutparam, n: usize) {
        let response = OutgoingResponse::new(Fields::new());
        let Ok(outgoing) = response.body() else {
            return;
        };
        ResponseOutparam::set(out, Ok(response));
        if let Ok(mut stream) = outgoing.write() {
            let chunk = [b'x'; 4096];
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len());
                if stream.write_all(&chunk[..k]).is_err() {
                    break;
                }
                left -= k;
            }
            let _ = stream.flush();
        }
        let _ = OutgoingBody::finish(outgoing, None);
    }

    fn echo(request: &IncomingRequest, path_with_query: &str, query: &str) -> String {
        let method = match request.method() {
            Method::Get => "GET".to_string(),
            Method::Head => "HEAD".to_string(),
            Method::Post => "POST".to_string(),
            Method::Put => "PUT".to_string(),
            Method::Delete => "DELETE".to_string(),
            Method::Connect => "CONNECT".to_string(),
            Method::Options => "OPTIONS".to_string(),
            Method::Trace => "TRACE".to_string(),
            Method::Patch => "PATCH".to_string(),
            Method::Other(m) => m,
        };
        let scheme = match request.scheme() {
            Some(Scheme::Http) => "http".to_string(),
            Some(Scheme::Https) => "https".to_string(),
            Some(Scheme::Other(s)) => s,
            None => String::new(),
        };
        let path = path_with_query.split('?').next().unwrap_or("");
        let mut text = format!(
            "method={method}\nscheme={scheme}\nauthority={}\npath={path}\nquery={query}\n",
            request.authority().unwrap_or_default()
        );
        for (name, value) in request.headers().entries() {
            text.push_str(&format!(
                "header={name}:{}\n",
                String::from_utf8_lossy(&value)
            ));
        }
        text.push_str(&format!(
            "body={}\n",
            String::from_utf8_lossy(&read_body(request))
        ));
        text
    }

    fn read_body(request: &IncomingRequest) -> Vec<u8> {
        let mut bytes = Vec::new();
        if let Ok(body) = request.consume() {
            if let Ok(mut stream) = body.stream() {
                let _ = stream.read_to_end(&mut bytes);
            }
            let _ = IncomingBody::finish(body);
        }
        bytes
    }

    fn fetch(url: &str, headers: &[String], timeout_ms: Option<u64>) -> Result<String, String> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else {
            return Err(format!("error=unsupported URL {url:?}\n"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let fields = Fields::new();
        let mut notes = String::new();
        for h in headers {
            let (name, value) = h.split_once(':').unwrap_or((h.as_str(), ""));
            if let Err(e) = fields.append(name, value.as_bytes()) {
                notes.push_str(&format!("header_error={name}:{e:?}\n"));
            }
        }
        let request = OutgoingRequest::new(fields);
        let _ = request.set_method(&Method::Get);
        let _ = request.set_scheme(Some(&scheme));
        let _ = request.set_authority(Some(authority));
        let _ = request.set_path_with_query(Some(path));
        let options = timeout_ms.map(|ms| {
            let o = RequestOptions::new();
            let ns = ms.saturating_mul(1_000_000);
            let _ = o.set_connect_timeout(Some(ns));
            let _ = o.set_first_byte_timeout(Some(ns));
            let _ = o.set_between_bytes_timeout(Some(ns));
            o
        });
        if let Ok(body) = request.body() {
            let _ = OutgoingBody::finish(body, None);
        }
        let future = outgoing_handler::handle(request, options)
            .map_err(|e| format!("{notes}error={e:?}\n"))?;
        let response = loop {
            match future.get() {
                Some(result) => break result,
                None => future.subscribe().block(),
            }
        };
        let response = match response {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(format!("{notes}error={e:?}\n")),
            Err(()) => return Err(format!("{notes}error=response already taken\n")),
        };
        let status = response.status();
        let mut body = Vec::new();
        let mut body_error = None;
        if let Ok(incoming) = response.consume() {
            if let Ok(mut stream) = incoming.stream() {
                if let Err(e) = stream.read_to_end(&mut body) {
                    body_error = Some(e.to_string());
                }
            }
            let _ = IncomingBody::finish(incoming);
        }
        if let Some(e) = body_error {
            return Err(format!("{notes}status={status}\nerror=body: {e}\n"));
        }
        Ok(format!(
            "{notes}status={status}\nbody={}\n",
            String::from_utf8_lossy(&body)
        ))
    }

    fn parse_query(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|item| {
                let (k, v) = item.split_once('=').unwrap_or((item, ""));
                (decode(k), decode(v))
            })
            .collect()
    }

    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(target_env = "p2")]
use probe::Probe;

#[cfg(target_env = "p2")]
wasip2::http::proxy::export!(Probe);

fn main() {}
