//! Test support: a signed HTTP client for the emulator.
#![allow(dead_code)]

use std::time::SystemTime;

use bytes::Bytes;
use emulator::cosmos::{auth, CosmosConfig, CosmosEmulator, EMULATOR_MASTER_KEY};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// A response with its body parsed as JSON (Null when empty).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub struct Cosmos {
    pub emu: Emu,
    pub client: HttpClient,
    pub key: String,
}

/// The emulator under test: in this process, or another process at a URL.
pub enum Emu {
    Local(CosmosEmulator),
    Remote(String),
}

impl Emu {
    pub fn url(&self) -> String {
        match self {
            Emu::Local(e) => e.url(),
            Emu::Remote(u) => u.clone(),
        }
    }

    pub async fn shutdown(self) {
        if let Emu::Local(e) = self {
            e.shutdown().await;
        }
    }
}

/// A client for an emulator running in another process.
pub async fn remote(url: &str) -> Cosmos {
    Cosmos {
        emu: Emu::Remote(url.to_string()),
        client: Client::builder(TokioExecutor::new()).build_http(),
        key: EMULATOR_MASTER_KEY.to_string(),
    }
}

pub async fn start() -> Cosmos {
    start_with(CosmosConfig::default()).await
}

pub async fn start_with(config: CosmosConfig) -> Cosmos {
    let emu = CosmosEmulator::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("emulator starts");
    Cosmos {
        emu: Emu::Local(emu),
        client: Client::builder(TokioExecutor::new()).build_http(),
        key: EMULATOR_MASTER_KEY.to_string(),
    }
}

/// Resource type and link a path signs, computed independently of the emulator's router.
pub fn type_and_link(path: &str) -> (String, String) {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let n = segs.len();
    if n == 0 {
        (String::new(), String::new())
    } else if n % 2 == 1 {
        (segs[n - 1].clone(), segs[..n - 1].join("/"))
    } else {
        (segs[n - 2].clone(), segs.join("/"))
    }
}

pub fn now_date() -> String {
    httpdate::fmt_http_date(SystemTime::now())
}

/// Builder for one request.
pub struct Req<'a> {
    cosmos: &'a Cosmos,
    method: http::Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    auth: Auth,
}

pub enum Auth {
    Signed { date: String, key: Option<String> },
    Raw(Option<String>, Option<String>),
}

impl Cosmos {
    pub fn req(&self, method: &str, path: &str) -> Req<'_> {
        Req {
            cosmos: self,
            method: method.parse().expect("method"),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
            auth: Auth::Signed {
                date: now_date(),
                key: None,
            },
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req("GET", path).send().await
    }

    pub async fn create_db(&self, id: &str) -> Resp {
        self.req("POST", "/dbs")
            .json(&serde_json::json!({"id": id}))
            .send()
            .await
    }

    pub async fn create_coll(&self, db: &str, id: &str, pk: &str) -> Resp {
        self.req("POST", &format!("/dbs/{db}/colls"))
            .json(&serde_json::json!({"id": id, "partitionKey": {"paths": [pk], "kind": "Hash"}}))
            .send()
            .await
    }

    /// Creates database `db` with container `c` partitioned on `/pk`.
    pub async fn setup(&self, db: &str, c: &str) {
        assert_eq!(self.create_db(db).await.status, 201);
        assert_eq!(self.create_coll(db, c, "/pk").await.status, 201);
    }

    pub async fn upsert(&self, db: &str, c: &str, doc: Value) -> Resp {
        let pk = serde_json::to_string(&[doc["pk"].clone()]).expect("pk");
        self.req("POST", &format!("/dbs/{db}/colls/{c}/docs"))
            .header("x-ms-documentdb-is-upsert", "True")
            .header("x-ms-documentdb-partitionkey", &pk)
            .json(&doc)
            .send()
            .await
    }

    /// Runs a query and returns every page's documents and headers.
    pub async fn query_pages(
        &self,
        db: &str,
        c: &str,
        query: Value,
        extra: &[(&str, &str)],
    ) -> Vec<Resp> {
        let mut pages = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let mut r = self.query_req(db, c, query.clone());
            for (k, v) in extra {
                r = r.header(k, v);
            }
            if let Some(t) = &continuation {
                r = r.header("x-ms-continuation", t);
            }
            let resp = r.send().await;
            assert_eq!(resp.status, 200, "query failed: {:?}", resp.body);
            continuation = resp.header("x-ms-continuation").map(str::to_string);
            pages.push(resp);
            if continuation.is_none() {
                return pages;
            }
            assert!(pages.len() < 1000, "paging does not end");
        }
    }

    pub fn query_req(&self, db: &str, c: &str, query: Value) -> Req<'_> {
        self.req("POST", &format!("/dbs/{db}/colls/{c}/docs"))
            .header("x-ms-documentdb-isquery", "True")
            .header("content-type", "application/query+json")
            .body(serde_json::to_vec(&query).expect("json"))
    }

    /// All documents of a query (cross-partition enabled).
    pub async fn query_all(&self, db: &str, c: &str, query: Value) -> Vec<Value> {
        self.query_pages(
            db,
            c,
            query,
            &[("x-ms-documentdb-query-enablecrosspartition", "True")],
        )
        .await
        .into_iter()
        .flat_map(|p| p.body["Documents"].as_array().cloned().unwrap_or_default())
        .collect()
    }
}

impl Req<'_> {
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn json(self, v: &Value) -> Self {
        self.body(serde_json::to_vec(v).expect("json"))
    }

    pub fn body(mut self, b: Vec<u8>) -> Self {
        self.body = Some(b);
        self
    }

    pub fn date(mut self, date: &str) -> Self {
        self.auth = Auth::Signed {
            date: date.to_string(),
            key: None,
        };
        self
    }

    pub fn key(mut self, key: &str) -> Self {
        if let Auth::Signed { date, .. } = self.auth {
            self.auth = Auth::Signed {
                date,
                key: Some(key.to_string()),
            };
        }
        self
    }

    pub fn raw_auth(mut self, authorization: Option<&str>, date: Option<&str>) -> Self {
        self.auth = Auth::Raw(authorization.map(str::to_string), date.map(str::to_string));
        self
    }

    pub async fn send(self) -> Resp {
        let uri = format!("{}{}", self.cosmos.emu.url(), self.path);
        let mut b = http::Request::builder()
            .method(self.method.clone())
            .uri(uri);
        match &self.auth {
            Auth::Signed { date, key } => {
                let (ty, link) = type_and_link(&self.path);
                let key = key.as_deref().unwrap_or(&self.cosmos.key);
                let token = auth::authorization_header(key, self.method.as_str(), &ty, &link, date)
                    .expect("sign");
                b = b.header("authorization", token).header("x-ms-date", date);
            }
            Auth::Raw(a, d) => {
                if let Some(a) = a {
                    b = b.header("authorization", a);
                }
                if let Some(d) = d {
                    b = b.header("x-ms-date", d);
                }
            }
        }
        b = b.header("x-ms-version", "2020-07-15");
        if self.body.is_some()
            && !self
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            b = b.header("content-type", "application/json");
        }
        for (k, v) in &self.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let req = b
            .body(Full::new(Bytes::from(self.body.unwrap_or_default())))
            .expect("request");
        let resp = self.cosmos.client.request(req).await.expect("http");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON response body")
        };
        Resp {
            status,
            headers,
            body,
        }
    }
}
