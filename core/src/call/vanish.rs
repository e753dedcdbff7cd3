//! Whether a participant whose signaling socket ended is gone, judged from our own
//! link to it: the server says at once that the socket ended (`interrupted`), and
//! keeps the seat for a while in case the participant resumes. A browser that was
//! killed also stops sending on every link; one that only lost its signaling goes on.
//!
//! The evidence is the link's inbound counters: RTP packets and transport bytes
//! (RTCP included). A browser killed sends neither; one alive sends RTCP reports and
//! feedback about our media even when it sends no media itself. A participant that
//! was sending media sends packets many times a second (a muted microphone still sends
//! silence), so [`PACKET_WINDOW`] without anything arriving means it is gone; one that
//! sent no media, only RTCP (at most about a second apart), gets [`BYTE_WINDOW`]. A
//! link where nothing moved before the interruption is no evidence either way: the
//! participant stays visible until the server says `left`.

use crate::time::{Millis, Time};

/// How long inbound RTP may stand still on a link that carried media before the
/// interruption, before the participant counts as gone. Audio alone comes every 20 ms,
/// so a live sender fills this five times over; a rare longer gap on a bad network
/// only hides the tile until the next packet (which shows it again).
pub const PACKET_WINDOW: Millis = Millis::from_millis(100);

/// The same for transport bytes (RTCP, feedback) on a link that carried no media.
pub const BYTE_WINDOW: Millis = Millis::from_millis(2_500);

/// How recent a counter's growth before the interruption must be to count as "was
/// flowing" (the link's own stall detection uses the same span).
const FLOWING_LOOKBACK: Millis = crate::recovery::STALL_AFTER;

/// When no sample answered a request, how long before asking again.
const ASK_AGAIN: Millis = Millis::from_millis(100);

/// One inbound counter of a link, always kept (the watch needs its history from
/// before the interruption).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Trend {
    last: Option<u64>,
    grew_at: Option<Time>,
}

impl Trend {
    pub(crate) fn observe(&mut self, now: Time, value: Option<u64>) {
        let Some(value) = value else { return };
        if self.last.is_some_and(|last| value > last) {
            self.grew_at = Some(now);
        }
        self.last = Some(value);
    }

    /// Whether it grew shortly before `since`, or after it.
    fn flowing_around(&self, since: Time) -> bool {
        self.grew_at
            .is_some_and(|at| at + FLOWING_LOOKBACK >= since)
    }
}

/// A link's inbound counters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Inbound {
    pub packets: Trend,
    pub bytes: Trend,
}

/// The counters at the start of a window (the first sample at or after the
/// interruption, then the last one that showed growth).
#[derive(Debug, Clone, Copy)]
struct Anchor {
    at: Time,
    packets: Option<u64>,
    bytes: Option<u64>,
    /// How long both may stand still before the participant counts as gone.
    window: Millis,
}

/// What a sample says about the participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Still deciding, or no evidence.
    Unsure,
    /// Something arrived since the interruption (or since the last time): alive.
    Alive,
    /// Nothing arrived for a whole window: gone.
    Gone,
}

/// How two readings of one counter compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Grew,
    Flat,
    /// Went back (a stats entry briefly missing), or read once and not the other time.
    Unknown,
    /// Read neither time.
    Unread,
}

fn change(before: Option<u64>, now: Option<u64>) -> Change {
    match (before, now) {
        (Some(a), Some(b)) if b > a => Change::Grew,
        (Some(a), Some(b)) if b == a => Change::Flat,
        (None, None) => Change::Unread,
        _ => Change::Unknown,
    }
}

/// The watch over one interrupted participant's link, from the interruption until the
/// participant is back or leaves. Both counters count as signs of life; which one
/// flowed before the interruption sets how long silence must last.
#[derive(Debug, Clone)]
pub(crate) struct VanishWatch {
    since: Time,
    anchor: Option<Anchor>,
    /// A sample at or after `since` arrived.
    sampled: bool,
    /// When a fresh sample was last asked for.
    asked: Time,
}

impl VanishWatch {
    /// Starts at `since`, with a sample being asked for now.
    pub(crate) fn new(since: Time) -> Self {
        VanishWatch {
            since,
            anchor: None,
            sampled: false,
            asked: since,
        }
    }

    /// A sample read at `now`; `inbound` already includes it.
    pub(crate) fn observe(
        &mut self,
        now: Time,
        packets: Option<u64>,
        bytes: Option<u64>,
        inbound: &Inbound,
    ) -> Verdict {
        if now < self.since {
            return Verdict::Unsure;
        }
        self.sampled = true;
        let fresh = |window| Anchor {
            at: now,
            packets,
            bytes,
            window,
        };
        let Some(anchor) = self.anchor else {
            // Media flowed: packets come many times a second. Only RTCP did: it comes
            // about once a second. Neither: no evidence (chosen again with the next
            // sample, in case something starts flowing).
            let window = if inbound.packets.flowing_around(self.since) {
                Some(PACKET_WINDOW)
            } else if inbound.bytes.flowing_around(self.since) {
                Some(BYTE_WINDOW)
            } else {
                None
            };
            self.anchor = window.map(fresh);
            return Verdict::Unsure;
        };
        let changes = [change(anchor.packets, packets), change(anchor.bytes, bytes)];
        if changes.contains(&Change::Grew) {
            self.anchor = Some(fresh(anchor.window));
            Verdict::Alive
        } else if changes.contains(&Change::Unknown) {
            // Proves nothing either way: the window starts again.
            self.anchor = Some(fresh(anchor.window));
            Verdict::Unsure
        } else if changes.contains(&Change::Flat) && now.since(anchor.at) >= anchor.window {
            Verdict::Gone
        } else {
            Verdict::Unsure
        }
    }

