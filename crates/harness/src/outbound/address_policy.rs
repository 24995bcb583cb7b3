//! Which resolved addresses a guest's outbound call may reach (both worlds).
//!
//! The allow-list matches names; this matches what a name resolved to, so a `*.` wildcard or
//! `insecure:allow-all` cannot lead into the host's own network. Link-local addresses (which
//! include the cloud metadata service at 169.254.169.254) are never reached. Loopback, private
//! (RFC 1918, unique-local), shared (CGNAT), unspecified, multicast and reserved addresses are
//! reached only when an `allowed_hosts` entry names the host exactly (`http://127.0.0.1:10000`,
//! `http://localhost:7071`), or when `[limits] block_private_networks = false`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::AllowList;

/// What kind of address an IP is, for the outbound check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressClass {
    /// A public address: allowed.
    Public,
    /// Inside some private network (the label says which); allowed only when named exactly.
    Private(&'static str),
    /// Never allowed: link-local and cloud metadata addresses.
    Forbidden(&'static str),
}

/// Classifies `ip`. IPv4 addresses embedded in IPv6 (mapped `::ffff:a.b.c.d`, compatible
/// `::a.b.c.d` and NAT64 `64:ff9b::a.b.c.d`) are classified as the IPv4 address they carry.
pub(crate) fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let [a, b, c, d] = ip.octets();
    match (a, b, c, d) {
        (168, 63, 129, 16) => Forbidden("Azure platform (WireServer)"),
        (169, 254, 169, 254) => Forbidden("cloud metadata"),
        (169, 254, _, _) => Forbidden("link-local"),
        (127, _, _, _) => Private("loopback"),
        (10, _, _, _) => Private("private (RFC 1918)"),
        (172, 16..=31, _, _) => Private("private (RFC 1918)"),
        (192, 168, _, _) => Private("private (RFC 1918)"),
        (100, 64..=127, _, _) => Private("shared (CGNAT, 100.64.0.0/10)"),
        (0, _, _, _) => Private("this-network (0.0.0.0/8)"),
        (224..=239, _, _, _) => Private("multicast"),
        (240..=255, _, _, _) => Private("reserved"),
        _ => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let s = ip.segments();
    if ip.is_unspecified() {
        Private("unspecified")
    } else if ip.is_loopback() {
        Private("loopback")
    } else if s[0] == 0xfd00 && s[1] == 0x0ec2 && s[2..7] == [0; 5] && s[7] == 0x254 {
        Forbidden("cloud metadata")
    } else if s[0] & 0xffc0 == 0xfe80 {
        Forbidden("link-local")
    } else if s[0] & 0xfe00 == 0xfc00 {
        Private("unique-local (fc00::/7)")
    } else if s[0] & 0xffc0 == 0xfec0 {
        Private("site-local")
    } else if s[0] & 0xff00 == 0xff00 {
        Private("multicast")
    } else {
        Public
    }
}

/// The IPv4 address carried by a mapped, compatible or NAT64 IPv6 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    // `::` and `::1` are IPv6's own unspecified and loopback addresses, not embedded IPv4.
    let compatible = s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1);
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
    (mapped || compatible || nat64).then_some(tail)
}

/// A refused destination: the name, what it resolved to, and why that is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prohibited {
    /// The host as written in the URL.
    pub(crate) host: String,
    /// The address it resolved to (itself, for an IP literal).
    pub(crate) addr: IpAddr,
    /// What kind of address that is (`loopback`, `link-local`, ...).
    pub(crate) kind: &'static str,
    /// Whether no setting allows it (link-local and metadata addresses).
    pub(crate) always: bool,
}

impl std::fmt::Display for Prohibited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.trim_matches(['[', ']']) == self.addr.to_string() {
            write!(f, "{} is a {} address", self.addr, self.kind)
        } else {
            write!(
                f,
                "{} resolved to {}, a {} address",
                self.host, self.addr, self.kind
            )
        }
    }
}

impl std::error::Error for Prohibited {}

/// The address rules of one module: its allow-list (for the exact-name exception) and whether
/// private ranges are blocked.
#[derive(Debug, Clone)]
pub(crate) struct AddressPolicy {
    allow: AllowList,
    block_private: bool,
}

impl AddressPolicy {
    /// Rules for a module with allow-list `allow`; `block_private` is
    /// `[limits] block_private_networks`.
    pub(crate) fn new(allow: AllowList, block_private: bool) -> Self {
        Self {
            allow,
            block_private,
        }
    }

