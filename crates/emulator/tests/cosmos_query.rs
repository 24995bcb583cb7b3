//! SQL queries over HTTP: every supported clause, parameters, paging, scope rules, errors.

#[path = "cosmos_common/mod.rs"]
mod common;

use serde_json::{json, Value};

async fn seeded() -> common::Cosmos {
    let cosmos = common::start().await;
    cosmos.setup("db", "c").await;
    let docs = [
        json!({"id": "1", "pk": "a", "n": 5, "name": "apple", "tags": ["red", "fruit"], "dim": {"w": 3}}),
        json!({"id": "2", "pk": "a", "n": 1, "name": "banana", "tags": ["yellow"], "dim": {"w": 1}}),
        json!({"id": "3", "pk": "b", "n": 3, "name": "cherry", "dim": {"w": 2}}),
        json!({"id": "4", "pk": "b", "n": 4, "name": "Apricot", "extra": null}),
        json!({"id": "5", "pk": "c", "n": 2, "name": "date"}),
    ];
    for d in docs {
        assert_eq!(cosmos.upsert("db", "c", d).await.status, 201);
    }
    cosmos
}

fn q(text: &str) -> Value {
    json!({"query": text, "parameters": []})
}

fn qp(text: &str, params: Value) -> Value {
    json!({"query": text, "parameters": params})
}

