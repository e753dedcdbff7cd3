//! Caps on open connections, in total and per client address, so that one address
//! cannot take every socket (or file descriptor) the server has.
//!
//! Every accepted TCP connection takes a [`Slot`] until it closes (a WebSocket keeps
//! its HTTP connection's slot). IPv6 clients are counted per /64, the block one
//! subscriber usually gets.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;

use crate::client_addr::TrustedProxies;

/// Most connections unless `--max-connections` says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 20_000;
/// Most connections from one address unless `--max-connections-per-ip` says otherwise:
/// a browser holds one WebSocket and up to six HTTP connections, so an office behind
/// one NAT address still fits several people.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 50;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds its total.
    ServerFull,
    /// This address holds its share.
    TooManyFromAddress,
}

impl Refusal {
    /// Its label in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::ServerFull => "server_full",
            Refusal::TooManyFromAddress => "too_many_from_address",
        }
    }

    /// The HTTP status and text body a refused client gets.
    pub fn response(self) -> (StatusCode, &'static str) {
        match self {
            Refusal::ServerFull => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is full. Please try again in a minute.\n",
            ),
            Refusal::TooManyFromAddress => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many connections from your address. Close some tabs and try again.\n",
            ),
        }
    }
}

#[derive(Debug)]
pub struct ConnectionCaps {
    total: usize,
    /// 0: no cap per address.
    per_ip: usize,
    /// Reverse proxies: their connections count only towards the total at accept;
    /// the client they forward is counted when its request names it
    /// ([`admit_forwarded`](Self::admit_forwarded)).
    proxies: TrustedProxies,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

impl ConnectionCaps {
    pub fn new(total: usize, per_ip: usize) -> Arc<Self> {
        ConnectionCaps::behind(total, per_ip, TrustedProxies::default())
    }

    /// Caps for a server whose clients may come through `proxies`.
    pub fn behind(total: usize, per_ip: usize, proxies: TrustedProxies) -> Arc<Self> {
        Arc::new(ConnectionCaps {
            total,
            per_ip,
            proxies,
            open: Mutex::new(Open::default()),
        })
    }

    /// A slot for a new connection from `ip`, or why there is none.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let per_address = !self.proxies.trusts(ip);
        self.take(ip, true, per_address)
    }

    /// A second slot, counted for the client a trusted proxy forwards (the proxy's own
    /// connection took the total's); `None` when `peer` is not a trusted proxy.
    pub fn admit_forwarded(
        self: &Arc<Self>,
        peer: IpAddr,
        client: IpAddr,
    ) -> Option<Result<Slot, Refusal>> {
        self.proxies
            .trusts(peer)
            .then(|| self.take(client, false, true))
    }

    fn take(self: &Arc<Self>, ip: IpAddr, total: bool, per_address: bool) -> Result<Slot, Refusal> {
        let key = address_key(ip);
        let mut open = self.lock();
        if total && open.total >= self.total {
            return Err(Refusal::ServerFull);
        }
        if per_address {
            let from_ip = open.by_ip.entry(key).or_insert(0);
            if self.per_ip > 0 && *from_ip >= self.per_ip {
                // At least one there already, so the entry is not left at zero.
                return Err(Refusal::TooManyFromAddress);
            }
            *from_ip += 1;
        }
        if total {
            open.total += 1;
        }
        Ok(Slot {
            caps: self.clone(),
            key: per_address.then_some(key),
            total,
        })
    }

    /// Open connections: (total, from `ip`).
    pub fn open(&self, ip: IpAddr) -> (usize, usize) {
        let open = self.lock();
        let from_ip = open.by_ip.get(&address_key(ip)).copied().unwrap_or(0);
        (open.total, from_ip)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // Counting cannot leave the map half-updated; keep serving after a panic.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One open connection's place; given back on drop.
#[derive(Debug)]
pub struct Slot {
    caps: Arc<ConnectionCaps>,
    /// The address it counts for, if any (not for a trusted proxy's own connection).
    key: Option<IpAddr>,
    /// Whether it counts towards the total (not a forwarded client's second slot).
    total: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.caps.lock();
        if self.total {
            open.total -= 1;
        }
        if let Some(key) = self.key {
            if let Some(n) = open.by_ip.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    open.by_ip.remove(&key);
                }
            }
        }
    }
}

/// IPv4 as it is (also when mapped into IPv6); IPv6 by its /64, the block one
/// subscriber usually gets. Every per-address limit counts by this key.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_then_total_and_slots_come_back() {
        let caps = ConnectionCaps::new(5, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = caps.admit(a).unwrap();
        let _a2 = caps.admit(a).unwrap();
        assert_eq!(caps.admit(a).unwrap_err(), Refusal::TooManyFromAddress);
        let _b: Vec<_> = (0..2).map(|_| caps.admit(b).unwrap()).collect();
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        let _c = caps.admit(c).unwrap();
        assert_eq!(caps.admit(c).unwrap_err(), Refusal::ServerFull);
        drop(a1);
        assert_eq!(caps.open(a), (4, 1));
        assert!(caps.admit(a).is_ok());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let caps = ConnectionCaps::new(100, 1);
        let _x = caps.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(caps.admit("2001:db8:1:2::ffff".parse().unwrap()).is_err());
        assert!(caps.admit("2001:db8:1:3::1".parse().unwrap()).is_ok());
        let _v4 = caps.admit("192.0.2.9".parse().unwrap()).unwrap();
        assert!(caps.admit("::ffff:192.0.2.9".parse().unwrap()).is_err());
    }

    #[test]
    fn zero_means_no_cap_per_address() {
        let caps = ConnectionCaps::new(3, 0);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let _all: Vec<_> = (0..3).map(|_| caps.admit(ip).unwrap()).collect();
        assert_eq!(caps.admit(ip).unwrap_err(), Refusal::ServerFull);
    }

    #[test]
    fn a_trusted_proxy_is_capped_in_total_and_its_clients_per_address() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let proxies = TrustedProxies::parse(&["127.0.0.1".to_string()]).unwrap();
        let caps = ConnectionCaps::behind(10, 2, proxies);
        // Far more than 2 connections from the proxy itself.
        let held: Vec<_> = (0..8).map(|_| caps.admit(proxy).unwrap()).collect();
        assert_eq!(caps.open(proxy), (8, 0));
        // The clients behind it are capped one by one.
        let alice: IpAddr = "198.51.100.1".parse().unwrap();
        let a1 = caps.admit_forwarded(proxy, alice).unwrap().unwrap();
        let _a2 = caps.admit_forwarded(proxy, alice).unwrap().unwrap();
        assert_eq!(
            caps.admit_forwarded(proxy, alice).unwrap().unwrap_err(),
            Refusal::TooManyFromAddress
        );
        assert_eq!(
            caps.open(alice),
            (8, 2),
            "forwarded slots do not count twice"
        );
        drop(a1);
        assert_eq!(caps.open(alice), (8, 1));
        // Not a proxy: no forwarded slot, whatever it claims.
        assert!(caps.admit_forwarded(alice, proxy).is_none());
        drop(held);
        assert_eq!(caps.open(proxy), (0, 0));
    }
}
