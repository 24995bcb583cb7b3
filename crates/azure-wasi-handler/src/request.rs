//! The incoming request, read from the CGI environment and stdin.

use crate::environment::Environment;
use crate::{Error, Query};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::cell::OnceCell;
use std::io::Read;

/// Content type of URL-encoded forms.
const FORM: &str = "application/x-www-form-urlencoded";

/// An incoming request, the same in both worlds: method, path, decoded query, headers, the
/// module's environment, and a body that is read only when asked for.
///
/// In a `wasm32-wasip1` WAGI module it comes from CGI: method, paths and query from
/// environment variables, headers from `HTTP_*` variables, the body on stdin. In a
/// `wasm32-wasip2` component it comes from wasi:http, the body streamed from the host.
///
/// ```
/// let env = [
///     ("REQUEST_METHOD".to_string(), "POST".to_string()),
///     ("PATH_INFO".to_string(), "/items".to_string()),
///     ("QUERY_STRING".to_string(), "id=7".to_string()),
///     ("HTTP_X_TRACE".to_string(), "abc".to_string()),
/// ];
/// let mut req = azure_wasi_handler::Request::from_parts(env, std::io::Cursor::new(b"{\"n\":1}".to_vec())).unwrap();
/// assert_eq!(req.method(), http::Method::POST);
/// assert_eq!(req.require_query("id").unwrap(), "7");
/// assert_eq!(req.header("x-trace"), Some("abc"));
/// let v: serde_json::Value = req.json().unwrap();
/// assert_eq!(v["n"], 1);
/// ```
pub struct Request {
    /// Upper-cased, checked to be an HTTP token; parsed into [`Method`] when asked for.
    method: String,
    path: String,
    raw_path: String,
    query_string: String,
    query: Query,
    /// Built from `header_source` on first use: a handler that reads no header pays nothing
    /// (size and start-up) for header parsing.
    headers: OnceCell<HeaderMap>,
    header_source: HeaderSource,
    content_type: Option<String>,
    content_length: Option<u64>,
    env: Environment,
    body: BodyState,
}

/// Where the request's headers come from, until they are parsed.
enum HeaderSource {
    /// The `HTTP_*` variables of the CGI environment (plus `CONTENT_TYPE`/`CONTENT_LENGTH`).
    Cgi,
    /// Name/value pairs as a wasi:http host gave them.
    Fields(Vec<(String, Vec<u8>)>),
    /// Already a [`HeaderMap`].
    Parsed,
}

enum BodyState {
    /// A CGI request's stdin, not opened yet (a handler that reads no body carries no stdin
    /// reader code).
    Stdin,
    Unread(Box<dyn Read>),
    Read(Bytes),
}