    /// Whether a call to `scheme://host:port` may connect to `addr`, which `host` resolved to.
    pub(crate) fn check(
        &self,
        scheme: &str,
        host: &str,
        port: u16,
        addr: IpAddr,
    ) -> Result<(), Prohibited> {
        let refused = |kind, always| Prohibited {
            host: host.to_string(),
            addr,
            kind,
            always,
        };
        match classify(addr) {
            AddressClass::Public => Ok(()),
            AddressClass::Forbidden(kind) => Err(refused(kind, true)),
            AddressClass::Private(_) if !self.block_private => Ok(()),
            AddressClass::Private(_) if self.allow.names_exactly(scheme, host, port) => Ok(()),
            AddressClass::Private(kind) => Err(refused(kind, false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ip: &str) -> AddressClass {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn ipv4_classes() {
        for ip in ["169.254.169.254", "169.254.0.1", "168.63.129.16"] {
            assert!(matches!(class(ip), AddressClass::Forbidden(_)), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(matches!(class(ip), AddressClass::Private(_)), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.15.0.1",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "169.253.1.1",
            "20.60.1.1",
        ] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
        }
    }

    #[test]
    fn ipv6_classes() {
        for ip in ["fe80::1", "febf::1", "fd00:ec2::254"] {
            assert!(matches!(class(ip), AddressClass::Forbidden(_)), "{ip}");
        }
        for ip in ["::", "::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1"] {
            assert!(matches!(class(ip), AddressClass::Private(_)), "{ip}");
        }
        for ip in ["2001:4860:4860::8888", "2606:4700::1111", "fe7f::1"] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
        }
    }

    #[test]
    fn embedded_ipv4_is_classified_as_ipv4() {
        assert_eq!(class("::ffff:127.0.0.1"), AddressClass::Private("loopback"));
        assert_eq!(class("::ffff:7f00:1"), AddressClass::Private("loopback"));
        assert!(matches!(
            class("::ffff:169.254.169.254"),
            AddressClass::Forbidden(_)
        ));
        assert!(matches!(class("::ffff:10.0.0.1"), AddressClass::Private(_)));
        assert!(matches!(class("::10.0.0.1"), AddressClass::Private(_)));
        assert!(matches!(
            class("64:ff9b::169.254.169.254"),
            AddressClass::Forbidden(_)
        ));
        assert!(matches!(
            class("64:ff9b::192.168.0.1"),
            AddressClass::Private(_)
        ));
        assert_eq!(class("::ffff:8.8.8.8"), AddressClass::Public);
        assert_eq!(class("64:ff9b::8.8.8.8"), AddressClass::Public);
    }

    fn policy(entries: &[&str], block: bool) -> AddressPolicy {
        AddressPolicy::new(AllowList::parse(entries).unwrap(), block)
    }

    #[test]
    fn private_addresses_need_an_exact_entry_or_the_switch() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let p = policy(&["insecure:allow-all", "https://*.example.com"], true);
        let err = p.check("http", "localhost", 8080, lo).unwrap_err();
        assert!(!err.always);
        assert_eq!(
            err.to_string(),
            "localhost resolved to 127.0.0.1, a loopback address"
        );
        assert!(p.check("https", "a.example.com", 443, lo).is_err());

        let exact = policy(&["http://localhost:8080", "http://127.0.0.1:10000"], true);
        assert!(exact.check("http", "localhost", 8080, lo).is_ok());
        assert!(exact.check("http", "127.0.0.1", 10000, lo).is_ok());
        assert!(exact.check("http", "localhost", 8081, lo).is_err());
        assert!(exact.check("https", "localhost", 8080, lo).is_err());

        let off = policy(&["insecure:allow-all"], false);
        assert!(off.check("http", "localhost", 8080, lo).is_ok());
    }

    #[test]
    fn link_local_is_never_allowed() {
        let md: IpAddr = "169.254.169.254".parse().unwrap();
        for p in [
            policy(&["http://169.254.169.254"], true),
            policy(&["insecure:allow-all"], false),
        ] {
            let err = p.check("http", "169.254.169.254", 80, md).unwrap_err();
            assert!(err.always);
            assert_eq!(
                err.to_string(),
                "169.254.169.254 is a cloud metadata address"
            );
        }
        assert!(policy(&["insecure:allow-all"], true)
            .check("http", "example.com", 80, "8.8.8.8".parse().unwrap())
            .is_ok());
    }
}
