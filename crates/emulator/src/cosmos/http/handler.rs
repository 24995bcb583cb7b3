//! Request dispatch: authentication, then the resource operation.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use http::request::Parts;
use http::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::respond::Reply;
use super::route::{Route, Target};
use crate::cosmos::api_error::ApiError;
use crate::cosmos::auth::{string_to_sign, MasterKeys, TokenProblem};
use crate::cosmos::engine::{etag_matches, Container, Engine};
use crate::cosmos::partition::parse_header;
use crate::cosmos::query;

/// Largest accepted item, as in Azure.
const MAX_DOC_BYTES: usize = 2 * 1024 * 1024;
/// Page size when the client sends no `x-ms-max-item-count`.
const DEFAULT_PAGE: usize = 100;

/// Everything a request handler needs.
pub(crate) struct State {
    pub engine: Engine,
    pub keys: MasterKeys,
    pub skew: Duration,
    pub account: String,
    pub url: String,
    pub limits: crate::limits::ServerLimits,
    /// The issuer whose `type=aad` tokens are accepted (`None`: they are refused).
    pub trust: Option<crate::identity::TrustedIssuer>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_true(parts: &Parts, name: &str) -> bool {
    header(parts, name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Handles one authenticated request (see [`authenticate`]) whose body has been read.
pub(crate) fn handle(state: &State, parts: &Parts, target: &Target, body: &[u8]) -> Reply {
    match dispatch(state, parts, target, body) {
        Ok(r) => r,
        Err(e) => e.into(),
    }
}

/// Whether the request's operation reads a body (only POST and PUT on a resource path do), so
/// that nothing is read for requests refused or answered from the head alone.
pub(crate) fn takes_body(parts: &Parts, target: &Target) -> bool {
    matches!(parts.method, Method::POST | Method::PUT)
        && !matches!(target.route, Route::Invalid | Route::Unsupported(_))
}

/// Checks the master-key token and the date: everything a signature covers is in the head, so
/// this runs before the body is read.
pub(crate) fn authenticate(state: &State, parts: &Parts, target: &Target) -> Result<(), ApiError> {
    let unauthorized = |m: String| ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", m);
    let Some(auth) = header(parts, "authorization") else {
        return Err(unauthorized(
            "Required Header authorization is missing. Ensure a valid Authorization token is defined for the request.".into(),
        ));
    };
    let Some(date) = header(parts, "x-ms-date").or_else(|| header(parts, "date")) else {
        return Err(unauthorized(
            "Required Header x-ms-date is missing. Send the current time in RFC 1123 format (for example 'Tue, 01 Nov 2022 00:00:00 GMT').".into(),
        ));
    };
    let method = parts.method.as_str();
    if let Some(token) = aad_token(auth) {
        authenticate_aad(state, parts, &token)?;
        return check_date(state, date);
    }
    let links = [target.link.as_str(), target.raw_link.as_str()];
    match state.keys.verify(auth, method, &target.resource_type, &links, date) {
        Ok(()) => {}
        Err(TokenProblem::BadSignature) => {
            let payload = string_to_sign(method, &target.resource_type, &target.link, date);
            return Err(unauthorized(format!(
                "The input authorization token can't serve the request. The wrong key is being used or the expected payload is not built as per the protocol. For more info: https://aka.ms/cosmosdb-tsg-mac-signature. Server used the following payload to sign: '{}'",
                payload.replace('\n', "\\n")
            )));
        }
        Err(TokenProblem::ResourceToken) => {
            return Err(unauthorized(
                "Resource tokens are not supported by this emulator; sign requests with the master key.".into(),
            ))
        }
        Err(TokenProblem::Malformed(why)) => {
            return Err(unauthorized(format!(
                "The authorization token is malformed: {why}. Expected the URL-encoded form of type=master&ver=1.0&sig=<signature>."
            )))
        }
    }
    check_date(state, date)
}

/// The token of a URL-encoded `type=aad&ver=1.0&sig=<token>` header (`None` for other types).
fn aad_token(header: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(header.trim())
        .decode_utf8()
        .ok()?;
    let mut is_aad = false;
    let mut sig = None;
    for part in decoded.split('&') {
        match part.split_once('=') {
            Some(("type", t)) => is_aad = t.trim().eq_ignore_ascii_case("aad"),
            Some(("sig", s)) => sig = Some(s.trim().to_string()),
            _ => {}
        }
    }
    if is_aad {
        Some(sig.unwrap_or_default())
    } else {
        None
    }
}

/// Whether the request only reads: GET, HEAD, and queries (`POST` with the query content type).
fn reads_only(parts: &Parts) -> bool {
    match parts.method {
        Method::GET | Method::HEAD => true,
        Method::POST => {
            header_true(parts, "x-ms-documentdb-isquery")
                || header(parts, "content-type")
                    .is_some_and(|c| c.starts_with("application/query+json"))
        }
        _ => false,
    }
}

/// Checks an Entra ID token (audience `https://cosmos.azure.com`): 401 `Unauthorized` for a
/// token the issuer did not sign or that expired or names another audience, 403 `Forbidden`
/// when its roles do not allow the operation (as Azure's data-plane RBAC answers).
fn authenticate_aad(state: &State, parts: &Parts, token: &str) -> Result<(), ApiError> {
    use crate::identity::{roles, COSMOS_AUDIENCE};
    let unauthorized = |m: String| ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", m);
    let Some(trust) = &state.trust else {
        return Err(unauthorized(
            "AAD tokens are not accepted: this emulator trusts no issuer; configure [emulators.identity] or sign with the master key.".into(),
        ));
    };
    let claims = trust
        .verify(token, COSMOS_AUDIENCE, crate::util::now_unix())
        .map_err(|why| unauthorized(format!("Failed to validate the AAD token: {why}")))?;
    let (wanted, action) = if reads_only(parts) {
        (
            roles::COSMOS_READ,
            "Microsoft.DocumentDB/databaseAccounts/readMetadata",
        )
    } else {
        (
            roles::COSMOS_WRITE,
            "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/*",
        )
    };
    if claims.has_any_role(wanted) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "Forbidden",
        format!(
            "Request blocked by Auth {} : Request is blocked because principal [{}] does not have required RBAC permissions to perform action [{action}] on any scope: it needs one of the roles {wanted:?}.",
            state.account, claims.sub
        ),
    ))
}

/// The `x-ms-date` must lie within the allowed skew of the clock (403 otherwise).
fn check_date(state: &State, date: &str) -> Result<(), ApiError> {
    let unauthorized = |m: String| ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", m);
    let when = httpdate::parse_http_date(date).map_err(|_| {
        unauthorized(format!(
            "The input date header is invalid format ('{date}'). Please pass in RFC 1123 style date format."
        ))
    })?;
    let now = SystemTime::now();
    let too_old = now.duration_since(when).is_ok_and(|d| d > state.skew);
    let too_new = when.duration_since(now).is_ok_and(|d| d > state.skew);
    if too_old || too_new {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "The authorization token is not valid at the current time. Please create another token and retry (token time: {date}, current server time: {}, allowed skew: {} seconds).",
                httpdate::fmt_http_date(now),
                state.skew.as_secs()
            ),
        ));
    }
    Ok(())
}

fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.len() > MAX_DOC_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "Request size is too large; items are limited to 2 MB.",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))
}

fn pk_header(parts: &Parts) -> Result<Option<Vec<Value>>, ApiError> {
    header(parts, "x-ms-documentdb-partitionkey")
        .map(parse_header)
        .transpose()
}

fn method_not_allowed(parts: &Parts, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("{} is not allowed on {what}.", parts.method),
    )
}

fn feed(key: &str, rid: &str, items: Vec<Value>) -> Reply {
    let n = items.len();
    Reply::json(
        StatusCode::OK,
        json!({"_rid": rid, key: items, "_count": n}),
    )
    .header("x-ms-item-count", n.to_string())
}

fn dispatch(state: &State, parts: &Parts, target: &Target, body: &[u8]) -> Result<Reply, ApiError> {
    let e = &state.engine;
    let m = &parts.method;
    match &target.route {
        Route::Account => {
            if m != Method::GET {
                return Err(method_not_allowed(parts, "the database account"));
            }
            Ok(account(state, parts))
        }
        Route::Databases => match *m {
            Method::GET => Ok(feed("Databases", "", e.list_databases()?)),
            Method::POST => {
                let w = e.create_database(json_body(body)?)?;
                Ok(Reply::resource(StatusCode::CREATED, w.resource).session(w.lsn))
            }
            _ => Err(method_not_allowed(parts, "databases")),
        },
        Route::Database(db) => match *m {
            Method::GET => Ok(Reply::resource(StatusCode::OK, e.get_database(db)?)),
            Method::DELETE => Ok(Reply::empty(StatusCode::NO_CONTENT).session(e.delete_database(db)?)),
            _ => Err(method_not_allowed(parts, "a database")),
        },
        Route::Collections(db) => match *m {
            Method::GET => {
                let rid = e.get_database(db)?["_rid"].as_str().unwrap_or_default().to_string();
                Ok(feed("DocumentCollections", &rid, e.list_collections(db)?))
            }
            Method::POST => {
                let w = e.create_collection(db, json_body(body)?)?;
                Ok(Reply::resource(StatusCode::CREATED, w.resource).session(w.lsn))
            }
            _ => Err(method_not_allowed(parts, "containers")),
        },
        Route::Collection(db, coll) => match *m {
            Method::GET => Ok(Reply::resource(StatusCode::OK, e.get_collection(db, coll)?).session(e.lsn()?)),
            Method::DELETE => Ok(Reply::empty(StatusCode::NO_CONTENT).session(e.delete_collection(db, coll)?)),
            Method::PUT => Err(ApiError::not_implemented("Replacing a container (PUT)")),
            _ => Err(method_not_allowed(parts, "a container")),
        },
        Route::PartitionKeyRanges(db, coll) => {
            if m != Method::GET {
                return Err(method_not_allowed(parts, "partition key ranges"));
            }
            pkranges(e, parts, db, coll)
        }
        Route::Documents(db, coll) => match *m {
            Method::POST => {
                if header(parts, "x-ms-cosmos-is-batch-request").is_some() {
                    return Err(ApiError::not_implemented("Transactional batch"));
                }
                let is_query = header_true(parts, "x-ms-documentdb-isquery")
                    || header_true(parts, "x-ms-cosmos-is-query-plan-request")
                    || header(parts, "content-type").is_some_and(|c| c.starts_with("application/query+json"));
                if is_query {
                    return run_query(state, parts, db, coll, body);
                }
                let upsert = header_true(parts, "x-ms-documentdb-is-upsert");
                let w = e.create_doc(
                    db,
                    coll,
                    json_body(body)?,
                    pk_header(parts)?.as_deref(),
                    upsert,
                    header(parts, "if-match"),
                )?;
                let status = if w.created { StatusCode::CREATED } else { StatusCode::OK };
                Ok(Reply::resource(status, w.resource).session(w.lsn).charge(6.29))
            }
            Method::GET => read_feed(state, parts, db, coll),
            _ => Err(method_not_allowed(parts, "items")),
        },
        Route::Document(db, coll, id) => {
            let pk = pk_header(parts)?;
            match *m {
                Method::GET => {
                    let doc = e.read_doc(db, coll, id, pk.as_deref())?;
                    let lsn = e.lsn()?;
                    let etag = doc["_etag"].as_str().unwrap_or_default().to_string();
                    if header(parts, "if-none-match").is_some_and(|h| etag_matches(h, &etag)) {
                        return Ok(Reply::empty(StatusCode::NOT_MODIFIED).header("etag", etag).session(lsn));
                    }
                    Ok(Reply::resource(StatusCode::OK, doc).session(lsn))
                }
                Method::PUT => {
                    let w = e.replace_doc(db, coll, id, json_body(body)?, pk.as_deref(), header(parts, "if-match"))?;
                    Ok(Reply::resource(StatusCode::OK, w.resource).session(w.lsn).charge(10.67))
                }
                Method::DELETE => {
                    let lsn = e.delete_doc(db, coll, id, pk.as_deref(), header(parts, "if-match"))?;
                    Ok(Reply::empty(StatusCode::NO_CONTENT).session(lsn).charge(6.29))
                }
                Method::PATCH => Err(ApiError::not_implemented("Partial document update (PATCH)")),
                _ => Err(method_not_allowed(parts, "an item")),
            }
        }
        Route::Unsupported(what) => Err(ApiError::not_implemented(&capitalise(what))),
        Route::Invalid => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!(
                "The path '{}' is not a Cosmos DB resource path (expected /dbs/<db>/colls/<container>/docs/<id>).",
                parts.uri.path()
            ),
        )),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn account(state: &State, parts: &Parts) -> Reply {
    let base = match header(parts, "host") {
        Some(h) if !h.is_empty() && !h.contains(['/', ' ']) => format!("http://{h}/"),
        _ => format!("{}/", state.url),
    };
    let location = json!([{"name": "South Central US", "databaseAccountEndpoint": base}]);
    Reply::json(
        StatusCode::OK,
        json!({
            "_self": "",
            "id": state.account,
            "_rid": format!("{}.documents.azure.com", state.account),
            "media": "//media/",
            "addresses": "//addresses/",
            "_dbs": "//dbs/",
            "writableLocations": location,
            "readableLocations": location,
            "enableMultipleWriteLocations": false,
            "userReplicationPolicy": {"asyncReplication": false, "minReplicaSetSize": 1, "maxReplicasetSize": 4},
            "userConsistencyPolicy": {"defaultConsistencyLevel": "Session"},
            "systemReplicationPolicy": {"minReplicaSetSize": 1, "maxReplicasetSize": 4},
            "readPolicy": {"primaryReadCoefficient": 1, "secondaryReadCoefficient": 1},
            "queryEngineConfiguration": "{\"maxSqlQueryInputLength\":262144,\"maxJoinsPerSqlQuery\":5,\"maxLogicalAndPerSqlQuery\":500,\"maxLogicalOrPerSqlQuery\":500,\"maxUdfRefPerSqlQuery\":10,\"maxInExpressionItemsCount\":16000,\"queryMaxInMemorySortDocumentCount\":500,\"maxQueryRequestTimeoutFraction\":0.9,\"sqlAllowNonFiniteNumbers\":false,\"sqlAllowAggregateFunctions\":true,\"sqlAllowSubQuery\":false,\"sqlAllowScalarSubQuery\":false,\"allowNewKeywords\":true,\"sqlAllowLike\":false,\"sqlAllowGroupByClause\":false,\"maxSpatialQueryCells\":12,\"spatialMaxGeometryPointCount\":256,\"sqlDisableQueryILOptimization\":false,\"sqlDisableFilterPlanOptimization\":false}"
        }),
    )
    .header("x-ms-max-media-storage-usage-mb", "10240")
    .header("x-ms-media-storage-usage-mb", "0")
}

