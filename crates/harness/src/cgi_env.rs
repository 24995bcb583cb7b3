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
        let uri = &self.parts.uri;
        let query = uri.query().unwrap_or("");
        let (server_name, server_port) = self.server_name_and_port();
        let host_for_url = match self.parts.headers.get(http::header::HOST) {
            Some(h) => String::from_utf8_lossy(h.as_bytes()).into_owned(),
            None => self.local.to_string(),
        };
        let full_url = format!(
            "http://{host_for_url}{}{}{query}",
            uri.path(),
            if query.is_empty() { "" } else { "?" }
        );
        let decoded_path_info = percent_decode_str(self.path_info)
            .decode_utf8_lossy()
            .into_owned();
        let content_type = self
            .parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let peer_ip = self.peer.ip().to_string();
        let mut env: Vec<(String, String)> = vec![
            ("REQUEST_METHOD".into(), self.parts.method.to_string()),
            ("QUERY_STRING".into(), query.into()),
            ("PATH_INFO".into(), decoded_path_info.clone()),
            ("X_RAW_PATH_INFO".into(), self.path_info.into()),
            ("PATH_TRANSLATED".into(), decoded_path_info),
            ("SCRIPT_NAME".into(), self.script_name.into()),
            ("X_MATCHED_ROUTE".into(), self.matched_route.into()),
            ("X_FULL_URL".into(), full_url),
            ("SERVER_NAME".into(), server_name),
            ("SERVER_PORT".into(), server_port),
            (
                "SERVER_PROTOCOL".into(),
                format!("{:?}", self.parts.version),
            ),
            ("SERVER_SOFTWARE".into(), crate::SERVER_SOFTWARE.into()),
            ("GATEWAY_INTERFACE".into(), "CGI/1.1".into()),
            ("CONTENT_LENGTH".into(), self.body_len.to_string()),
            ("CONTENT_TYPE".into(), content_type),
            ("REMOTE_ADDR".into(), peer_ip.clone()),
            ("REMOTE_HOST".into(), peer_ip),
            ("AUTH_TYPE".into(), String::new()),
            ("REMOTE_USER".into(), String::new()),
        ];
        for name in self.parts.headers.keys() {
            // `Proxy` would become HTTP_PROXY, which HTTP clients in the guest read as their
            // proxy setting (httpoxy): a client must never choose where the guest connects.
            if name == http::header::AUTHORIZATION
                || name == http::header::CONNECTION
                || name.as_str() == "proxy"
            {
                continue;
            }
            let value = self
                .parts
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(", ");
            let var = format!(
                "HTTP_{}",
                name.as_str().to_ascii_uppercase().replace('-', "_")
            );
            env.push((var, value));
        }
        env
    }

    fn server_name_and_port(&self) -> (String, String) {
        let host = self
            .parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<http::uri::Authority>().ok());
        match host {
            Some(auth) => (
                auth.host().to_string(),
                auth.port_u16()
                    .unwrap_or_else(|| self.local.port())
                    .to_string(),
            ),
            None => (self.local.ip().to_string(), self.local.port().to_string()),
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
