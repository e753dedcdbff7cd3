//! Who the client is, when the server sits behind a reverse proxy.
//!
//! The README's deployment puts a TLS proxy in front of the server. Every connection
//! then comes from the proxy's address, and the per-address limits (connection caps,
//! TURN credential sets, wrong passcodes) would treat the whole user base as one
//! client. With `--trusted-proxy`, a connection from a listed address is taken to
//! speak for the client named in its `X-Forwarded-For` header. Only listed proxies
//! are believed: anyone else could write any address into that header.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// Addresses (or networks, `ADDR/BITS`) of reverse proxies whose `X-Forwarded-For`
/// the server believes. Empty by default: no proxy is trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    bits: u8,
}

impl TrustedProxies {
    /// Parses `--trusted-proxy` values such as `127.0.0.1`, `::1` or `10.0.0.0/8`.
    pub fn parse(values: &[String]) -> Result<TrustedProxies, String> {
        values
            .iter()
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(|v| {
                Network::parse(v).ok_or_else(|| {
                    format!("--trusted-proxy {v:?}: expected an address or ADDRESS/BITS")
                })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a connection from `peer` is from a trusted proxy.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.0.iter().any(|n| n.contains(peer))
    }

    /// The client a request from `peer` is for: `peer` itself, unless `peer` is a
    /// trusted proxy; then the right-most `X-Forwarded-For` address that is not one
    /// (each proxy appends the address it got the request from, so the entries left
    /// of the last untrusted one may be forged by the client).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse().ok())
            .collect();
        forwarded
            .iter()
            .rev()
            .copied()
            .find(|addr| !self.trusts(*addr))
            .or_else(|| forwarded.first().copied())
            .unwrap_or(peer)
    }
}

impl Network {
    fn parse(text: &str) -> Option<Network> {
        let (addr, bits) = match text.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let addr = canonical(addr.parse().ok()?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Network { addr, bits })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(u32::from(net).into(), u32::from(ip).into(), self.bits, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(u128::from(net), u128::from(ip), self.bits, 128)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, bits: u8, width: u32) -> bool {
    let shift = width - u32::from(bits);
    shift >= width || (a >> shift) == (b >> shift)
}

/// An IPv4 address mapped into IPv6 (a dual-stack socket's view) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_networks_parse_and_nonsense_does_not() {
        let p = proxies(&["127.0.0.1", "10.0.0.0/8", "2001:db8::/32", " "]);
        assert!(p.trusts(ip("127.0.0.1")));
        assert!(
            p.trusts(ip("::ffff:127.0.0.1")),
            "mapped IPv4 counts as IPv4"
        );
        assert!(p.trusts(ip("10.200.3.4")));
        assert!(!p.trusts(ip("11.0.0.1")));
        assert!(p.trusts(ip("2001:db8:1::7")));
        assert!(!p.trusts(ip("2001:db9::7")));
        for bad in ["", "x", "10.0.0.0/33", "::/129", "1.2.3.4/x"] {
            if bad.is_empty() {
                continue;
            }
            assert!(TrustedProxies::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
        let all = proxies(&["0.0.0.0/0"]);
        assert!(all.trusts(ip("203.0.113.9")));
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let p = proxies(&["127.0.0.1"]);
        let h = headers(&["198.51.100.7"]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("198.51.100.7"));
        // Anyone else's header is ignored: they could write anything there.
        assert_eq!(p.client(ip("203.0.113.5"), &h), ip("203.0.113.5"));
        // No proxies configured: the socket's address, always.
        assert_eq!(
            TrustedProxies::default().client(ip("127.0.0.1"), &h),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_right_most_untrusted_entry_wins_over_forged_ones() {
        let p = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        // The client forged "1.1.1.1"; the edge proxy appended what it saw, then an
        // inner proxy (10.0.0.2) appended the edge proxy's address.
        let h = headers(&["1.1.1.1, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("198.51.100.7"));
        // A header of proxies only, or none: fall back sensibly.
        assert_eq!(
            p.client(ip("127.0.0.1"), &headers(&["10.0.0.3"])),
            ip("10.0.0.3")
        );
        assert_eq!(p.client(ip("127.0.0.1"), &headers(&[])), ip("127.0.0.1"));
        assert_eq!(
            p.client(ip("127.0.0.1"), &headers(&["garbage"])),
            ip("127.0.0.1")
        );
    }
}
