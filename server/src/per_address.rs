//! "At most N per address per minute" counters, for what must not be handed out or
//! tried without bound from one address: TURN credential sets, passcode guesses.
//!
//! Addresses are counted like the connection caps count them (an IPv6 client per /64).
//! A fixed window per address (the first event opens a one-minute window; N events fit
//! in it). Windows that ended are swept out as new ones open, so the table holds only
//! addresses seen in the last minute. The caller passes the time in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

use crate::limits::connection_caps::address_key;

/// The window length.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Counts events per address.
#[derive(Debug)]
pub struct PerAddress {
    limit: u32,
    windows: HashMap<IpAddr, (Instant, u32)>,
    /// When the table was last swept.
    swept: Option<Instant>,
}

impl PerAddress {
    /// At most `limit` events per address per [`WINDOW`]; 0 means no limit.
    pub fn new(limit: u32) -> Self {
        PerAddress {
            limit,
            windows: HashMap::new(),
            swept: None,
        }
    }

    /// Counts one event from `addr` at `now` if it is within the limit; `false` (and
    /// nothing counted) if the address has used up its window.
    pub fn allow(&mut self, addr: IpAddr, now: Instant) -> bool {
        if self.limit == 0 {
            return true;
        }
        if self.swept.is_none_or(|t| now.duration_since(t) >= WINDOW) {
            self.windows
                .retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            self.swept = Some(now);
        }
        let (start, count) = self.windows.entry(address_key(addr)).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        if *count >= self.limit {
            return false;
        }
        *count += 1;
        true
    }

    /// Whether `addr` has used up its allowance at `now` (counts nothing).
    pub fn used_up(&self, addr: IpAddr, now: Instant) -> bool {
        self.limit != 0
            && self
                .windows
                .get(&address_key(addr))
                .is_some_and(|(start, count)| {
                    now.duration_since(*start) < WINDOW && *count >= self.limit
                })
    }

    /// Addresses with an open window (tests).
    pub fn tracked(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_counts_per_64_like_the_connection_caps() {
        let mut limit = PerAddress::new(2);
        let t0 = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_block: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_block: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limit.allow(a, t0) && limit.allow(same_block, t0));
        assert!(
            !limit.allow(a, t0),
            "a new address in the same /64 is the same client"
        );
        assert!(limit.used_up(same_block, t0));
        assert!(limit.allow(other_block, t0));
    }

    #[test]
    fn each_address_gets_its_own_allowance_per_window() {
        let mut limit = PerAddress::new(3);
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!((0..3).all(|_| limit.allow(a, t0)));
        assert!(limit.used_up(a, t0));
        assert!(!limit.allow(a, t0 + Duration::from_secs(59)));
        assert!(!limit.used_up(a, t0 + WINDOW));
        assert!(limit.allow(b, t0), "another address is not affected");
        assert!(limit.allow(a, t0 + WINDOW), "a new window");
        assert!(PerAddress::new(0).allow(a, t0), "0: unlimited");
    }

    #[test]
    fn old_windows_are_swept() {
        let mut limit = PerAddress::new(1);
        let t0 = Instant::now();
        for i in 0..100u8 {
            limit.allow(IpAddr::from([10, 0, 0, i]), t0);
        }
        assert_eq!(limit.tracked(), 100);
        limit.allow(IpAddr::from([10, 0, 1, 0]), t0 + WINDOW);
        assert_eq!(limit.tracked(), 1);
    }
}
