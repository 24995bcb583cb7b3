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

use azure_wasi::cosmos::{ContainerClient, CosmosClient, Query};
use azure_wasi::Response;
use azure_wasi::{Method, StatusCode};
use serde_json::{json, Value};

#[azure_wasi::handler]
async fn handle(mut req: azure_wasi::Request) -> azure_wasi::Result<Response> {
    let collection = req.query("collection").unwrap_or("items").to_string();
    let id = req.query("id").map(str::to_string);
    let method = req.method();
    let filter = match (req.query("where"), req.query("equals")) {
        (Some(field), Some(value)) => Some((check_field(field)?, value.to_string())),
        (Some(_), None) | (None, Some(_)) => {
            return Err(bad(
                "use `where` and `equals` together: ?where=<field>&equals=<value>",
            ))
        }
        (None, None) => None,
    };
    let body = if method == Method::POST || method == Method::PUT {
        let doc: Value = req.json()?;
        Some(doc)
    } else {
        None
    };
    async move {
        let container = open(&collection).await?;
        match (method, id, body) {
            (m, _, Some(doc)) if m == Method::POST || m == Method::PUT => {
                write(&container, doc).await
            }
            (Method::GET, Some(id), _) => read(&container, &id).await,
            (Method::GET, None, _) => list(&container, filter).await,
            (Method::DELETE, Some(id), _) => {
                container
                    .delete_item(id.as_str(), &id, None)
                    .await
                    .map_err(to_wagi)?;
                Ok(Response::json(&json!({ "deleted": id }))?)
            }
            (Method::DELETE, None, _) => Err(bad("DELETE needs ?id=<document id>")),
            _ => Err(azure_wasi::Error::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "use POST (write), GET (read/list/query) or DELETE",
            )),
        }
    }
    .await
}

fn bad(message: &str) -> azure_wasi::Error {
    azure_wasi::Error::new(StatusCode::BAD_REQUEST, message)
}

/// Field names go into the query text, so only plain identifiers are accepted.
fn check_field(field: &str) -> Result<String, azure_wasi::Error> {
    let mut chars = field.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(field.to_string())
    } else {
        Err(bad(
            "`where` must be a plain field name (letters, digits, _)",
        ))
    }
}

async fn open(collection: &str) -> azure_wasi::Result<ContainerClient> {
    let database = std::env::var("COSMOS_DATABASE").unwrap_or_else(|_| "wagi".to_string());
    let client = CosmosClient::from_env(azure_wasi::azure::client_options()).map_err(to_wagi)?;
    let db = client
        .create_database_if_not_exists(&database)
        .await
        .map_err(to_wagi)?;
    db.create_container_if_not_exists(collection, "/id")
        .await
        .map_err(to_wagi)
}

async fn write(container: &ContainerClient, doc: Value) -> azure_wasi::Result<Response> {
    let id = match doc.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(bad("the JSON body needs a non-empty string \"id\" field")),
    };
    let written = container
        .upsert_item(id.as_str(), &doc, None)
        .await
        .map_err(to_wagi)?;
    let status = if written.status == 201 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let stored: Value = written.into_item().unwrap_or(doc);
    Ok(Response::json(&stored)?.with_status(status))
}

async fn read(container: &ContainerClient, id: &str) -> azure_wasi::Result<Response> {
    match container.read_item(id, id).await {
        Ok(r) => {
            let etag = r.etag.clone();
            let doc: Value = r.into_item().map_err(to_wagi)?;
            let mut response = Response::json(&doc)?;
            if let Some(etag) = etag {
                response = response.with_header("etag", etag);
            }
            Ok(response)
        }
        Err(e) if e.is_not_found() => Err(azure_wasi::Error::new(
            StatusCode::NOT_FOUND,
            format!(
                "no document with id {id:?} in collection {:?}: POST it first",
                container.id()
            ),
        )),
        Err(e) => Err(to_wagi(e)),
    }
}

async fn list(
    container: &ContainerClient,
    filter: Option<(String, String)>,
) -> azure_wasi::Result<Response> {
    let docs: Vec<Value> = match filter {
        Some((field, value)) => {
            let query = Query::from(format!("SELECT * FROM c WHERE c.{field} = @value"))
                .with_parameter("@value", &value)
                .map_err(to_wagi)?;
            container.query_items(query, None).collect_all().await
        }
        None => container.read_all_items(None).collect_all().await,
    }
    .map_err(to_wagi)?;
    Ok(Response::json(
        &json!({ "count": docs.len(), "documents": docs }),
    )?)
}

/// Maps a Cosmos error to a status and a message that says what to do.
fn to_wagi(e: azure_wasi::cosmos::Error) -> azure_wasi::Error {
    use azure_wasi::cosmos::Error as E;
    let status = match &e {
        E::InvalidId { .. } | E::Json(_) => StatusCode::BAD_REQUEST,
        E::Service { status: 409, .. } => StatusCode::CONFLICT,
        E::Service { status: 412, .. } => StatusCode::PRECONDITION_FAILED,
        E::Service { status: 404, .. } => StatusCode::NOT_FOUND,
        E::Service { .. } | E::Transport(_) => StatusCode::BAD_GATEWAY,
        E::MissingSetting { .. } | E::InvalidKey | E::InvalidEndpoint { .. } => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    eprintln!("cosmos: {e}");
    azure_wasi::Error::new(status, e.to_string())
}
