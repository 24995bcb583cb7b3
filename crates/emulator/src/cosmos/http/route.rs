//! Mapping request paths to resources and to the resource type / link that tokens sign.

use percent_encoding::percent_decode_str;

/// The resource a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Account,
    Databases,
    Database(String),
    Collections(String),
    Collection(String, String),
    Documents(String, String),
    Document(String, String, String),
    PartitionKeyRanges(String, String),
    /// A resource kind this emulator does not implement (users, sprocs, offers, ...).
    Unsupported(String),
    /// A path that is not a Cosmos resource path.
    Invalid,
}

/// A parsed path: route plus what the signature covers.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub route: Route,
    pub resource_type: String,
    /// Resource link with segments percent-decoded (what SDKs sign).
    pub link: String,
    /// Resource link exactly as on the wire.
    pub raw_link: String,
}

/// Parses a request path such as `/dbs/db1/colls/c1/docs/item%201`.
pub(crate) fn parse(path: &str) -> Target {
    let raw: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let decoded: Option<Vec<String>> = raw
        .iter()
        .map(|s| {
            percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        })
        .collect();
    let Some(segs) = decoded else {
        return Target {
            route: Route::Invalid,
            resource_type: String::new(),
            link: String::new(),
            raw_link: String::new(),
        };
    };
    let n = segs.len();
    let (resource_type, link, raw_link) = if n == 0 {
        (String::new(), String::new(), String::new())
    } else if n % 2 == 1 {
        (
            segs[n - 1].clone(),
            segs[..n - 1].join("/"),
            raw[..n - 1].join("/"),
        )
    } else {
        (segs[n - 2].clone(), segs.join("/"), raw.join("/"))
    };
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let route = match s.as_slice() {
        [] => Route::Account,
        ["dbs"] => Route::Databases,
        ["dbs", d] => Route::Database(d.to_string()),
        ["dbs", d, "colls"] => Route::Collections(d.to_string()),
        ["dbs", d, "colls", c] => Route::Collection(d.to_string(), c.to_string()),
        ["dbs", d, "colls", c, "docs"] => Route::Documents(d.to_string(), c.to_string()),
        ["dbs", d, "colls", c, "docs", id] => {
            Route::Document(d.to_string(), c.to_string(), id.to_string())
        }
        ["dbs", _, "colls", _, "pkranges"] | ["dbs", _, "colls", _, "pkranges", _] => {
            match s.as_slice() {
                ["dbs", d, "colls", c, "pkranges"] => {
                    Route::PartitionKeyRanges(d.to_string(), c.to_string())
                }
                _ => Route::Unsupported("reading a single partition key range".into()),
            }
        }
        _ => {
            let kinds = [
                "users",
                "permissions",
                "sprocs",
                "triggers",
                "udfs",
                "conflicts",
                "attachments",
                "offers",
                "clientencryptionkeys",
            ];
            match s.iter().find(|seg| kinds.contains(seg)) {
                Some(kind) if n <= 8 => Route::Unsupported(format!("the '{kind}' resource")),
                _ => Route::Invalid,
            }
        }
    };
    Target {
        route,
        resource_type,
        link,
        raw_link,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_type_and_link() {
        let t = parse("/dbs/db1/colls/c1/docs");
        assert_eq!(t.route, Route::Documents("db1".into(), "c1".into()));
        assert_eq!(
            (t.resource_type.as_str(), t.link.as_str()),
            ("docs", "dbs/db1/colls/c1")
        );
        let t = parse("/dbs/db1/colls/c1/docs/a%20b/");
        assert_eq!(
            t.route,
            Route::Document("db1".into(), "c1".into(), "a b".into())
        );
        assert_eq!(t.link, "dbs/db1/colls/c1/docs/a b");
        assert_eq!(t.raw_link, "dbs/db1/colls/c1/docs/a%20b");
        let t = parse("/");
        assert_eq!(
            (t.route, t.resource_type.as_str(), t.link.as_str()),
            (Route::Account, "", "")
        );
        let t = parse("/dbs");
        assert_eq!((t.resource_type.as_str(), t.link.as_str()), ("dbs", ""));
        assert!(matches!(parse("/dbs/d/users").route, Route::Unsupported(_)));
        assert_eq!(parse("/nope/x/y").route, Route::Invalid);
    }
}