    /// When a fresh sample would settle the question: at the end of the window, or
    /// (while no sample came) again after the first request. Never earlier than
    /// [`ASK_AGAIN`] after the last request, so an unanswered one is not asked again
    /// in a loop. `None` when the samples so far are no evidence: the regular ones
    /// will tell if something starts flowing.
    pub(crate) fn sample_due(&self) -> Option<Time> {
        let due = match self.anchor {
            Some(anchor) => anchor.at + anchor.window,
            None if self.sampled => return None,
            None => self.since + PACKET_WINDOW,
        };
        Some(due.max(self.asked + ASK_AGAIN))
    }

    /// A sample was asked for at `now`.
    pub(crate) fn asked(&mut self, now: Time) {
        self.asked = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    /// Feeds (time, packets, bytes) samples; returns each verdict.
    fn run(samples: &[(u64, u64, u64)], since: u64) -> Vec<Verdict> {
        let mut inbound = Inbound::default();
        let mut watch: Option<VanishWatch> = None;
        let mut verdicts = Vec::new();
        for &(at, packets, bytes) in samples {
            inbound.packets.observe(t(at), Some(packets));
            inbound.bytes.observe(t(at), Some(bytes));
            if at >= since {
                let w = watch.get_or_insert_with(|| VanishWatch::new(t(since)));
                verdicts.push(w.observe(t(at), Some(packets), Some(bytes), &inbound));
            }
        }
        verdicts
    }

    #[test]
    fn packets_that_stop_after_the_interruption() {
        use Verdict::*;
        let v = run(
            &[
                (0, 100, 1_000),
                (250, 110, 1_100),
                (300, 110, 1_100),
                (399, 110, 1_100),
                (400, 110, 1_100),
            ],
            260,
        );
        // Anchored at 300; flat for 99 ms is not yet enough, 100 ms is.
        assert_eq!(v, [Unsure, Unsure, Gone]);
    }

    #[test]
    fn packets_that_go_on_mean_alive_until_they_stop() {
        use Verdict::*;
        let v = run(
            &[
                (0, 100, 0),
                (250, 110, 0),
                (300, 111, 0),
                (500, 120, 0),
                (700, 130, 0),
                (900, 130, 0),
            ],
            260,
        );
        assert_eq!(v, [Unsure, Alive, Alive, Gone]);
    }

    #[test]
    fn without_media_transport_bytes_over_a_longer_window() {
        use Verdict::*;
        let v = run(
            &[
                (0, 0, 1_000),
                (1_000, 0, 1_200),
                (1_010, 0, 1_200),
                (2_000, 0, 1_200),
                (3_509, 0, 1_200),
                (3_510, 0, 1_200),
            ],
            1_005,
        );
        assert_eq!(v, [Unsure, Unsure, Unsure, Gone]);
        let alive = run(
            &[
                (0, 0, 1_000),
                (1_000, 0, 1_200),
                (1_010, 0, 1_200),
                (2_000, 0, 1_300),
            ],
            1_005,
        );
        assert_eq!(alive, [Unsure, Alive]);
    }

    #[test]
    fn rtcp_alone_is_a_sign_of_life_too() {
        use Verdict::*;
        let v = run(
            &[
                (0, 100, 1_000),
                (250, 110, 1_100),
                (300, 110, 1_100),
                (500, 110, 1_150),
                (700, 110, 1_150),
            ],
            260,
        );
        assert_eq!(v, [Unsure, Alive, Gone]);
    }

    #[test]
    fn a_link_where_nothing_moved_is_no_evidence() {
        let v = run(
            &[
                (0, 5, 100),
                (1_000, 5, 100),
                (1_010, 5, 100),
                (9_000, 5, 100),
            ],
            1_005,
        );
        assert!(v.iter().all(|v| *v == Verdict::Unsure), "{v:?}");
    }

    #[test]
    fn a_counter_going_back_restarts_the_window() {
        use Verdict::*;
        let v = run(
            &[
                (0, 100, 0),
                (250, 110, 0),
                (260, 110, 0),
                (400, 40, 0),
                (480, 40, 0),
                (600, 40, 0),
            ],
            255,
        );
        assert_eq!(v, [Unsure, Unsure, Unsure, Gone]);
    }

    #[test]
    fn samples_are_asked_for_at_the_end_of_the_window_but_not_in_a_loop() {
        let mut w = VanishWatch::new(t(5));
        assert_eq!(w.sample_due(), Some(t(105)));
        let mut inbound = Inbound::default();
        inbound.packets.observe(t(0), Some(10));
        inbound.packets.observe(t(4), Some(20));
        w.observe(t(25), Some(20), None, &inbound);
        assert_eq!(w.sample_due(), Some(t(125)));
        w.asked(t(125));
        assert_eq!(w.sample_due(), Some(t(225)));
        // No evidence: no more requests.
        let mut w = VanishWatch::new(t(5));
        w.observe(t(25), Some(0), Some(0), &Inbound::default());
        assert_eq!(w.sample_due(), None);
    }
}
