//! The outbound allow-list: which URLs a guest may call.
//!
//! Entries are URLs (`https://example.com`, `http://127.0.0.1:10000`); scheme, host and port must
//! all match, default ports implied. `*.` matches sub-domains (`https://*.blob.core.windows.net`),
//! and `insecure:allow-all` allows everything.

use url::Url;

/// One parsed `allowed_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    AllowAll,
    Host {
        scheme: String,
        /// Lower-case host; for a wildcard, the suffix after `*.`.
        host: String,
        wildcard: bool,
        port: u16,
    },
}

/// A parsed allow-list.
///
/// ```
/// use harness::AllowList;
/// let list = AllowList::parse(&["http://127.0.0.1:10000", "https://*.example.com"]).unwrap();
/// assert!(list.allows(&"http://127.0.0.1:10000/a".parse().unwrap()));
/// assert!(!list.allows(&"http://127.0.0.1:10001/a".parse().unwrap()));
/// assert!(list.allows(&"https://x.example.com/".parse().unwrap()));
/// assert!(!list.allows(&"http://x.example.com/".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Entry>,
}

impl AllowList {
    /// An allow-list that allows everything (`insecure:allow-all`).
    ///
    /// ```
    /// assert!(harness::AllowList::allow_all().allows(&"https://any.where/".parse().unwrap()));
    /// ```
    pub fn allow_all() -> Self {
        Self {
            entries: vec![Entry::AllowAll],
        }
    }

    /// Parses entries; the error names the bad entry and says what a valid one looks like.
    ///
    /// ```
    /// assert!(harness::AllowList::parse(&["example.com"]).is_err());
    /// ```
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let entries = entries
            .iter()
            .map(|e| parse_entry(e.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// True when no entry is present: every outbound call is denied.
    ///
    /// ```
    /// assert!(harness::AllowList::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `url` may be called.
    ///
    /// ```
    /// let list = harness::AllowList::parse(&["https://example.com"]).unwrap();
    /// assert!(list.allows(&"https://example.com:443/x".parse().unwrap()));
    /// ```
    pub fn allows(&self, url: &Url) -> bool {
        let Some((scheme, host, port)) = url_parts(url) else {
            return false;
        };
        self.entries.iter().any(|entry| match entry {
            Entry::AllowAll => true,
            Entry::Host {
                scheme: s,
                host: h,
                wildcard,
                port: p,
            } => {
                let host_ok = if *wildcard {
                    host.len() > h.len() + 1
                        && host.ends_with(h.as_str())
                        && host.as_bytes()[host.len() - h.len() - 1] == b'.'
                } else {
                    host == *h
                };
                *s == scheme && host_ok && *p == port
            }
        })
    }
}

/// The `allowed_hosts` line that would allow `url`, e.g. `"http://127.0.0.1:8080"`.
///
/// ```
/// let url = "https://acct.blob.core.windows.net/c/b".parse().unwrap();
/// assert_eq!(harness::allowed_hosts_entry_for(&url), "https://acct.blob.core.windows.net");
/// ```
pub fn allowed_hosts_entry_for(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{}://{}:{}", url.scheme(), host, port),
        None => format!("{}://{}", url.scheme(), host),
    }
}

fn url_parts(url: &Url) -> Option<(String, String, u16)> {
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Some((url.scheme().to_string(), host, url.port_or_known_default()?))
}

fn parse_entry(raw: &str) -> Result<Entry, String> {
    let text = raw.trim();
    if text == "insecure:allow-all" {
        return Ok(Entry::AllowAll);
    }
    let hint = "write a URL with a scheme, such as \"https://example.com\", \"http://127.0.0.1:10000\" or \"https://*.blob.core.windows.net\", or \"insecure:allow-all\"";
    if !text.contains("://") {
        return Err(format!("allowed_hosts entry {raw:?} has no scheme; {hint}"));
    }
    let (wildcard, for_parse) = match text.split_once("://*.") {
        Some((scheme, rest)) => (true, format!("{scheme}://{rest}")),
        None => (false, text.to_string()),
    };
    let url =
        Url::parse(&for_parse).map_err(|e| format!("allowed_hosts entry {raw:?}: {e}; {hint}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "allowed_hosts entry {raw:?}: scheme must be http or https; {hint}"
        ));
    }
    if url.path() != "/" && !url.path().is_empty() || url.query().is_some() {
        return Err(format!(
            "allowed_hosts entry {raw:?} has a path or query; entries match scheme, host and port only, so write {:?}",
            allowed_hosts_entry_for(&url)
        ));
    }
    let (scheme, host, port) = url_parts(&url)
        .ok_or_else(|| format!("allowed_hosts entry {raw:?} has no host; {hint}"))?;
    Ok(Entry::Host {
        scheme,
        host,
        wildcard,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(entries: &[&str], url: &str) -> bool {
        AllowList::parse(entries)
            .unwrap()
            .allows(&url.parse().unwrap())
    }

    #[test]
    fn scheme_host_and_port_must_match() {
        assert!(allows(
            &["http://127.0.0.1:3000"],
            "http://127.0.0.1:3000/x?y"
        ));
        assert!(!allows(
            &["http://127.0.0.1:3000"],
            "https://127.0.0.1:3000/"
        ));
        assert!(!allows(
            &["http://127.0.0.1:3000"],
            "http://127.0.0.1:3001/"
        ));
        assert!(!allows(
            &["http://127.0.0.1:3000"],
            "http://localhost:3000/"
        ));
        assert!(allows(&["http://example.com"], "http://example.com:80/"));
        assert!(!allows(&["http://example.com"], "http://example.com:8080/"));
        assert!(allows(&["HTTPS://Example.COM/"], "https://example.com/"));
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let e = ["https://*.example.com"];
        assert!(allows(&e, "https://a.example.com/"));
        assert!(allows(&e, "https://a.b.example.com/"));
        assert!(!allows(&e, "https://example.com/"));
        assert!(!allows(&e, "https://badexample.com/"));
        assert!(!allows(&e, "https://a.example.com.evil.net/"));
    }

    #[test]
    fn allow_all_and_empty() {
        assert!(allows(&["insecure:allow-all"], "https://x.y/"));
        assert!(!AllowList::default().allows(&"http://a/".parse().unwrap()));
    }

    #[test]
    fn bad_entries_are_explained() {
        for bad in ["example.com", "ftp://x", "http://x/path", "http://"] {
            let err = AllowList::parse(&[bad]).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn entry_for_a_url() {
        let url = "http://127.0.0.1:9000/a?b".parse().unwrap();
        assert_eq!(allowed_hosts_entry_for(&url), "http://127.0.0.1:9000");
    }
}
