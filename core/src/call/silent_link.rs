//! [`SilentLink`]: a mesh link that connected but over which nothing ever arrived,
//! though the other side sends (its microphone or camera is on).
//!
//! Seen in Firefox behind a firewall that blocks all UDP: after an ICE restart its
//! link relayed over TURN/TCP was connected both ways and carried the other side's
//! media, yet sent nothing itself. Nothing else notices it: a stall counts only on a
//! link that had media, and the connection state is fine. A new connection (the
//! other side follows on seeing its new certificate) behaves like a first one.

use crate::time::{Millis, Time};

/// How long a connected link may stay silent before it is made anew, for the side
/// that offers on it; the other side waits [`RESPONDER_EXTRA`] longer, so that
/// normally one side acts and the other follows.
pub const SILENT_AFTER: Millis = Millis::from_secs(8);
pub const RESPONDER_EXTRA: Millis = Millis::from_secs(6);
/// New connections per link at most: if those stay silent too, something else is
/// wrong, and making more would not help.
const MAX_RENEWALS: u32 = 2;

#[derive(Debug, Clone, Default)]
pub struct SilentLink {
    /// Since when the link is connected with nothing received yet.
    since: Option<Time>,
    heard: bool,
    renewals: u32,
}

impl SilentLink {
    /// A reading of the link: `connected`, its inbound RTP packet total, and whether
    /// the other side sends anything. True when the link is to be made anew now.
    pub fn observe(
        &mut self,
        now: Time,
        connected: bool,
        packets: Option<u64>,
        expects_media: bool,
        initiator: bool,
    ) -> bool {
        self.heard |= packets.is_some_and(|p| p > 0);
        if self.heard || !connected || !expects_media {
            self.since = None;
            return false;
        }
        let since = *self.since.get_or_insert(now);
        let wait = if initiator {
            SILENT_AFTER
        } else {
            SILENT_AFTER + RESPONDER_EXTRA
        };
        if now.since(since) < wait || self.renewals >= MAX_RENEWALS {
            return false;
        }
        self.renewals += 1;
        self.since = None;
        true
    }

    /// The link was made anew (by us or by the other side): its counters start again.
    pub fn renewed(&mut self) {
        self.since = None;
        self.heard = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    #[test]
    fn a_connected_link_silent_for_eight_seconds_is_made_anew_by_the_offering_side() {
        let mut s = SilentLink::default();
        assert!(!s.observe(at(0), true, Some(0), true, true));
        assert!(!s.observe(at(7_000), true, Some(0), true, true));
        assert!(s.observe(at(8_000), true, Some(0), true, true));
        // Once: the new link gets its own eight seconds.
        assert!(!s.observe(at(8_500), true, Some(0), true, true));
        // The other side waits longer.
        let mut s = SilentLink::default();
        assert!(!s.observe(at(0), true, None, true, false));
        assert!(!s.observe(at(13_000), true, None, true, false));
        assert!(s.observe(at(14_000), true, None, true, false));
    }

    #[test]
    fn media_once_heard_or_nothing_expected_or_not_connected_is_no_silence() {
        let mut s = SilentLink::default();
        s.observe(at(0), true, Some(3), true, true);
        assert!(!s.observe(at(60_000), true, Some(3), true, true), "heard");
        let mut s = SilentLink::default();
        assert!(!s.observe(at(0), true, Some(0), false, true));
        assert!(
            !s.observe(at(60_000), true, Some(0), false, true),
            "sends nothing"
        );
        let mut s = SilentLink::default();
        assert!(!s.observe(at(0), false, Some(0), true, true));
        assert!(
            !s.observe(at(60_000), false, Some(0), true, true),
            "still connecting"
        );
        assert!(
            !s.observe(at(61_000), true, Some(0), true, true),
            "connected only now"
        );
    }

    #[test]
    fn at_most_two_new_connections() {
        let mut s = SilentLink::default();
        let mut renewed = 0;
        for t in (0..120_000).step_by(500) {
            if s.observe(at(t), true, Some(0), true, true) {
                renewed += 1;
                s.renewed();
            }
        }
        assert_eq!(renewed, 2);
    }
}