fn pkranges(e: &Engine, parts: &Parts, db: &str, coll: &str) -> Result<Reply, ApiError> {
    let c = e.container(db, coll)?;
    let etag = c.resource["_etag"].as_str().unwrap_or("\"0\"").to_string();
    if header(parts, "if-none-match").is_some_and(|h| etag_matches(h, &etag)) {
        return Ok(Reply::empty(StatusCode::NOT_MODIFIED).header("etag", etag));
    }
    let self_link = c.resource["_self"].as_str().unwrap_or_default();
    let range = json!({
        "_rid": format!("{}AgAAAAAAAAA=", c.rid.trim_end_matches('=')),
        "id": "0",
        "_etag": etag,
        "minInclusive": "",
        "maxExclusive": "FF",
        "ridPrefix": 0,
        "_self": format!("{self_link}pkranges/0/"),
        "throughputFraction": 1,
        "status": "online",
        "parents": [],
        "_ts": c.resource["_ts"],
        "_lsn": 1
    });
    Ok(feed("PartitionKeyRanges", &c.rid, vec![range]).header("etag", etag))
}

/// Scope of a feed or query: the items it may see.
fn scoped_docs(
    e: &Engine,
    parts: &Parts,
    db: &str,
    coll: &str,
    c: &Container,
    require_cross_partition_opt_in: bool,
) -> Result<Vec<Value>, ApiError> {
    if let Some(pk) = pk_header(parts)? {
        return e.docs(db, coll, c, Some(&pk));
    }
    if let Some(range) = header(parts, "x-ms-documentdb-partitionkeyrangeid") {
        let id = range.split(',').next().unwrap_or_default().trim();
        if id != "0" {
            return Err(ApiError::new(
                StatusCode::GONE,
                "Gone",
                format!("Partition key range '{id}' does not exist; this emulator has a single range '0'."),
            )
            .with_substatus(1002));
        }
        return e.docs(db, coll, c, None);
    }
    if require_cross_partition_opt_in
        && !c.pk.is_empty()
        && !header_true(parts, "x-ms-documentdb-query-enablecrosspartition")
    {
        return Err(ApiError::bad_request(
            "Cross partition query is required but disabled. Please set x-ms-documentdb-query-enablecrosspartition = true, specify x-ms-documentdb-partitionkey, or revise your query to avoid this exception.",
        ));
    }
    e.docs(db, coll, c, None)
}

