//! A test guest for the harness's CGI handling. `?mode=<name>` picks a behaviour.

use std::io::{Read, Write};

fn main() {
    let query = std::env::var("QUERY_STRING").unwrap_or_default();
    let mode = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("mode="))
        .unwrap_or("env")
        .to_string();
    let mut out = std::io::stdout();
    match mode.as_str() {
        "env" => {
            let mut body = String::new();
            for (k, v) in std::env::vars() {
                body.push_str(&format!("{k}={v}\n"));
            }
            write!(out, "Content-Type: text/plain\n\n{body}").unwrap();
        }
        "args" => {
            let args: Vec<String> = std::env::args().collect();
            write!(out, "Content-Type: text/plain\n\n{}", args.join("\n")).unwrap();
        }
        "status" => {
            write!(
                out,
                "Status: 418 I'm a teapot\nContent-Type: text/plain\nSet-Cookie: a=1\nSet-Cookie: b=2\nX-Probe: yes\n\nteapot"
            )
            .unwrap();
        }
        "location" => write!(out, "Location: /elsewhere\n\n").unwrap(),
        "binary" => {
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input).unwrap();
            out.write_all(b"Content-Type: application/octet-stream\n\n")
                .unwrap();
            out.write_all(&input).unwrap();
        }
        "stderr" => {
            eprintln!("probe-stderr-line");
            write!(out, "Content-Type: text/plain\n\nok").unwrap();
        }
        "stderr-flood" => {
            // `lines` lines of 1 KiB each; `eprintln!` panics if the host refuses a write.
            let lines: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("lines="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(1024);
            let line = "x".repeat(1023);
            for _ in 0..lines {
                eprintln!("{line}");
            }
            write!(out, "Content-Type: text/plain\n\nstill writing").unwrap();
        }
        "trap" => {
            out.write_all(b"Content-Type: text/plain\n\npartial")
                .unwrap();
            out.flush().unwrap();
            std::process::abort();
        }
        "exit0" => {
            write!(out, "Content-Type: text/plain\n\nexited cleanly").unwrap();
            out.flush().unwrap();
            std::process::exit(0);
        }
        "exit3" => {
            write!(out, "Content-Type: text/plain\n\nbad").unwrap();
            out.flush().unwrap();
            std::process::exit(3);
        }
        "noheader" => write!(out, "just some text without headers").unwrap(),
        "nothing" => {}
        "loop" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "membomb" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                let mut chunk = vec![0u8; 16 << 20];
                chunk[0] = 1;
                hoard.push(std::hint::black_box(chunk));
            }
        }
        other => write!(
            out,
            "Status: 400 Bad Request\nContent-Type: text/plain\n\nunknown mode {other}"
        )
        .unwrap(),
    }
    out.flush().unwrap();
}
