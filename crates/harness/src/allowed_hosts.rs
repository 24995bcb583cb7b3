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

impl AllowList {
    /// Whether an entry that is neither a `*.` wildcard nor `insecure:allow-all` names this
    /// scheme, host and port: the condition for reaching a loopback or private address.
    ///
    /// ```
    /// let list = harness::AllowList::parse(&["http://localhost:7071", "https://*.example.com"]).unwrap();
    /// assert!(list.names_exactly("http", "LOCALHOST", 7071));
    /// assert!(!list.names_exactly("http", "localhost", 7072));
    /// assert!(!list.names_exactly("https", "a.example.com", 443));
    /// ```
    pub fn names_exactly(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.entries.iter().any(|entry| match entry {
            Entry::AllowAll => false,
            Entry::Host {
                scheme: s,
                host: h,
                wildcard,
                port: p,
            } => !*wildcard && *p == port && s == scheme && same_host(h, host),
        })
    }
}

/// The shortest `allowed_hosts` line that allows `url`, e.g. `"http://127.0.0.1:8080"`: the port
/// is written only when it is not the scheme's default (the same rule as the guest's message,
/// from `azure-wasi-abi`).
///
/// ```
/// let url = "https://acct.blob.core.windows.net/c/b".parse().unwrap();
/// assert_eq!(harness::allowed_hosts_entry_for(&url), "https://acct.blob.core.windows.net");
/// let url = "http://[::1]:10000/c".parse().unwrap();
/// assert_eq!(harness::allowed_hosts_entry_for(&url), "http://[::1]:10000");
/// ```
pub fn allowed_hosts_entry_for(url: &Url) -> String {
    azure_wasi_abi::allowed_hosts_entry(url.as_str()).unwrap_or_else(|| {
        // Not http(s) with a host: still say what was called, without path or query.
        format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""))
    })
}

/// Whether two hosts are the same name (ignoring case) or the same IP address however written.
fn same_host(a: &str, b: &str) -> bool {
    use std::net::IpAddr;
    a.eq_ignore_ascii_case(b)
        || matches!((a.parse::<IpAddr>(), b.parse::<IpAddr>()), (Ok(x), Ok(y)) if x == y)
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

    /// The hint printed on a denial must be an entry this allow-list accepts and that allows
    /// the denied URL, and the shortest one: no default port.
    #[test]
    fn the_hint_for_a_url_is_an_entry_that_allows_it() {
        for (raw, hint) in [
            ("http://example.com/x?sig=s", "http://example.com"),
            ("http://example.com:80/x", "http://example.com"),
            ("http://example.com:8080/x", "http://example.com:8080"),
            ("http://example.com:443/", "http://example.com:443"),
            (
                "https://Acct.Blob.Core.Windows.Net/c/b",
                "https://acct.blob.core.windows.net",
            ),
            (
                "https://acct.blob.core.windows.net:443/c",
                "https://acct.blob.core.windows.net",
            ),
            (
                "https://acct.blob.core.windows.net:80/c",
                "https://acct.blob.core.windows.net:80",
            ),
            (
                "http://127.0.0.1:10000/devstoreaccount1",
                "http://127.0.0.1:10000",
            ),
            ("http://[::1]/", "http://[::1]"),
            ("http://[::1]:80/", "http://[::1]"),
            ("http://[::1]:10000/a", "http://[::1]:10000"),
            ("https://[2001:db8::1]:443/", "https://[2001:db8::1]"),
            ("https://[2001:DB8::1]:8443/", "https://[2001:db8::1]:8443"),
            ("http://user:pw@h.example:81/", "http://h.example:81"),
        ] {
            // The guest's message names the same line (it sees the URL as the guest wrote it).
            assert_eq!(
                azure_wasi_abi::allowed_hosts_entry(raw).as_deref(),
                Some(hint)
            );
            let url: Url = raw.parse().unwrap();
            let entry = allowed_hosts_entry_for(&url);
            assert_eq!(entry, hint, "{url}");
            let list = AllowList::parse(&[&entry]).unwrap_or_else(|e| panic!("{entry}: {e}"));
            assert!(list.allows(&url), "{entry} does not allow {url}");
        }
    }
}
