//! Documents in a Cosmos DB collection, created on first use (partition key `/id`).
//!
//! - `POST   /cosmos?collection=<c>`                 body: a JSON object with an `"id"`; upserts it
//! - `GET    /cosmos?collection=<c>&id=<id>`         reads one document
//! - `GET    /cosmos?collection=<c>`                 lists every document
//! - `GET    /cosmos?collection=<c>&where=<field>&equals=<value>`  parameterised query
//! - `DELETE /cosmos?collection=<c>&id=<id>`         deletes one document
//!
//! `collection` defaults to `items`; the database is `COSMOS_DATABASE` (default `wagi`).
//! Settings: `COSMOS_ENDPOINT` (or `COSMOS_ACCOUNT`) and `COSMOS_MASTER_KEY`.

use azure_wasi::cosmos::{ContainerClient, Cosmos, Query};
use azure_wasi::{Error, IntoResponse, Method, Request, Response, Result};
use serde_json::{json, Value};

#[azure_wasi::handler]
async fn handle(mut req: Request) -> Result<Response> {
    let collection = req.query("collection").unwrap_or("items").to_string();
    let id = req.query("id").map(str::to_string);
    let filter = filter(&req)?;
    let method = req.method();
    let body: Option<Value> = match method {
        Method::POST | Method::PUT => Some(req.json()?),
        _ => None,
    };
    let container = open(&collection).await?;
    match (method, id, body) {
        (_, _, Some(doc)) => {
            let id = doc_id(&doc)?;
            Ok(container.upsert_item(id, &doc, None).await?.into_response())
        }
        (Method::GET, Some(id), _) => Ok(container
            .read_item(id.as_str(), &id, None)
            .await?
            .into_response()),
        (Method::GET, None, _) => list(&container, filter).await,
        (Method::DELETE, Some(id), _) => {
            container.delete_item(id.as_str(), &id, None).await?;
            Ok(Response::json(&json!({ "deleted": id }))?)
        }
        (Method::DELETE, None, _) => Err(Error::bad_request("DELETE needs ?id=<document id>")),
        _ => Err(Error::method_not_allowed(&[
            Method::POST,
            Method::GET,
            Method::DELETE,
        ])),
    }
}

/// `?where=<field>&equals=<value>`. Field names go into the query text, so only plain
/// identifiers are accepted.
fn filter(req: &Request) -> Result<Option<(String, String)>> {
    match (req.query("where"), req.query("equals")) {
        (Some(field), Some(value)) => {
            let plain = field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !plain || field.is_empty() || field.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(Error::bad_request(
                    "`where` must be a plain field name (letters, digits, _)",
                ));
            }
            Ok(Some((field.to_string(), value.to_string())))
        }
        (None, None) => Ok(None),
        _ => Err(Error::bad_request(
            "use `where` and `equals` together: ?where=<field>&equals=<value>",
        )),
    }
}

fn doc_id(doc: &Value) -> Result<&str> {
    match doc.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id),
        _ => Err(Error::bad_request(
            "the JSON body needs a non-empty string \"id\" field",
        )),
    }
}

async fn open(collection: &str) -> Result<ContainerClient> {
    let database = std::env::var("COSMOS_DATABASE").unwrap_or_else(|_| "wagi".to_string());
    let db = Cosmos::from_env()?
        .create_database_if_not_exists(&database, None)
        .await?;
    Ok(db
        .create_container_if_not_exists(collection, "/id", None)
        .await?)
}

async fn list(container: &ContainerClient, filter: Option<(String, String)>) -> Result<Response> {
    let docs: Vec<Value> = match filter {
        Some((field, value)) => {
            let query = Query::from(format!("SELECT * FROM c WHERE c.{field} = @value"))
                .with_parameter("@value", &value)?;
            container.query_items(query, None).collect_all().await?
        }
        None => container.read_all_items(None).collect_all().await?,
    };
    Ok(Response::json(
        &json!({ "count": docs.len(), "documents": docs }),
    )?)
}