impl BodyState {
    /// The state with stdin opened; other states unchanged.
    fn opened(self) -> Self {
        match self {
            BodyState::Stdin => BodyState::Unread(Box::new(std::io::stdin())),
            other => other,
        }
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query_string)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// Reads the request of this CGI invocation: the process environment and stdin.
    ///
    /// Non-UTF-8 environment values are decoded lossily instead of panicking.
    ///
    /// ```no_run
    /// let req = azure_wasi_handler::Request::from_env()?;
    /// println!("{} {}", req.method(), req.path());
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::from_cgi(Environment::of_process(), BodyState::Stdin)
    }

    /// Builds a request from a CGI environment and a body reader (what a WAGI host passes; also
    /// handy in tests).
    ///
    /// ```
    /// let req = azure_wasi_handler::Request::from_parts([("REQUEST_METHOD".to_string(), "GET".to_string())], std::io::empty()).unwrap();
    /// assert_eq!(req.path(), "/");
    /// ```
    pub fn from_parts<I, R>(env: I, body: R) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (String, String)>,
        R: Read + 'static,
    {
        Self::from_cgi(
            Environment::from_pairs(env),
            BodyState::Unread(Box::new(body)),
        )
    }

    /// A CGI request from its environment; `body` is stdin or the reader a test passes.
    fn from_cgi(env: Environment, body: BodyState) -> Result<Self, Error> {
        let vars = CgiVars::of(&env);

        let method = match vars.method.unwrap_or("") {
            "" => "GET".to_string(),
            m => checked_method(m)?,
        };
        let path = match vars.path.unwrap_or("") {
            "" => "/".to_string(),
            p => p.to_string(),
        };
        let raw_path = match vars.raw_path.unwrap_or("") {
            "" => path.clone(),
            p => p.to_string(),
        };
        let query_string = vars.query.unwrap_or("").to_string();
        let query = Query::parse(&query_string);
        let content_type = [
            vars.content_type.unwrap_or(""),
            vars.http_content_type.unwrap_or(""),
        ]
        .into_iter()
        .map(str::trim_ascii)
        .find(|v| !v.is_empty())
        .map(str::to_string);
        let content_length = [
            vars.content_length.unwrap_or(""),
            vars.http_content_length.unwrap_or(""),
        ]
        .into_iter()
        .find_map(|v| v.trim_ascii().parse::<u64>().ok());

        Ok(Self {
            method,
            path,
            raw_path,
            query_string,
            query,
            headers: OnceCell::new(),
            header_source: HeaderSource::Cgi,
            content_type,
            content_length,
            env,
            body,
        })
    }

    /// Builds a request from HTTP parts: the method, the path with its query as the client sent
    /// it (still percent-encoded), headers, the module's environment and a body reader. This is
    /// how a wasi:http component's request arrives.
    ///
    /// ```
    /// let req = azure_wasi_handler::Request::from_http_parts(
    ///     http::Method::PUT,
    ///     "/files/a%20b.txt?overwrite=true",
    ///     http::HeaderMap::new(),
    ///     Vec::new(),
    ///     Box::new(std::io::empty()),
    /// );
    /// assert_eq!(req.path(), "/files/a b.txt");
    /// assert_eq!(req.raw_path(), "/files/a%20b.txt");
    /// assert_eq!(req.query("overwrite"), Some("true"));
    /// ```
    pub fn from_http_parts(
        method: Method,
        path_and_query: &str,
        headers: HeaderMap,
        env: impl IntoIterator<Item = (String, String)>,
        body: Box<dyn Read>,
    ) -> Self {
        let text = |name: http::header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = text(http::header::CONTENT_TYPE);
        let content_length = text(http::header::CONTENT_LENGTH);
        let mut request = Self::from_target(
            method.as_str().to_string(),
            path_and_query,
            HeaderSource::Parsed,
            (content_type, content_length),
            Environment::from_pairs(env),
            body,
        );
        request.headers = OnceCell::from(headers);
        request
    }

    /// A wasi:http request: header fields as the host gave them, parsed on first use.
    #[cfg_attr(not(all(target_arch = "wasm32", target_env = "p2")), allow(dead_code))]
    pub(crate) fn from_fields(
        method: String,
        path_and_query: &str,
        fields: Vec<(String, Vec<u8>)>,
        env: Environment,
        body: Box<dyn Read>,
    ) -> Self {
        let text = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| std::str::from_utf8(v).ok())
                .map(str::to_string)
        };
        let content = (text("content-type"), text("content-length"));
        Self::from_target(
            method,
            path_and_query,
            HeaderSource::Fields(fields),
            content,
            env,
            body,
        )
    }

    /// The common part of the wasi:http constructors: splits the request target into path and
    /// query (decoding the path) and reads the content headers.
    fn from_target(
        method: String,
        path_and_query: &str,
        header_source: HeaderSource,
        (content_type, content_length): (Option<String>, Option<String>),
        env: Environment,
        body: Box<dyn Read>,
    ) -> Self {
        let (raw_path, query_string) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, query),
            None => (path_and_query, ""),
        };
        let raw_path = if raw_path.is_empty() { "/" } else { raw_path };
        let path = percent_encoding::percent_decode_str(raw_path)
            .decode_utf8_lossy()
            .into_owned();
        let non_empty = |v: Option<String>| {
            v.map(|v| v.trim_ascii().to_string())
                .filter(|v| !v.is_empty())
        };
        Self {
            method,
            path,
            raw_path: raw_path.to_string(),
            query_string: query_string.to_string(),
            query: Query::parse(query_string),
            headers: OnceCell::new(),
            header_source,
            content_type: non_empty(content_type),
            content_length: non_empty(content_length).and_then(|v| v.parse().ok()),
            env,
            body: BodyState::Unread(body),
        }
    }

    /// The HTTP method.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(cgi(&[("REQUEST_METHOD", "delete")]), std::io::empty())?;
    /// assert_eq!(req.method(), http::Method::DELETE); // upper-cased; GET when unset
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn method(&self) -> Method {
        // `method` was checked to be a token when the request was built, which is all
        // `Method::from_bytes` asks; the fallback is not reachable.
        Method::from_bytes(self.method.as_bytes()).unwrap_or_default()
    }

    /// The decoded path below the route (`PATH_INFO`), `/` when empty.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(cgi(&[("PATH_INFO", "/blobs/a b.txt")]), std::io::empty())?;
    /// assert_eq!(req.path().trim_start_matches('/'), "blobs/a b.txt");
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path as the client sent it, still percent-encoded (`X_RAW_PATH_INFO`).
    ///
    /// ```
    /// let req = azure_wasi_handler::Request::from_http_parts(
    ///     http::Method::GET,
    ///     "/a%2Fb",
    ///     http::HeaderMap::new(),
    ///     Vec::new(),
    ///     Box::new(std::io::empty()),
    /// );
    /// assert_eq!(req.raw_path(), "/a%2Fb"); // tells an encoded `/` apart from a real one
    /// assert_eq!(req.path(), "/a/b");
    /// ```
    pub fn raw_path(&self) -> &str {
        &self.raw_path
    }

    /// The raw query string, without `?`.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(cgi(&[("QUERY_STRING", "q=a%20b&x")]), std::io::empty())?;
    /// assert_eq!(req.query_string(), "q=a%20b&x"); // not decoded
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn query_string(&self) -> &str {
        &self.query_string
    }

    /// The decoded query pairs.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(cgi(&[("QUERY_STRING", "tag=a&tag=b+c")]), std::io::empty())?;
    /// let tags: Vec<&str> = req.query_pairs().get_all("tag").collect();
    /// assert_eq!(tags, ["a", "b c"]);
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn query_pairs(&self) -> &Query {
        &self.query
    }

    /// The first decoded value of query parameter `name`.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(cgi(&[("QUERY_STRING", "page=3&page=4")]), std::io::empty())?;
    /// assert_eq!(req.query("page"), Some("3"));
    /// assert_eq!(req.query("size").unwrap_or("10"), "10");
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name)
    }

    /// The first value of `name`, or [`Error::MissingQuery`] (which [`crate::run`] turns into a
    /// 400 naming the parameter).
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(cgi(&[("QUERY_STRING", "url=https%3A%2F%2Fexample.com")]), std::io::empty())?;
    /// assert_eq!(req.require_query("url")?, "https://example.com");
    /// let err = req.require_query("method").unwrap_err();
    /// assert_eq!(err.status(), 400);
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn require_query(&self, name: &str) -> Result<&str, Error> {
        self.query(name).ok_or_else(|| Error::MissingQuery {
            name: name.to_string(),
        })
    }

    /// Parses query parameter `name` with [`std::str::FromStr`]; `Ok(None)` when absent.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(cgi(&[("QUERY_STRING", "n=42&bad=x")]), std::io::empty())?;
    /// assert_eq!(req.query_as::<u32>("n")?, Some(42));
    /// assert_eq!(req.query_as::<u32>("absent")?, None);
    /// assert_eq!(req.query_as::<u32>("bad").unwrap_err().status(), 400);
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn query_as<T>(&self, name: &str) -> Result<Option<T>, Error>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        self.query(name)
            .map(|v| {
                v.parse::<T>().map_err(|e| Error::InvalidQuery {
                    name: name.to_string(),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// Request headers (from `HTTP_*` variables, plus `content-type`/`content-length`).
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(
    ///     cgi(&[("HTTP_USER_AGENT", "curl/8"), ("CONTENT_LENGTH", "0"), ("SERVER_NAME", "h")]),
    ///     std::io::empty(),
    /// )?;
    /// assert_eq!(req.headers()["user-agent"], "curl/8");
    /// assert!(req.headers().contains_key("content-length"));
    /// assert!(!req.headers().contains_key("server-name")); // only HTTP_* become headers
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        self.headers.get_or_init(|| match &self.header_source {
            HeaderSource::Cgi => cgi_headers(&self.env, &self.content_type, self.content_length),
            HeaderSource::Fields(fields) => field_headers(fields),
            HeaderSource::Parsed => HeaderMap::new(),
        })
    }

    /// One header as text, if present and valid UTF-8.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(cgi(&[("HTTP_X_MS_CLIENT_REQUEST_ID", "r-1")]), std::io::empty())?;
    /// assert_eq!(req.header("x-ms-client-request-id"), Some("r-1"));
    /// assert_eq!(req.header("accept").unwrap_or("*/*"), "*/*");
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The content type: `CONTENT_TYPE`, or `HTTP_CONTENT_TYPE` when the host left it empty.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(
    ///     cgi(&[("CONTENT_TYPE", ""), ("HTTP_CONTENT_TYPE", "application/json; charset=utf-8")]),
    ///     std::io::empty(),
    /// )?;
    /// assert!(req.content_type().is_some_and(|c| c.starts_with("application/json")));
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The announced body length, if any.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(cgi(&[("CONTENT_LENGTH", "12")]), std::io::empty())?;
    /// assert_eq!(req.content_length(), Some(12));
    /// let chunked = Request::from_parts(cgi(&[]), std::io::empty())?;
    /// assert_eq!(chunked.content_length(), None);
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Any CGI environment variable (e.g. `X_FULL_URL`, `SERVER_NAME`, or the module's own).
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let req = Request::from_parts(
    ///     cgi(&[("SERVER_NAME", "localhost"), ("STORAGE_ACCOUNT", "devstoreaccount1")]),
    ///     std::io::empty(),
    /// )?;
    /// assert_eq!(req.env("STORAGE_ACCOUNT"), Some("devstoreaccount1"));
    /// assert_eq!(req.env("SERVER_NAME"), Some("localhost"));
    /// assert_eq!(req.env("COSMOS_KEY"), None);
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.get(name)
    }

    /// The body, read from stdin on first call (at most `CONTENT_LENGTH` bytes if given).
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// // stdin holds more than CONTENT_LENGTH announces: only the announced bytes are read.
    /// let stdin = std::io::Cursor::new(b"hello, world".to_vec());
    /// let mut req = Request::from_parts(cgi(&[("CONTENT_LENGTH", "5")]), stdin)?;
    /// assert_eq!(&req.body()?[..], b"hello");
    /// assert_eq!(&req.body()?[..], b"hello"); // read once, then kept
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn body(&mut self) -> Result<&Bytes, Error> {
        self.body = std::mem::replace(&mut self.body, BodyState::Read(Bytes::new())).opened();
        if let BodyState::Unread(reader) = &mut self.body {
            let mut buf =
                Vec::with_capacity(self.content_length.unwrap_or(0).min(16 << 20) as usize);
            match self.content_length {
                Some(len) => reader.take(len).read_to_end(&mut buf),
                None => reader.read_to_end(&mut buf),
            }
            .map_err(Error::BodyRead)?;
            self.body = BodyState::Read(buf.into());
        }
        static EMPTY: Bytes = Bytes::new();
        match &self.body {
            BodyState::Read(bytes) => Ok(bytes),
            // Not reachable: the body was read just above.
            BodyState::Stdin | BodyState::Unread(_) => Ok(&EMPTY),
        }
    }

    /// Takes the body as a stream, for large uploads that should not be buffered.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let stdin = std::io::Cursor::new(vec![7u8; 100_000]);
    /// let req = Request::from_parts(cgi(&[("CONTENT_LENGTH", "100000")]), stdin)?;
    /// let mut reader = req.into_body_reader();
    /// let mut sink = std::io::sink(); // e.g. a block upload
    /// assert_eq!(std::io::copy(&mut reader, &mut sink)?, 100_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_body_reader(self) -> Box<dyn Read> {
        match self.body.opened() {
            BodyState::Stdin => Box::new(std::io::empty()),
            BodyState::Unread(reader) => match self.content_length {
                Some(len) => Box::new(reader.take(len)),
                None => reader,
            },
            BodyState::Read(bytes) => Box::new(std::io::Cursor::new(bytes)),
        }
    }

    /// The body decoded as JSON; a malformed body is [`Error::InvalidJson`] (400). Feature
    /// `json`, on by default.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Item {
    ///     id: String,
    /// }
    /// let body = std::io::Cursor::new(br#"{"id":"a1"}"#.to_vec());
    /// let mut req = Request::from_parts(cgi(&[("CONTENT_TYPE", "application/json")]), body)?;
    /// let item: Item = req.json()?;
    /// assert_eq!(item.id, "a1");
    ///
    /// let mut bad = Request::from_parts(cgi(&[]), std::io::Cursor::new(b"{oops".to_vec()))?;
    /// assert_eq!(bad.json::<Item>().unwrap_err().status(), 400);
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, Error> {
        let body = self.body()?;
        serde_json::from_slice(body).map_err(|e| Error::InvalidJson {
            reason: e.to_string(),
        })
    }

    /// The body decoded as an `application/x-www-form-urlencoded` form. A different declared
    /// content type is [`Error::UnsupportedMediaType`] (415); no content type is accepted.
    ///
    /// ```
    /// # use azure_wasi_handler::Request;
    /// # fn cgi(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    /// #     pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    /// # }
    /// let body = std::io::Cursor::new(b"name=Ada+L&lang=%F0%9F%A6%80".to_vec());
    /// let env = cgi(&[("CONTENT_TYPE", "application/x-www-form-urlencoded")]);
    /// let mut req = Request::from_parts(env, body)?;
    /// let form = req.form()?;
    /// assert_eq!(form.get("name"), Some("Ada L"));
    /// assert_eq!(form.get("lang"), Some("🦀"));
    ///
    /// let env = cgi(&[("CONTENT_TYPE", "application/json")]);
    /// let mut json = Request::from_parts(env, std::io::Cursor::new(b"{}".to_vec()))?;
    /// assert_eq!(json.form().unwrap_err().status(), 415);
    /// # Ok::<(), azure_wasi_handler::Error>(())
    /// ```
    pub fn form(&mut self) -> Result<Query, Error> {
        if let Some(ct) = &self.content_type {
            let essence = ct.split(';').next().unwrap_or("").trim();
            if !essence.eq_ignore_ascii_case(FORM) {
                return Err(Error::UnsupportedMediaType {
                    expected: FORM,
                    got: ct.chars().take(100).collect(),
                });
            }
        }
        let body = self.body()?;
        Ok(Query::parse(&String::from_utf8_lossy(body)))
    }
}

/// The CGI variables a request is built from, found in one pass over the environment (the
/// first of a name wins, as in [`Request::env`]).
#[derive(Default)]
struct CgiVars<'a> {
    method: Option<&'a str>,
    path: Option<&'a str>,
    raw_path: Option<&'a str>,
    query: Option<&'a str>,
    content_type: Option<&'a str>,
    http_content_type: Option<&'a str>,
    content_length: Option<&'a str>,
    http_content_length: Option<&'a str>,
}

impl<'a> CgiVars<'a> {
    fn of(env: &'a Environment) -> Self {
        let mut vars = Self::default();
        for (name, value) in env.iter() {
            // By length first: most variables have none of these lengths, so they cost one
            // comparison instead of eight calls comparing strings (a size-optimised guest does
            // not turn a `match` on strings into anything better).
            let slot = match (name.len(), name) {
                (9, "PATH_INFO") => &mut vars.path,
                (12, "QUERY_STRING") => &mut vars.query,
                (12, "CONTENT_TYPE") => &mut vars.content_type,
                (14, "REQUEST_METHOD") => &mut vars.method,
                (14, "CONTENT_LENGTH") => &mut vars.content_length,
                (15, "X_RAW_PATH_INFO") => &mut vars.raw_path,
                (17, "HTTP_CONTENT_TYPE") => &mut vars.http_content_type,
                (19, "HTTP_CONTENT_LENGTH") => &mut vars.http_content_length,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        vars
    }
}

/// Upper-cases a CGI `REQUEST_METHOD` and checks it is an HTTP token (RFC 9110 `tchar`s).
pub(crate) fn checked_method(text: &str) -> Result<String, Error> {
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if text.is_empty() || !text.bytes().all(is_tchar) {
        return Err(Error::InvalidMethod {
            method: text.chars().take(32).collect(),
        });
    }
    Ok(text.to_ascii_uppercase())
}

/// Headers of a CGI request: each `HTTP_*` variable (`HTTP_X_MS_DATE` is `x-ms-date`), plus
/// `content-type` and `content-length` from their CGI variables.
fn cgi_headers(
    env: &Environment,
    content_type: &Option<String>,
    content_length: Option<u64>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (key, value) in env.iter() {
        let Some(suffix) = key.strip_prefix("HTTP_") else {
            continue;
        };
        let name = suffix.replace('_', "-").to_ascii_lowercase();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    for (name, value) in [
        (http::header::CONTENT_TYPE, content_type.clone()),
        (
            http::header::CONTENT_LENGTH,
            content_length.map(|n| n.to_string()),
        ),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.entry(name).or_insert(value);
        }
    }
    headers
}

/// Headers of a wasi:http request; a field the `http` crate cannot represent is left out.
fn field_headers(fields: &[(String, Vec<u8>)]) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(fields.len());
    for (name, value) in fields {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn content_type_falls_back_to_http_header_when_empty() {
        let req = Request::from_parts(
            env(&[
                ("CONTENT_TYPE", ""),
                ("HTTP_CONTENT_TYPE", "application/json"),
            ]),
            std::io::empty(),
        )
        .unwrap();
        assert_eq!(req.content_type(), Some("application/json"));
        assert_eq!(req.header("content-type"), Some("application/json"));
    }

    #[test]
    fn paths_default_and_raw_path_is_kept() {
        let req = Request::from_parts(
            env(&[("PATH_INFO", "/a b"), ("X_RAW_PATH_INFO", "/a%20b")]),
            std::io::empty(),
        )
        .unwrap();
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.path(), "/a b");
        assert_eq!(req.raw_path(), "/a%20b");
    }

    #[test]
    fn headers_from_http_vars_and_authorization_style_names() {
        let req = Request::from_parts(
            env(&[
                ("HTTP_X_MS_VERSION", "2021-08-06"),
                ("HTTP_ACCEPT", "*/*"),
                ("SERVER_NAME", "localhost"),
            ]),
            std::io::empty(),
        )
        .unwrap();
        assert_eq!(req.header("x-ms-version"), Some("2021-08-06"));
        assert_eq!(req.headers().len(), 2);
        assert_eq!(req.env("SERVER_NAME"), Some("localhost"));
    }

    #[test]
    fn body_is_lazy_limited_by_content_length_and_cached() {
        let mut req = Request::from_parts(
            env(&[("CONTENT_LENGTH", "3")]),
            Cursor::new(b"abcdef".to_vec()),
        )
        .unwrap();
        assert_eq!(&req.body().unwrap()[..], b"abc");
        assert_eq!(&req.body().unwrap()[..], b"abc");
    }

    #[test]
    fn missing_and_invalid_query_are_typed_errors() {
        let req = Request::from_parts(env(&[("QUERY_STRING", "n=x")]), std::io::empty()).unwrap();
        let missing = req.require_query("url").unwrap_err();
        assert!(matches!(&missing, Error::MissingQuery { name } if name == "url"));
        assert_eq!(missing.status(), 400);
        let invalid = req.query_as::<u32>("n").unwrap_err();
        assert_eq!(invalid.status(), 400);
        assert_eq!(req.query_as::<u32>("absent").unwrap(), None);
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_and_form_decoding() {
        let mut bad = Request::from_parts(Vec::new(), Cursor::new(b"{oops".to_vec())).unwrap();
        let err = bad.json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.status(), 400);

        let mut form = Request::from_parts(
            env(&[(
                "CONTENT_TYPE",
                "application/x-www-form-urlencoded; charset=utf-8",
            )]),
            Cursor::new(b"a=1+2&b=%26".to_vec()),
        )
        .unwrap();
        let q = form.form().unwrap();
        assert_eq!(q.get("a"), Some("1 2"));
        assert_eq!(q.get("b"), Some("&"));

        let mut wrong = Request::from_parts(
            env(&[("CONTENT_TYPE", "application/json")]),
            Cursor::new(b"{}".to_vec()),
        )
        .unwrap();
        assert_eq!(wrong.form().unwrap_err().status(), 415);
    }

    #[test]
    fn invalid_method_is_an_error() {
        let err = Request::from_parts(env(&[("REQUEST_METHOD", "BAD METHOD")]), std::io::empty())
            .unwrap_err();
        assert_eq!(err.status(), 400);
    }
}
