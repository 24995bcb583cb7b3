//! The CGI environment of one request, as WAGI builds it.

use std::net::SocketAddr;

use percent_encoding::percent_decode_str;

/// What the environment is built from.
///
/// ```
/// let parts = http::Request::get("/hello/x?a=1").body(()).unwrap().into_parts().0;
/// let env = harness::CgiRequest {
///     parts: &parts,
///     body_len: 0,
///     script_name: "/hello",
///     path_info: "/x",
///     matched_route: "/hello/...",
///     peer: "127.0.0.1:5555".parse().unwrap(),
///     local: "127.0.0.1:3000".parse().unwrap(),
/// }
/// .environment();
/// assert!(env.contains(&("QUERY_STRING".into(), "a=1".into())));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CgiRequest<'a> {
    /// Method, URI and headers.
    pub parts: &'a http::request::Parts,
    /// Length of the body (stdin).
    pub body_len: usize,
    /// The route's fixed part.
    pub script_name: &'a str,
    /// The rest of the path, still percent-encoded.
    pub path_info: &'a str,
    /// The route as written in the config.
    pub matched_route: &'a str,
    /// The client's address.
    pub peer: SocketAddr,
    /// The address the request came in on.
    pub local: SocketAddr,
}

impl CgiRequest<'_> {
    /// The CGI variables, then one `HTTP_*` per request header (except `Authorization`, `Proxy` and
    /// `Connection`; repeated headers joined with `, `).
    ///
    /// ```
    /// # let parts = http::Request::get("/").header("x-a", "1").body(()).unwrap().into_parts().0;
    /// # let req = harness::CgiRequest { parts: &parts, body_len: 0, script_name: "/", path_info: "",
    /// #     matched_route: "/", peer: "127.0.0.1:1".parse().unwrap(), local: "127.0.0.1:2".parse().unwrap() };
    /// assert!(req.environment().contains(&("HTTP_X_A".into(), "1".into())));
    /// ```
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut env = Vec::with_capacity(24 + self.parts.headers.keys_len());
        self.for_each_var(|name, value| env.push((name.to_string(), value.to_string())));
        env
    }

    /// Calls `f` with each variable of [`CgiRequest::environment`], in the same order, without
    /// building the list: values are borrowed from the request where they can be, and the rest
    /// are formatted into one scratch buffer.
    ///
    /// ```
    /// # let parts = http::Request::get("/?q=1").body(()).unwrap().into_parts().0;
    /// # let req = harness::CgiRequest { parts: &parts, body_len: 0, script_name: "/", path_info: "",
    /// #     matched_route: "/", peer: "127.0.0.1:1".parse().unwrap(), local: "127.0.0.1:2".parse().unwrap() };
    /// let mut query = None;
    /// req.for_each_var(|name, value| if name == "QUERY_STRING" { query = Some(value.to_string()) });
    /// assert_eq!(query.as_deref(), Some("q=1"));
    /// ```
    pub fn for_each_var(&self, mut f: impl FnMut(&str, &str)) {
        use std::fmt::Write;
        let uri = &self.parts.uri;
        let query = uri.query().unwrap_or("");
        let host_header = self.parts.headers.get(http::header::HOST);
        let mut scratch = String::with_capacity(128);
        let decoded_path_info = percent_decode_str(self.path_info).decode_utf8_lossy();
        let method = self.parts.method.as_str();
        f("REQUEST_METHOD", method);
        f("QUERY_STRING", query);
        f("PATH_INFO", &decoded_path_info);
        f("X_RAW_PATH_INFO", self.path_info);
        f("PATH_TRANSLATED", &decoded_path_info);
        f("SCRIPT_NAME", self.script_name);
        f("X_MATCHED_ROUTE", self.matched_route);
        scratch.push_str("http://");
        match host_header {
            Some(h) => scratch.push_str(&String::from_utf8_lossy(h.as_bytes())),
            None => {
                let _ = write!(scratch, "{}", self.local);
            }
        }
        scratch.push_str(uri.path());
        if !query.is_empty() {
            scratch.push('?');
            scratch.push_str(query);
        }
        f("X_FULL_URL", &scratch);
        let authority = host_header
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<http::uri::Authority>().ok());
        scratch.clear();
        match &authority {
            Some(auth) => {
                f("SERVER_NAME", auth.host());
                push_decimal(&mut scratch, auth.port_u16().unwrap_or(self.local.port()));
            }
            None => {
                push_ip(&mut scratch, self.local.ip());
                f("SERVER_NAME", &scratch);
                scratch.clear();
                push_decimal(&mut scratch, self.local.port());
            }
        }
        f("SERVER_PORT", &scratch);
        f("SERVER_PROTOCOL", protocol(self.parts.version));
        f("SERVER_SOFTWARE", crate::SERVER_SOFTWARE);
        f("GATEWAY_INTERFACE", "CGI/1.1");
        scratch.clear();
        push_decimal(&mut scratch, self.body_len);
        f("CONTENT_LENGTH", &scratch);
        let content_type = self
            .parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()));
        f("CONTENT_TYPE", content_type.as_deref().unwrap_or(""));
        scratch.clear();
        push_ip(&mut scratch, self.peer.ip());
        f("REMOTE_ADDR", &scratch);
        f("REMOTE_HOST", &scratch);
        f("AUTH_TYPE", "");
        f("REMOTE_USER", "");
        let mut name_buf = String::with_capacity(32);
        for name in self.parts.headers.keys() {
            // `Proxy` would become HTTP_PROXY, which HTTP clients in the guest read as their
            // proxy setting (httpoxy): a client must never choose where the guest connects.
            if name == http::header::AUTHORIZATION
                || name == http::header::CONNECTION
                || name.as_str() == "proxy"
            {
                continue;
            }
            scratch.clear();
            for (i, v) in self.parts.headers.get_all(name).iter().enumerate() {
                if i > 0 {
                    scratch.push_str(", ");
                }
                scratch.push_str(&String::from_utf8_lossy(v.as_bytes()));
            }
            name_buf.clear();
            name_buf.push_str("HTTP_");
            name_buf.extend(name.as_str().chars().map(|c| match c {
                '-' => '_',
                c => c.to_ascii_uppercase(),
            }));
            f(&name_buf, &scratch);
        }
    }
}

