//! Which webhook endpoints a subscription may name (`eventgrid.delivery_allowed_hosts`).

use std::net::{IpAddr, Ipv6Addr};

/// The allow-list entry that stands for every loopback address and `localhost`.
const LOOPBACK: &str = "loopback";

/// An IPv4-mapped IPv6 address as its IPv4 address; others unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn is_link_local_v6(ip: &Ipv6Addr) -> bool {
    (ip.segments()[0] & 0xffc0) == 0xfe80
}

/// Addresses no allow-list entry opens: link-local (the cloud metadata service) and unspecified.
fn always_refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) if v4.is_link_local() => Some(
            "it is a link-local address (169.254.0.0/16, where cloud metadata services answer)",
        ),
        IpAddr::V6(v6) if is_link_local_v6(&v6) => Some("it is a link-local address (fe80::/10)"),
        ip if ip.is_unspecified() => Some("it is the unspecified address"),
        _ => None,
    }
}

/// Whether `entry` (an allow-list line) admits `host` (without brackets) and `port`.
fn entry_admits(entry: &str, host: &str, ip: Option<IpAddr>, port: u16) -> bool {
    let entry = entry.trim();
    if entry == "*" {
        return true;
    }
    if entry.eq_ignore_ascii_case(LOOPBACK) {
        return ip.map_or(host.eq_ignore_ascii_case("localhost"), |ip| {
            ip.is_loopback()
        });
    }
    // `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
    let (entry_host, entry_port) = if let Ok(literal) = entry.parse::<IpAddr>() {
        return Some(canonical(literal)) == ip;
    } else if let Some(rest) = entry.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => return false,
        }
    } else {
        match entry.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (entry, None),
        }
    };
    if let Some(p) = entry_port {
        if p.parse::<u16>().ok() != Some(port) {
            return false;
        }
    }
    match (entry_host.parse::<IpAddr>(), ip) {
        (Ok(e), Some(ip)) => canonical(e) == ip,
        (Ok(_), None) => false,
        (Err(_), _) => entry_host.eq_ignore_ascii_case(host),
    }
}

/// Check a webhook URL against the allow-list; `Err` says why it is refused.
///
/// ```
/// use emulator::eventgrid::endpoint_allowed;
/// let loopback = vec!["loopback".to_string()];
/// let uri = |s: &str| s.parse::<http::Uri>().unwrap();
/// assert!(endpoint_allowed(&uri("http://127.0.0.1:3000/hook"), &loopback).is_ok());
/// assert!(endpoint_allowed(&uri("http://[::1]:3000/hook"), &loopback).is_ok());
/// assert!(endpoint_allowed(&uri("http://10.0.0.5/hook"), &loopback).is_err());
/// let open = vec!["*".to_string()];
/// assert!(endpoint_allowed(&uri("http://10.0.0.5/hook"), &open).is_ok());
/// assert!(endpoint_allowed(&uri("http://169.254.169.254/latest"), &open).is_err());
/// let one = vec!["hooks.internal:8080".to_string()];
/// assert!(endpoint_allowed(&uri("http://HOOKS.internal:8080/x"), &one).is_ok());
/// assert!(endpoint_allowed(&uri("http://hooks.internal/x"), &one).is_err());
/// ```
pub fn endpoint_allowed(endpoint: &http::Uri, allowed: &[String]) -> Result<(), String> {
    let raw_host = endpoint
        .host()
        .ok_or_else(|| "the URL names no host".to_string())?;
    let host = raw_host.trim_start_matches('[').trim_end_matches(']');
    let ip = host.parse::<IpAddr>().ok().map(canonical);
    if let Some(why) = ip.and_then(always_refused) {
        return Err(why.to_string());
    }
    let port = endpoint.port_u16().unwrap_or(80);
    if allowed.iter().any(|e| entry_admits(e, host, ip, port)) {
        Ok(())
    } else {
        Err(format!(
            "host `{raw_host}` is not in eventgrid.delivery_allowed_hosts ({}); add it there (`loopback` is the default)",
            allowed.join(", ")
        ))
    }
}
