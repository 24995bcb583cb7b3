//! The `allowed_hosts` line to suggest when a destination is denied.

/// The shortest `allowed_hosts` entry that allows `url`: `scheme://host`, plus `:port` only
/// when the port is not the scheme's default (the allow-list implies 80 for `http` and 443 for
/// `https`, so `http://h:80/x` and `http://h/x` both give `http://h`). Scheme and host are
/// lower-cased; user info, path, query and fragment are dropped; IPv6 hosts keep their brackets.
///
/// `None` when `url` is not an absolute `http` or `https` URL with a host.
///
/// ```
/// use azure_wasi_abi::allowed_hosts_entry;
/// assert_eq!(allowed_hosts_entry("http://127.0.0.1:10000/c/b?sig=x").as_deref(), Some("http://127.0.0.1:10000"));
/// assert_eq!(allowed_hosts_entry("HTTPS://Acct.Blob.Core.Windows.Net:443/c").as_deref(), Some("https://acct.blob.core.windows.net"));
/// assert_eq!(allowed_hosts_entry("http://[::1]:80/").as_deref(), Some("http://[::1]"));
/// assert_eq!(allowed_hosts_entry("https://[::1]:80/").as_deref(), Some("https://[::1]:80"));
/// assert_eq!(allowed_hosts_entry("/relative"), None);
/// assert_eq!(allowed_hosts_entry("ftp://h/"), None);
/// ```
pub fn allowed_hosts_entry(url: &str) -> Option<String> {
    let uri = url.parse::<http::Uri>().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host = uri.host()?;
    if host.is_empty() {
        return None;
    }
    let mut entry = format!("{scheme}://{}", host.to_ascii_lowercase());
    match uri.port_u16() {
        Some(port) if port != default_port => entry.push_str(&format!(":{port}")),
        _ => {}
    }
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str) -> Option<String> {
        allowed_hosts_entry(url)
    }

    #[test]
    fn default_ports_are_left_out() {
        assert_eq!(
            entry("http://example.com:80/").as_deref(),
            Some("http://example.com")
        );
        assert_eq!(
            entry("http://example.com/").as_deref(),
            Some("http://example.com")
        );
        assert_eq!(
            entry("https://example.com:443").as_deref(),
            Some("https://example.com")
        );
        assert_eq!(
            entry("https://example.com:80").as_deref(),
            Some("https://example.com:80")
        );
        assert_eq!(
            entry("http://example.com:443").as_deref(),
            Some("http://example.com:443")
        );
        assert_eq!(
            entry("http://h:8080/a?b#c").as_deref(),
            Some("http://h:8080")
        );
    }

    #[test]
    fn user_info_is_dropped_and_ipv6_keeps_brackets() {
        assert_eq!(
            entry("http://u:p@h.example:99/x").as_deref(),
            Some("http://h.example:99")
        );
        assert_eq!(
            entry("http://[::1]:99/").as_deref(),
            Some("http://[::1]:99")
        );
        assert_eq!(
            entry("https://[2001:DB8::1]/").as_deref(),
            Some("https://[2001:db8::1]")
        );
    }

    #[test]
    fn not_http_urls_have_no_entry() {
        for url in [
            "",
            "h",
            "/p",
            "ftp://h/",
            "http://",
            "http:///x",
            "mailto:a@b",
        ] {
            assert_eq!(entry(url), None, "{url}");
        }
    }
}