/// `SERVER_PROTOCOL` for `version`, as `http::Version`'s `Debug` writes it.
fn protocol(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// Appends `n` in decimal, as `write!(s, "{n}")` does without the formatting machinery (several
/// variables of every request are numbers).
fn push_decimal(s: &mut String, n: impl itoa::Integer) {
    s.push_str(itoa::Buffer::new().format(n));
}

/// Appends `ip` as its `Display` writes it (an IPv4 address without the formatting machinery).
fn push_ip(s: &mut String, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                push_decimal(s, octet);
            }
        }
        std::net::IpAddr::V6(v6) => {
            use std::fmt::Write;
            let _ = write!(s, "{v6}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(req: http::Request<()>, script: &str, info: &str) -> Vec<(String, String)> {
        let parts = req.into_parts().0;
        CgiRequest {
            parts: &parts,
            body_len: 5,
            script_name: script,
            path_info: info,
            matched_route: "/r/...",
            peer: "10.1.2.3:4000".parse().unwrap(),
            local: "127.0.0.1:3000".parse().unwrap(),
        }
        .environment()
    }

    fn get<'a>(env: &'a [(String, String)], k: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn numbers_addresses_and_versions_are_written_as_display_and_debug_write_them() {
        for n in [0u64, 7, 10, 65_535, 1_000_000, u64::MAX] {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.1.2.3",
            "255.255.255.255",
            "::1",
            "2001:db8::8",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let mut s = String::new();
            push_ip(&mut s, ip);
            assert_eq!(s, ip.to_string());
        }
        for v in [
            http::Version::HTTP_09,
            http::Version::HTTP_10,
            http::Version::HTTP_11,
            http::Version::HTTP_2,
            http::Version::HTTP_3,
        ] {
            assert_eq!(protocol(v), format!("{v:?}"));
        }
    }

    #[test]
    fn variables_follow_wagi() {
        let req = http::Request::post("/r/a%20b?x=1&y=2")
            .header("host", "example.test:8080")
            .header("content-type", "text/plain")
            .header("authorization", "secret")
            .header("connection", "close")
            .header("proxy", "http://attacker.example:8080")
            .header("x-multi", "1")
            .header("x-multi", "2")
            .body(())
            .unwrap();
        let env = env_of(req, "/r", "/a%20b");
        assert_eq!(get(&env, "PATH_INFO"), Some("/a b"));
        assert_eq!(get(&env, "X_RAW_PATH_INFO"), Some("/a%20b"));
        assert_eq!(get(&env, "QUERY_STRING"), Some("x=1&y=2"));
        assert_eq!(get(&env, "SERVER_NAME"), Some("example.test"));
        assert_eq!(get(&env, "SERVER_PORT"), Some("8080"));
        assert_eq!(get(&env, "CONTENT_TYPE"), Some("text/plain"));
        assert_eq!(get(&env, "CONTENT_LENGTH"), Some("5"));
        assert_eq!(get(&env, "REMOTE_ADDR"), Some("10.1.2.3"));
        assert_eq!(
            get(&env, "X_FULL_URL"),
            Some("http://example.test:8080/r/a%20b?x=1&y=2")
        );
        assert_eq!(get(&env, "HTTP_X_MULTI"), Some("1, 2"));
        assert_eq!(get(&env, "HTTP_AUTHORIZATION"), None);
        assert_eq!(get(&env, "HTTP_CONNECTION"), None);
        assert_eq!(get(&env, "HTTP_PROXY"), None, "httpoxy");
        assert_eq!(get(&env, "SERVER_PROTOCOL"), Some("HTTP/1.1"));
    }
}
