//! The smallest handler: answers `hello, <name>` (name from `?name=`, default `world`).

use azure_wasi::{handler, Request};

/// GET /hello?name=you
#[handler]
fn handle(req: Request) -> String {
    format!("hello, {}\n", req.query("name").unwrap_or("world"))
}