fn page_size(parts: &Parts) -> Result<usize, ApiError> {
    match header(parts, "x-ms-max-item-count").map(str::trim) {
        None | Some("") => Ok(DEFAULT_PAGE),
        Some(v) => match v.parse::<i64>() {
            Ok(-1) => Ok(usize::MAX),
            Ok(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => Err(ApiError::bad_request(format!(
                "x-ms-max-item-count must be a positive integer or -1, got '{v}'."
            ))),
        },
    }
}

/// Continuation tokens are `emu1:<offset>:<fingerprint>`; the fingerprint ties a token to
/// the query and scope it came from.
fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn page(
    parts: &Parts,
    results: Vec<Value>,
    print: &str,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let size = page_size(parts)?;
    let start = match header(parts, "x-ms-continuation")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => 0,
        Some(tok) => {
            let bad = || {
                ApiError::bad_request(format!(
                    "Invalid continuation token '{tok}': it must come from the previous page of the same query."
                ))
            };
            let mut it = tok.splitn(3, ':');
            let (Some("emu1"), Some(off), Some(fp)) = (it.next(), it.next(), it.next()) else {
                return Err(bad());
            };
            if fp != print {
                return Err(bad());
            }
            off.parse::<usize>().map_err(|_| bad())?
        }
    };
    let total = results.len();
    let items: Vec<Value> = results.into_iter().skip(start).take(size).collect();
    let end = start.saturating_add(items.len());
    let next = (end < total).then(|| format!("emu1:{end}:{print}"));
    Ok((items, next))
}

