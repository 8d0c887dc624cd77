//! Which addresses the server may call back (a subscription's notification destination): by
//! default none that is the server's own or its network's (loopback, private, link-local,
//! unique-local, carrier-grade NAT, cloud metadata, multicast, unspecified), the classic hole of
//! webhooks (server-side request forgery). `--callback-allow CIDR` opens ranges explicitly.

use std::net::IpAddr;

use ipnet::IpNet;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AddressPolicy {
    allowed: Vec<IpNet>,
}

impl AddressPolicy {
    /// Public addresses, and also those in `allowed`.
    pub(crate) fn allowing(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    /// Whether the server may connect to `ip`.
    pub(crate) fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allowed.iter().any(|net| net.contains(&ip)) || !is_internal(ip)
    }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local() // 169.254.0.0/16: cloud metadata (169.254.169.254)
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0 // "this network"
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT, 100.64.0.0/10
                || (a == 198 && (b == 18 || b == 19)) // benchmarking, 198.18.0.0/15
                || a >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7 (also fd00:ec2::254)
                || (first & 0xffc0) == 0xfe80 // link local, fe80::/10
                || (first == 0x64 && v6.segments()[1] == 0xff9b) // NAT64 to anything
                || first == 0x2002 // 6to4, which embeds any IPv4 address
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_by_default() {
        let policy = AddressPolicy::default();
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!policy.permits(ip(refused)), "{refused} permitted");
        }
        for permitted in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(policy.permits(ip(permitted)), "{permitted} refused");
        }
    }

    #[test]
    fn allowed_ranges_open_exactly_those_addresses() {
        let policy = AddressPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(policy.permits(ip("127.0.0.1")));
        assert!(policy.permits(ip("::ffff:127.0.0.1")));
        assert!(!policy.permits(ip("10.0.0.1")));
        assert!(!policy.permits(ip("::1")));
    }
}
