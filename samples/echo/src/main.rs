//! Answers with the request it received, as JSON: method, paths, raw and decoded query,
//! headers (every value), content type, and the body (as text, and parsed when it is JSON).

use serde_json::{json, Map, Value};

/// Any method, any path: the request as JSON.
#[azure_wasi::handler]
fn handle(mut req: azure_wasi::Request) -> azure_wasi::Result<impl azure_wasi::IntoResponse> {
    {
        let query: Vec<Value> = req
            .query_pairs()
            .iter()
            .map(|(k, v)| json!([k, v]))
            .collect();
        let mut headers = Map::new();
        for name in req.headers().keys() {
            let values: Vec<Value> = req
                .headers()
                .get_all(name)
                .iter()
                .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            headers.insert(name.as_str().to_string(), Value::Array(values));
        }
        let method = req.method().to_string();
        let path = req.path().to_string();
        let raw_path = req.raw_path().to_string();
        let query_string = req.query_string().to_string();
        let content_type = req.content_type().map(str::to_string);
        let is_json = content_type
            .as_deref()
            .is_some_and(|ct| ct.split(';').next().unwrap_or("").trim().ends_with("json"));
        let parsed = if is_json {
            Some(req.json::<Value>()?)
        } else {
            None
        };
        let body = String::from_utf8_lossy(req.body()?).into_owned();
        Ok(azure_wasi::Json(json!({
            "method": method,
            "path": path,
            "raw_path": raw_path,
            "query_string": query_string,
            "query": query,
            "headers": headers,
            "content_type": content_type,
            "body": body,
            "json": parsed,
        })))
    }
}
