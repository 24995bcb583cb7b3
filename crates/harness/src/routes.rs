//! WAGI routes: `/path/...` matches a prefix, anything else matches exactly.

/// A parsed route.
///
/// ```
/// use harness::Route;
/// let r = Route::parse("/api/...").unwrap();
/// assert_eq!(r.matches("/api/users/1"), Some(("/api".to_string(), "/users/1".to_string())));
/// assert_eq!(Route::parse("/x").unwrap().matches("/x/y"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The route as written in the config.
    pub text: String,
    /// The fixed part (`/api` for `/api/...`).
    pub base: String,
    /// Whether it is a prefix route.
    pub prefix: bool,
}

impl Route {
    /// Parses a route; the error says what a valid route looks like.
    ///
    /// ```
    /// assert!(harness::Route::parse("hello").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.starts_with('/') {
            return Err(format!(
                "route {text:?} must start with '/'; write for example \"/hello\" or \"/api/...\""
            ));
        }
        if text.contains(['?', '#', ' ']) {
            return Err(format!(
                "route {text:?} may not contain '?', '#' or spaces; routes match the path only"
            ));
        }
        let (base, prefix) = match text.strip_suffix("/...") {
            Some(base) => (base.to_string(), true),
            None if text.contains("...") => {
                return Err(format!(
                    "route {text:?}: \"...\" is only allowed at the end, as \"/path/...\""
                ))
            }
            None => (text.to_string(), false),
        };
        Ok(Self {
            text: text.to_string(),
            base,
            prefix,
        })
    }

    /// If `path` matches, returns `(SCRIPT_NAME, PATH_INFO)`.
    ///
    /// ```
    /// let r = harness::Route::parse("/...").unwrap();
    /// assert_eq!(r.matches("/a"), Some(("".to_string(), "/a".to_string())));
    /// ```
    pub fn matches(&self, path: &str) -> Option<(String, String)> {
        if !self.prefix {
            return (path == self.text).then(|| (self.text.clone(), String::new()));
        }
        let rest = path.strip_prefix(self.base.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| (self.base.clone(), rest.to_string()))
    }
}

/// Routes in match order: exact routes first, then prefixes from longest to shortest.
///
/// ```
/// use harness::{Route, RouteTable};
/// let table = RouteTable::new(vec![
///     Route::parse("/...").unwrap(),
///     Route::parse("/api/...").unwrap(),
///     Route::parse("/api/health").unwrap(),
/// ]);
/// assert_eq!(table.find("/api/health").unwrap().0, 2);
/// assert_eq!(table.find("/api/x").unwrap().0, 1);
/// assert_eq!(table.find("/other").unwrap().0, 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    /// (index into the module list, route), in match order.
    order: Vec<(usize, Route)>,
}

impl RouteTable {
    /// Orders `routes` (indexed by position) for matching.
    ///
    /// ```
    /// let t = harness::RouteTable::new(vec![]);
    /// assert!(t.find("/").is_none());
    /// ```
    pub fn new(routes: Vec<Route>) -> Self {
        let mut order: Vec<(usize, Route)> = routes.into_iter().enumerate().collect();
        order.sort_by(|(_, a), (_, b)| {
            a.prefix
                .cmp(&b.prefix)
                .then(b.base.len().cmp(&a.base.len()))
        });
        Self { order }
    }

    /// The first matching route: `(module index, SCRIPT_NAME, PATH_INFO)`.
    ///
    /// ```
    /// let t = harness::RouteTable::new(vec![harness::Route::parse("/a").unwrap()]);
    /// assert_eq!(t.find("/a").unwrap().0, 0);
    /// ```
    pub fn find(&self, path: &str) -> Option<(usize, String, String)> {
        self.order.iter().find_map(|(index, route)| {
            route
                .matches(path)
                .map(|(script, info)| (*index, script, info))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_does_not_match_a_longer_segment() {
        let r = Route::parse("/api/...").unwrap();
        assert_eq!(r.matches("/apix"), None);
        assert_eq!(r.matches("/api"), Some(("/api".into(), "".into())));
    }

    #[test]
    fn invalid_routes() {
        for bad in ["", "x", "/a?b", "/a/.../b"] {
            assert!(Route::parse(bad).is_err(), "{bad}");
        }
    }
}