fn read_feed(state: &State, parts: &Parts, db: &str, coll: &str) -> Result<Reply, ApiError> {
    let e = &state.engine;
    let c = e.container(db, coll)?;
    if header(parts, "a-im").is_some() {
        return Err(ApiError::not_implemented(
            "The change feed (A-IM: Incremental feed)",
        ));
    }
    let docs = scoped_docs(e, parts, db, coll, &c, false)?;
    let pk = header(parts, "x-ms-documentdb-partitionkey").unwrap_or_default();
    let print = fingerprint(&["readfeed", db, coll, pk]);
    let (items, next) = page(parts, docs, &print)?;
    let mut r = feed("Documents", &c.rid, items).session(e.lsn()?);
    if let Some(n) = next {
        r = r.header("x-ms-continuation", n);
    }
    Ok(r)
}

fn run_query(
    state: &State,
    parts: &Parts,
    db: &str,
    coll: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let e = &state.engine;
    let spec: Value = serde_json::from_slice(body)
        .map_err(|err| ApiError::bad_request(format!("The query body is not valid JSON: {err}")))?;
    let (text, params) = match &spec {
        Value::String(s) => (s.clone(), HashMap::new()),
        Value::Object(o) => {
            let text = o
                .get("query")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ApiError::bad_request("The query body needs a string property \"query\".")
                })?
                .to_string();
            let mut params = HashMap::new();
            if let Some(list) = o.get("parameters").filter(|p| !p.is_null()) {
                let list = list.as_array().ok_or_else(|| {
                    ApiError::bad_request(
                        "\"parameters\" must be an array of {\"name\", \"value\"}.",
                    )
                })?;
                for p in list {
                    let name = p
                        .get("name")
                        .and_then(Value::as_str)
                        .filter(|n| n.starts_with('@') && n.len() > 1)
                        .ok_or_else(|| {
                            ApiError::bad_request(
                                "Each parameter needs a \"name\" starting with '@'.",
                            )
                        })?;
                    // A parameter without a value is undefined, which Cosmos treats as absent.
                    if let Some(v) = p.get("value") {
                        params.insert(name.to_string(), v.clone());
                    }
                }
            }
            (text, params)
        }
        _ => {
            return Err(ApiError::bad_request(
                "The query body must be a JSON object {\"query\": ..., \"parameters\": [...]}.",
            ))
        }
    };
    let parsed = query::parse(&text).map_err(|err| ApiError::bad_request(err.to_string()))?;
    let c = e.container(db, coll)?;

    if header_true(parts, "x-ms-cosmos-is-query-plan-request") {
        return Ok(query_plan(&parsed));
    }

    let docs = scoped_docs(e, parts, db, coll, &c, true)?;
    let scanned = docs.len();
    let results = query::execute(&parsed, &params, docs)
        .map_err(|err| ApiError::bad_request(err.to_string()))?;
    let params_text = serde_json::to_string(&spec.get("parameters")).unwrap_or_default();
    let pk = header(parts, "x-ms-documentdb-partitionkey").unwrap_or_default();
    let print = fingerprint(&["query", db, coll, &text, &params_text, pk]);
    let (items, next) = page(parts, results, &print)?;
    let charge = 2.3 + 0.05 * scanned as f64;
    let mut r = feed("Documents", &c.rid, items)
        .session(e.lsn()?)
        .charge(charge);
    if let Some(n) = next {
        r = r.header("x-ms-continuation", n);
    }
    Ok(r)
}

/// A query plan for SDKs that ask the gateway for one. The container has a single physical
/// partition that evaluates the whole query, so the plan asks the SDK for no client-side
/// work (no re-ordering, no re-aggregation, no second OFFSET/TOP): it just forwards pages.
fn query_plan(q: &query::Query) -> Reply {
    let info = query::QueryPlanInfo::of(q);
    Reply::json(
        StatusCode::OK,
        json!({
            "partitionedQueryExecutionInfoVersion": 2,
            "queryInfo": {
                "distinctType": "None",
                "top": null,
                "offset": null,
                "limit": null,
                "orderBy": [],
                "orderByExpressions": [],
                "groupByExpressions": [],
                "groupByAliases": [],
                "aggregates": [],
                "groupByAliasToAggregateType": {},
                "rewrittenQuery": "",
                "hasSelectValue": info.has_select_value,
                "dCountInfo": null,
                "hasNonStreamingOrderBy": false
            },
            "queryRanges": [{"min": "", "max": "FF", "isMinInclusive": true, "isMaxInclusive": false}]
        }),
    )
}