fn ids(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| d["id"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[tokio::test]
async fn select_star_where_and_comparisons() {
    let c = seeded().await;
    let all = c.query_all("db", "c", q("SELECT * FROM c")).await;
    assert_eq!(all.len(), 5);
    assert!(all[0].get("_etag").is_some());
    for (text, expected) in [
        ("SELECT * FROM c WHERE c.n = 3", vec!["3"]),
        (
            "SELECT * FROM c WHERE c.n != 3 AND c.n <> 5",
            vec!["2", "4", "5"],
        ),
        ("SELECT * FROM c WHERE c.n < 2", vec!["2"]),
        ("SELECT * FROM c WHERE c.n <= 2", vec!["2", "5"]),
        ("SELECT * FROM c WHERE c.n > 4", vec!["1"]),
        ("SELECT * FROM c WHERE c.n >= 4", vec!["1", "4"]),
        ("SELECT * FROM c WHERE c.n = 1 OR c.n = 2", vec!["2", "5"]),
        ("SELECT * FROM c WHERE NOT (c.n > 1)", vec!["2"]),
        (
            "SELECT * FROM c WHERE (c.n > 1 AND c.pk = 'a') OR c.name = 'date'",
            vec!["1", "5"],
        ),
        ("SELECT * FROM c WHERE IS_DEFINED(c.tags)", vec!["1", "2"]),
        (
            "SELECT * FROM c WHERE NOT IS_DEFINED(c.dim)",
            vec!["4", "5"],
        ),
        ("SELECT * FROM c WHERE IS_DEFINED(c.extra)", vec!["4"]),
        ("SELECT * FROM c WHERE CONTAINS(c.name, 'an')", vec!["2"]),
        (
            "SELECT * FROM c WHERE CONTAINS(c.name, 'AP', true)",
            vec!["1", "4"],
        ),
        ("SELECT * FROM c WHERE STARTSWITH(c.name, 'a')", vec!["1"]),
        (
            "SELECT * FROM c WHERE STARTSWITH(c.name, 'a', true)",
            vec!["1", "4"],
        ),
        ("SELECT * FROM c WHERE c.dim.w >= 2", vec!["1", "3"]),
        ("SELECT * FROM c WHERE c['name'] = 'date'", vec!["5"]),
        ("SELECT * FROM c WHERE c.tags[0] = 'red'", vec!["1"]),
        ("SELECT * FROM c WHERE c.n IN (1, 3)", vec!["2", "3"]),
        (
            "SELECT * FROM c WHERE ARRAY_CONTAINS(c.tags, 'fruit')",
            vec!["1"],
        ),
        ("select * from root r where r.n = 2", vec!["5"]),
        ("SELECT * FROM items AS i WHERE i.n = 2", vec!["5"]),
    ] {
        let got = c.query_all("db", "c", q(text)).await;
        let mut got = ids(&got);
        got.sort();
        assert_eq!(got, expected, "{text}");
    }
}

#[tokio::test]
async fn parameters_of_every_type() {
    let c = seeded().await;
    let got = c
        .query_all(
            "db",
            "c",
            qp(
                "SELECT VALUE c.id FROM c WHERE c.n >= @min AND STARTSWITH(c.name, @prefix) AND c.pk IN (@p1, @p2)",
                json!([
                    {"name": "@min", "value": 2},
                    {"name": "@prefix", "value": "c"},
                    {"name": "@p1", "value": "b"},
                    {"name": "@p2", "value": "z"}
                ]),
            ),
        )
        .await;
    assert_eq!(got, vec![json!("3")]);
    let got = c
        .query_all(
            "db",
            "c",
            qp(
                "SELECT VALUE c.id FROM c WHERE c.extra = @v",
                json!([{"name": "@v", "value": null}]),
            ),
        )
        .await;
    assert_eq!(got, vec![json!("4")]);
    let got = c
        .query_all(
            "db",
            "c",
            qp(
                "SELECT VALUE c.id FROM c WHERE c.dim = @d",
                json!([{"name": "@d", "value": {"w": 2}}]),
            ),
        )
        .await;
    assert_eq!(got, vec![json!("3")]);
    // An unknown parameter is a 400 naming it.
    let r = c
        .query_req("db", "c", q("SELECT * FROM c WHERE c.n = @nope"))
        .header("x-ms-documentdb-query-enablecrosspartition", "true")
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("@nope"));
}

#[tokio::test]
async fn projections_aliases_and_value() {
    let c = seeded().await;
    let got = c
        .query_all(
            "db",
            "c",
            q("SELECT c.id, c.dim.w, c.name AS title FROM c WHERE c.pk = 'a' ORDER BY c.id"),
        )
        .await;
    assert_eq!(
        got,
        vec![
            json!({"id": "1", "w": 3, "title": "apple"}),
            json!({"id": "2", "w": 1, "title": "banana"})
        ]
    );
    // Undefined projections are omitted; unnamed expressions get $1.
    let got = c
        .query_all(
            "db",
            "c",
            q("SELECT c.id, c.tags, c.n * 2 FROM c WHERE c.id = '5'"),
        )
        .await;
    assert_eq!(got, vec![json!({"id": "5", "$1": 4})]);
    let got = c
        .query_all("db", "c", q("SELECT VALUE c.dim.w FROM c ORDER BY c.dim.w"))
        .await;
    assert_eq!(got, vec![json!(1), json!(2), json!(3)]);
    let got = c
        .query_all(
            "db",
            "c",
            q("SELECT VALUE {\"k\": c.id, \"t\": [c.n, 0]} FROM c WHERE c.id = '2'"),
        )
        .await;
    assert_eq!(got, vec![json!({"k": "2", "t": [1, 0]})]);
}

#[tokio::test]
async fn order_by_top_offset_limit_count() {
    let c = seeded().await;
    let asc = c
        .query_all("db", "c", q("SELECT VALUE c.id FROM c ORDER BY c.n"))
        .await;
    assert_eq!(
        asc,
        vec![json!("2"), json!("5"), json!("3"), json!("4"), json!("1")]
    );
    let desc = c
        .query_all("db", "c", q("SELECT VALUE c.id FROM c ORDER BY c.n DESC"))
        .await;
    assert_eq!(
        desc,
        vec![json!("1"), json!("4"), json!("3"), json!("5"), json!("2")]
    );
    let multi = c
        .query_all(
            "db",
            "c",
            q("SELECT VALUE c.id FROM c ORDER BY c.pk DESC, c.n ASC"),
        )
        .await;
    assert_eq!(
        multi,
        vec![json!("5"), json!("3"), json!("4"), json!("2"), json!("1")]
    );
    let top = c
        .query_all(
            "db",
            "c",
            q("SELECT TOP 2 VALUE c.id FROM c ORDER BY c.n DESC"),
        )
        .await;
    assert_eq!(top, vec![json!("1"), json!("4")]);
    let top_param = c
        .query_all(
            "db",
            "c",
            qp(
                "SELECT TOP @k VALUE c.id FROM c ORDER BY c.n",
                json!([{"name": "@k", "value": 1}]),
            ),
        )
        .await;
    assert_eq!(top_param, vec![json!("2")]);
    let window = c
        .query_all(
            "db",
            "c",
            q("SELECT VALUE c.id FROM c ORDER BY c.n OFFSET 1 LIMIT 2"),
        )
        .await;
    assert_eq!(window, vec![json!("5"), json!("3")]);
    let past_end = c
        .query_all(
            "db",
            "c",
            q("SELECT VALUE c.id FROM c ORDER BY c.n OFFSET 10 LIMIT 2"),
        )
        .await;
    assert!(past_end.is_empty());
    let count = c
        .query_all("db", "c", q("SELECT VALUE COUNT(1) FROM c WHERE c.n > 1"))
        .await;
    assert_eq!(count, vec![json!(4)]);
    let count_named = c
        .query_all("db", "c", q("SELECT COUNT(c.tags) AS tagged FROM c"))
        .await;
    assert_eq!(count_named, vec![json!({"tagged": 2})]);
    let empty_count = c
        .query_all("db", "c", q("SELECT VALUE COUNT(1) FROM c WHERE c.n > 100"))
        .await;
    assert_eq!(empty_count, vec![json!(0)]);
}

#[tokio::test]
async fn paging_with_continuation() {
    let c = seeded().await;
    let pages = c
        .query_pages(
            "db",
            "c",
            q("SELECT VALUE c.id FROM c ORDER BY c.id"),
            &[
                ("x-ms-documentdb-query-enablecrosspartition", "true"),
                ("x-ms-max-item-count", "2"),
            ],
        )
        .await;
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p.body["Documents"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(pages[0].header("x-ms-item-count"), Some("2"));
    let all: Vec<Value> = pages
        .iter()
        .flat_map(|p| p.body["Documents"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(
        all,
        vec![json!("1"), json!("2"), json!("3"), json!("4"), json!("5")]
    );

    // A token is bound to its query.
    let token = pages[0]
        .header("x-ms-continuation")
        .expect("token")
        .to_string();
    let r = c
        .query_req("db", "c", q("SELECT * FROM c"))
        .header("x-ms-documentdb-query-enablecrosspartition", "true")
        .header("x-ms-continuation", &token)
        .send()
        .await;
    assert_eq!(r.status, 400);
    let r = c
        .query_req("db", "c", q("SELECT * FROM c"))
        .header("x-ms-documentdb-query-enablecrosspartition", "true")
        .header("x-ms-continuation", "garbage")
        .send()
        .await;
    assert_eq!(r.status, 400);
    let r = c
        .query_req("db", "c", q("SELECT * FROM c"))
        .header("x-ms-documentdb-query-enablecrosspartition", "true")
        .header("x-ms-max-item-count", "zero")
        .send()
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn cross_partition_rule() {
    let c = seeded().await;
    // No partition key and no opt-in: 400, as Azure does.
    let r = c.query_req("db", "c", q("SELECT * FROM c")).send().await;
    assert_eq!(r.status, 400);
    assert!(r.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("enablecrosspartition"));
    let r = c
        .query_req("db", "c", q("SELECT * FROM c"))
        .header("x-ms-documentdb-query-enablecrosspartition", "False")
        .send()
        .await;
    assert_eq!(r.status, 400);
    // With a partition key the query sees only that partition.
    let r = c
        .query_req("db", "c", q("SELECT VALUE c.id FROM c ORDER BY c.id"))
        .header("x-ms-documentdb-partitionkey", "[\"b\"]")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["Documents"], json!(["3", "4"]));
    // Addressing the single partition key range also works (what SDK pipelines do).
    let r = c
        .query_req("db", "c", q("SELECT VALUE COUNT(1) FROM c"))
        .header("x-ms-documentdb-partitionkeyrangeid", "0")
        .send()
        .await;
    assert_eq!(r.body["Documents"], json!([5]));
    let r = c
        .query_req("db", "c", q("SELECT * FROM c"))
        .header("x-ms-documentdb-partitionkeyrangeid", "7")
        .send()
        .await;
    assert_eq!(r.status, 410);
}

#[tokio::test]
async fn unsupported_and_invalid_queries_are_400() {
    let c = seeded().await;
    for (text, part) in [
        ("SELECT DISTINCT c.pk FROM c", "DISTINCT"),
        ("SELECT c.pk, COUNT(1) FROM c GROUP BY c.pk", "GROUP BY"),
        ("SELECT t FROM c JOIN t IN c.tags", "JOIN"),
        ("SELECT * FROM c WHERE c.n BETWEEN 1 AND 3", "BETWEEN"),
        ("SELECT * FROM c WHERE c.name LIKE 'a%'", "LIKE"),
        (
            "SELECT * FROM c WHERE SUBSTRING(c.name, 0, 1) = 'a'",
            "SUBSTRING",
        ),
        ("SELECT VALUE SUM(c.n) FROM c", "SUM"),
        ("SELECT * FROM c WHERE udf.f(c.n)", "user-defined functions"),
        (
            "SELECT * FROM c WHERE EXISTS(SELECT VALUE t FROM t IN c.tags)",
            "EXISTS",
        ),
        ("SELECT c.name || 'x' FROM c", "||"),
        ("SELECT * FROM c WHERE", "Syntax error"),
        ("SELEC * FROM c", "Syntax error"),
        ("SELECT * FROM c WHERE x.n = 1", "could not be resolved"),
    ] {
        let r = c
            .query_req("db", "c", q(text))
            .header("x-ms-documentdb-query-enablecrosspartition", "true")
            .send()
            .await;
        assert_eq!(r.status, 400, "{text}");
        assert_eq!(r.body["code"], "BadRequest", "{text}");
        let msg = r.body["message"].as_str().unwrap_or_default();
        assert!(msg.contains(part), "{text}: {msg}");
    }
    let r = c
        .query_req("db", "c", json!({"parameters": []}))
        .send()
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn query_plan_requests_get_a_pass_through_plan() {
    let c = seeded().await;
    let r = c
        .query_req("db", "c", q("SELECT TOP 1 VALUE c.id FROM c ORDER BY c.n"))
        .header("x-ms-cosmos-is-query-plan-request", "True")
        .header(
            "x-ms-cosmos-supported-query-features",
            "Aggregate,OrderBy,Top,OffsetAndLimit",
        )
        .send()
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["partitionedQueryExecutionInfoVersion"], 2);
    assert_eq!(r.body["queryInfo"]["hasSelectValue"], true);
    assert_eq!(r.body["queryInfo"]["orderBy"], json!([]));
    assert_eq!(
        r.body["queryRanges"],
        json!([{"min": "", "max": "FF", "isMinInclusive": true, "isMaxInclusive": false}])
    );
    // The plan for an unsupported query is the same 400.
    let r = c
        .query_req("db", "c", q("SELECT DISTINCT c.n FROM c"))
        .header("x-ms-cosmos-is-query-plan-request", "True")
        .send()
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn non_partitioned_container_needs_no_opt_in() {
    let c = common::start().await;
    c.create_db("db").await;
    let r = c
        .req("POST", "/dbs/db/colls")
        .json(&json!({"id": "legacy"}))
        .send()
        .await;
    assert_eq!(r.status, 201);
    let r = c
        .req("POST", "/dbs/db/colls/legacy/docs")
        .json(&json!({"id": "x", "v": 1}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = c
        .query_req("db", "legacy", q("SELECT VALUE c.v FROM c"))
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["Documents"], json!([1]));
    assert_eq!(c.get("/dbs/db/colls/legacy/docs/x").await.status, 200);
}
