//! Property tests of the CGI response parser: no output panics, every refusal says what was
//! wrong, and generated header blocks give the generated status, headers and body.

use bytes::Bytes;
use proptest::prelude::*;

use super::{parse_cgi_output, MAX_CGI_HEADERS};

/// A refusal is one line about what the module wrote.
fn assert_clear(err: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        err.starts_with("the module") && err.len() > 25 && !err.contains('\n'),
        "unclear reason {:?}",
        err
    );
    Ok(())
}

fn check(out: Vec<u8>) -> Result<(), TestCaseError> {
    if let Err(e) = parse_cgi_output(Bytes::from(out)) {
        assert_clear(&e)?;
    }
    Ok(())
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}".prop_filter(
        "Status, Content-Type and Location are special",
        |n| {
            !["status", "content-type", "location"]
                .iter()
                .any(|s| n.eq_ignore_ascii_case(s))
        },
    )
}

/// A value without surrounding whitespace (the parser trims it).
fn value() -> impl Strategy<Value = String> {
    "([!-~é]([ \t!-~é]{0,20}[!-~é])?)?"
}

fn blank() -> impl Strategy<Value = String> {
    "[ \t]{0,2}"
}

#[derive(Debug, Clone)]
struct Output {
    status: Option<u16>,
    content_type: Option<String>,
    location: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    crlf: bool,
    padding: (String, String, String),
}

impl Output {
    fn lines(&self) -> Vec<String> {
        let (before, after, end) = &self.padding;
        let mut lines: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| format!("{n}{before}:{after}{v}{end}"))
            .collect();
        // Status, Content-Type and Location go anywhere in the block.
        let mut special = Vec::new();
        if let Some(s) = self.status {
            special.push(format!("sTaTuS:{after}{s} Reason Phrase"));
        }
        if let Some(ct) = &self.content_type {
            special.push(format!("Content-Type:{after}{ct}"));
        }
        if let Some(l) = &self.location {
            special.push(format!("location{before}:{l}{end}"));
        }
        for (i, line) in special.into_iter().enumerate() {
            let at = (i * 7 + self.body.len()) % (lines.len() + 1);
            lines.insert(at, line);
        }
        lines
    }

    fn bytes(&self) -> Vec<u8> {
        let nl = if self.crlf { "\r\n" } else { "\n" };
        let mut out = String::new();
        for line in self.lines() {
            out.push_str(&line);
            out.push_str(nl);
        }
        out.push_str(nl);
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

fn output() -> impl Strategy<Value = Output> {
    (
        prop::option::of(200u16..=999),
        prop::option::of(value()),
        prop::option::of(value()),
        prop::collection::vec((name(), value()), 0..12),
        prop::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
        (blank(), blank(), blank()),
    )
        .prop_map(
            |(status, content_type, location, headers, body, crlf, padding)| Output {
                status,
                content_type,
                location,
                headers,
                body,
                crlf,
                padding,
            },
        )
}

/// Snippets that turn a valid output into a nearly valid one.
fn snippet() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(SNIPPETS).prop_map(<[u8]>::to_vec),
        prop::collection::vec(any::<u8>(), 1..4),
    ]
}

const SNIPPETS: &[&[u8]] = &[
    b":",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"\0",
    b"\xff",
    b"\xc3",
    b"Status: 101\n",
    b"Status: 1000\n",
    b"Status:\n",
    b"status: -1\n",
    b"Location:\n",
    b"bad name: x\n",
    b"x: \x7f\n",
    b" : x\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_bytes_never_panic(out in prop::collection::vec(any::<u8>(), 0..200)) {
        check(out)?;
    }

    #[test]
    fn near_headers_never_panic(
        out in prop::collection::vec(
            prop_oneof![any::<u8>(), Just(b':'), Just(b'\n'), Just(b'\r'), Just(b' '), b'a'..=b'z'],
            0..200,
        )
    ) {
        check(out)?;
    }

    #[test]
    fn generated_outputs_give_what_was_generated(o in output()) {
        let got = parse_cgi_output(Bytes::from(o.bytes()));
        if o.status.is_none() && o.content_type.is_none() && o.location.is_none() {
            let err = got.unwrap_err();
            assert_clear(&err)?;
            prop_assert!(err.contains("Content-Type"), "{}", err);
            return Ok(());
        }
        let resp = got.map_err(|e| TestCaseError::fail(format!("{e}: {:?}", o.lines())))?;
        let expected_status = o.status.unwrap_or(if o.location.is_some() && o.content_type.is_none() {
            302
        } else {
            200
        });
        prop_assert_eq!(resp.status().as_u16(), expected_status);
        prop_assert_eq!(resp.body().as_ref(), &o.body[..]);
        let mut expected: Vec<(String, String)> = o.headers.clone();
        expected.extend(o.content_type.iter().map(|v| ("content-type".to_string(), v.clone())));
        expected.extend(o.location.iter().map(|v| ("location".to_string(), v.clone())));
        prop_assert_eq!(resp.headers().len(), expected.len());
        // Every value of every name, in the order written.
        let lines = o.lines();
        for (n, _) in &expected {
            let want: Vec<&str> = lines
                .iter()
                .filter_map(|line| {
                    let (ln, lv) = line.split_once(':')?;
                    ln.trim().eq_ignore_ascii_case(n).then(|| lv.trim())
                })
                .collect();
            let have: Vec<&[u8]> = resp.headers().get_all(n.as_str()).iter().map(|v| v.as_bytes()).collect();
            prop_assert_eq!(have, want.iter().map(|v| v.as_bytes()).collect::<Vec<_>>(), "{}", n);
        }
    }

    #[test]
    fn mutated_outputs_never_panic(
        o in output(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, snippet()), 1..4),
    ) {
        let mut out = o.bytes();
        for (at, kind, snippet) in edits {
            let i = at.index(out.len() + 1);
            let end = (i + snippet.len()).min(out.len());
            match kind {
                0 => {
                    out.splice(i..i, snippet);
                }
                1 => {
                    out.splice(i..end, snippet);
                }
                _ => {
                    out.drain(i..end);
                }
            }
        }
        check(out)?;
    }

    #[test]
    fn bad_status_codes_are_named(code in "[0-9a-z-]{0,5}") {
        prop_assume!(code.parse::<u16>().map_or(true, |c| !(200..=999).contains(&c)));
        let out = format!("Content-Type: text/plain\nStatus: {code}\n\nbody");
        let err = parse_cgi_output(Bytes::from(out)).unwrap_err();
        assert_clear(&err)?;
        prop_assert!(err.contains("Status") && err.contains(&format!("{code:?}")), "{}", err);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn header_counts_are_capped_not_a_panic(
        n in prop_oneof![0usize..1100, 30_000usize..45_000],
        distinct in any::<bool>(),
    ) {
        let mut out = b"Content-Type: text/plain\n".to_vec();
        for i in 0..n {
            if distinct {
                out.extend_from_slice(format!("x-h{i}: v\n").as_bytes());
            } else {
                out.extend_from_slice(b"set-cookie: a=1\n");
            }
        }
        out.extend_from_slice(b"\nbody");
        match parse_cgi_output(Bytes::from(out)) {
            Ok(resp) => {
                prop_assert!(n < MAX_CGI_HEADERS);
                prop_assert_eq!(resp.headers().len(), n + 1);
            }
            Err(e) => {
                assert_clear(&e)?;
                prop_assert!(n >= MAX_CGI_HEADERS);
                let expected = format!("{} header lines", n + 1);
                prop_assert!(e.contains(&expected), "{}", e);
            }
        }
    }
}
