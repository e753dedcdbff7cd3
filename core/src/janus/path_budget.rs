//! What a path to or from the SFU carries, from the loss on it. In the mesh each
//! sender's congestion control sees the whole path to its one receiver; through the SFU
//! the paths are cut in two. Janus 1.1.2 forwards to a receiver what it is asked for,
//! so the receiver watches what arrives and budgets its downlink (`downlink::fit`
//! lowers layers to it); a publisher watches what the SFU reports lost of what it
//! sends and budgets its uplink (`simulcast::layer_caps` turns layers off to it).
//!
//! A full path shows as loss (a queue overflowing at the bottleneck). Then the budget
//! becomes a little under what did get through. After a hold with no loss the budget
//! rises: a probe. A probe that brings loss back goes back to the budget it started
//! from (that one held) and is followed by a longer hold, so a path just under a
//! layer's rate does not flap between two layers. Once raises have gone on clear for a
//! while the hold is short again, so a path that was bad for long comes back at the
//! pace of a path that never was.

use crate::adaptation::Bitrate;
use crate::time::{Millis, Time};

/// A connection's media totals since it began, all of its streams: what arrived (or,
/// sending, what went out) and what the receiving end counted lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub bytes: u64,
    pub packets: u64,
    pub lost: u64,
}

/// This much loss over a sample means the path is full.
const CONGESTED_LOSS: f64 = 0.08;
/// Below this much loss a sample counts as clear.
const CLEAR_LOSS: f64 = 0.02;
/// Samples shorter than this, or with fewer packets, say too little.
const MIN_SPAN: Millis = Millis::from_millis(500);
const MIN_PACKETS: u64 = 20;
/// A sender with fewer packets in a sample has no say in its loss (one lost of five
/// is no measure).
const MIN_SENDER_PACKETS: u64 = 10;
/// The first wait before raising the budget, and the longest after failed probes.
const HOLD: Millis = Millis::from_secs(6);
const LONGEST_HOLD: Millis = Millis::from_secs(24);
/// After lowering the budget, loss goes on while the queue drains and Janus moves to
/// the lower layers (at their next keyframe): lower again only after this.
const SETTLE: Millis = Millis::from_secs(2);
/// Loss this soon after a raise is the probe's (the sender takes seconds to use the
/// room it was given). Raises that go on this long with no loss reset the hold.
const PROBE_PROVEN: Millis = Millis::from_secs(10);
/// Above this the budget is dropped: the path is not what limits us.
const NO_LIMIT: Bitrate = Bitrate::mbps(20);
/// The budget never goes below this (audio and the lowest video layer).
const FLOOR: Bitrate = Bitrate::kbps(100);

/// One path's budget, fed every stats sample.
#[derive(Debug, Clone)]
pub struct PathBudget {
    /// The last reading used, per stream.
    last: Option<(Time, Vec<(u32, Delivered)>)>,
    budget: Option<Bitrate>,
    /// No raise before this.
    hold_until: Time,
    hold: Millis,
    /// When the budget was last raised, and lowered.
    raised_at: Option<Time>,
    lowered_at: Option<Time>,
    /// The budget before the last raise: where a failed probe goes back to.
    probe_from: Option<Bitrate>,
    /// The first raise since the path was last full.
    clear_raises_since: Option<Time>,
}

impl Default for PathBudget {
    fn default() -> Self {
        PathBudget {
            last: None,
            budget: None,
            hold_until: Time::from_millis(0),
            hold: HOLD,
            raised_at: None,
            lowered_at: None,
            probe_from: None,
            clear_raises_since: None,
        }
    }
}

impl PathBudget {
    /// What the path carries; `None`: no limit seen.
    pub fn budget(&self) -> Option<Bitrate> {
        self.budget
    }

    /// A new reading of the connection, all its streams together: for a path all of
    /// whose streams are ours (a publisher's uplink). True when the budget changed.
    pub fn sample(&mut self, now: Time, total: Delivered) -> bool {
        self.sample_streams(now, vec![(0, 0, total)])
    }

    /// A new reading of the connection, per stream: `(sender, stream, totals)`, keys
    /// that stay the same (a participant's id, an SSRC). For a path that carries
    /// others' streams (a receiver's downlink). A full path loses on every sender's
    /// streams, while loss on one sender's is theirs (a publisher's own uplink, before
    /// the SFU): the loss that counts is the median sender's. Per sender, not per
    /// stream: a lossy publisher's audio and video are one vote, not two against a
    /// muted one's video. True when the budget changed.
    pub fn sample_streams(&mut self, now: Time, streams: Vec<(u64, u32, Delivered)>) -> bool {
        match self.measure(now, streams) {
            Some((rate, loss)) => self.react(now, rate, loss),
            None => false,
        }
    }

    /// What got through since the last reading used, and the median sender's loss;
    /// `None` while that says too little. A reading too short or with too few packets
    /// is skipped (the next one covers its time); a clock gone back, or streams all new
    /// (a new connection), start again from it.
    fn measure(
        &mut self,
        now: Time,
        streams: Vec<(u64, u32, Delivered)>,
    ) -> Option<(Bitrate, Loss)> {
        let mut measured = None;
        let mut skip = false;
        if let Some((then, before)) = self.last.as_ref().filter(|(then, _)| now >= *then) {
            let span = now.since(*then);
            let (mut bytes, mut packets, mut matched) = (0, 0, 0);
            // Per sender: packets that arrived and were lost since the last reading.
            let mut senders: Vec<(u64, u64, u64)> = Vec::new();
            for (sender, key, after) in &streams {
                // A stream new since the last reading, or whose counters started
                // again, counts from the next one.
                let Some((_, b)) = before.iter().find(|(k, _)| k == key) else {
                    continue;
                };
                if after.bytes < b.bytes || after.packets < b.packets {
                    continue;
                }
                matched += 1;
                let (got, lost) = (after.packets - b.packets, after.lost.saturating_sub(b.lost));
                bytes += after.bytes - b.bytes;
                packets += got + lost;
                match senders.iter_mut().find(|(s, _, _)| s == sender) {
                    Some((_, g, l)) => (*g, *l) = (*g + got, *l + lost),
                    None => senders.push((*sender, got, lost)),
                }
            }
            // Senders with a say, and how many of them lost less than each threshold.
            let (mut voters, mut under_congested, mut under_clear) = (0, 0, 0);
            for (_, got, lost) in senders {
                if got + lost >= MIN_SENDER_PACKETS {
                    let loss = lost as f64 / (got + lost) as f64;
                    voters += 1;
                    under_congested += usize::from(loss < CONGESTED_LOSS);
                    under_clear += usize::from(loss < CLEAR_LOSS);
                }
            }
            skip = matched > 0 && (span < MIN_SPAN || packets < MIN_PACKETS);
            if matched > 0 && !skip && voters > 0 {
                // The median sender (the lower one of an even count) is at or over a
                // threshold when no more than `half` of the senders are under it.
                let half = (voters - 1) / 2;
                let loss = if under_congested <= half {
                    Loss::Congested
                } else if under_clear <= half {
                    Loss::Unclear
                } else {
                    Loss::Clear
                };
                measured = Some((Bitrate::from_bytes_in(bytes, span), loss));
            }
        }
        if !skip {
            let streams = streams.into_iter().map(|(_, key, totals)| (key, totals));
            self.last = Some((now, streams.collect()));
        }
        measured
    }

    fn react(&mut self, now: Time, rate: Bitrate, loss: Loss) -> bool {
        if loss == Loss::Congested {
            let failed_probe = self
                .raised_at
                .is_some_and(|at| now.since(at) < PROBE_PROVEN);
            if failed_probe {
                self.hold = (self.hold + self.hold).min(LONGEST_HOLD);
            }
            self.raised_at = None;
            self.clear_raises_since = None;
            let probe_from = self.probe_from.take().filter(|_| failed_probe);
            self.hold_until = now + self.hold;
            if self.lowered_at.is_some_and(|at| now.since(at) < SETTLE) {
                return false;
            }
            // What got through, less a margin to drain the queue; and if loss goes on
            // under a budget already lower than that (the layers carry more than
            // `typical` says, or a publisher sends no lower layer), lower still.
            let through = self.budget.map_or(rate, |b| b.min(rate));
            // A failed probe's loss is what it added: back to the budget before it,
            // which held. Not lower: the sender may not have caught up with that
            // budget yet, so what got through says little of the path (and a last
            // report of loss from before the raise must not undo the climb).
            let budget = through
                .scaled(0.85)
                .max(FLOOR)
                .max(probe_from.unwrap_or(FLOOR));
            let lower = self.budget.is_none_or(|b| budget < b);
            if lower {
                self.budget = Some(budget);
                self.lowered_at = Some(now);
            }
            return lower;
        }
        if self
            .clear_raises_since
            .is_some_and(|at| now.since(at) >= PROBE_PROVEN)
        {
            self.hold = HOLD;
        }
        let Some(budget) = self.budget else {
            return false;
        };
        if loss != Loss::Clear || now < self.hold_until {
            return false;
        }
        // Enough to bring at least one layer up a step, most often.
        let raised = budget.scaled(1.5) + Bitrate::kbps(100);
        self.budget = (raised < NO_LIMIT).then_some(raised);
        self.probe_from = Some(budget);
        self.raised_at = Some(now);
        self.clear_raises_since.get_or_insert(now);
        self.hold_until = now + HOLD;
        true
    }
}

/// A reading's loss, as the thresholds class it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loss {
    Congested,
    /// Between the two thresholds: neither lower nor raise.
    Unclear,
    Clear,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    /// A second of `kbps` arriving with `loss` of its packets lost, fed at `t` ms.
    struct Feed {
        total: Delivered,
        t: u64,
    }

    impl Feed {
        fn new() -> Feed {
            Feed {
                total: Delivered::default(),
                t: 0,
            }
        }
        fn second(&mut self, d: &mut PathBudget, kbps: u64, loss: f64) -> bool {
            let packets = kbps / 8; // 1000-byte packets
            let lost = (packets as f64 * loss / (1.0 - loss)).round() as u64;
            self.total.bytes += packets * 1000;
            self.total.packets += packets;
            self.total.lost += lost;
            self.t += 1000;
            d.sample(at(self.t), self.total)
        }
        /// Clear seconds of `kbps` until the budget rises: how many went by before.
        fn seconds_until_raised(&mut self, d: &mut PathBudget, kbps: u64) -> u32 {
            let mut waited = 0;
            while !self.second(d, kbps, 0.0) {
                waited += 1;
            }
            waited
        }
    }

    #[test]
    fn no_loss_no_limit() {
        let mut d = PathBudget::default();
        let mut f = Feed::new();
        for _ in 0..30 {
            assert!(!f.second(&mut d, 2000, 0.0));
        }
        assert_eq!(d.budget(), None);
    }

    #[test]
    fn a_full_path_sets_a_budget_under_what_gets_through() {
        let mut d = PathBudget::default();
        let mut f = Feed::new();
        f.second(&mut d, 1200, 0.0);
        assert!(f.second(&mut d, 400, 0.3));
        let b = d.budget().expect("a budget");
        assert!(b < Bitrate::kbps(400) && b > Bitrate::kbps(300), "{b}");
        // Loss goes on: lowered again once the last step had time to take effect.
        assert!(!f.second(&mut d, 400, 0.3));
        assert_eq!(d.budget(), Some(b));
        assert!(f.second(&mut d, 400, 0.3));
        assert!(d.budget().unwrap() < b);
    }

    #[test]
    fn the_budget_rises_after_a_clear_hold_and_a_failed_probe_waits_longer() {
        let mut d = PathBudget::default();
        let mut f = Feed::new();
        f.second(&mut d, 1000, 0.0);
        f.second(&mut d, 400, 0.3);
        let low = d.budget().unwrap();
        let waited = f.seconds_until_raised(&mut d, 300);
        assert!((5..=6).contains(&waited), "raised after {waited} s");
        assert!(d.budget().unwrap() > low);
        // The probe brings loss back at once: the next hold is twice as long.
        f.second(&mut d, 400, 0.2);
        let waited = f.seconds_until_raised(&mut d, 300);
        assert!((11..=12).contains(&waited), "raised after {waited} s");
        // Clear for long enough, raises go on until there is no limit.
        for _ in 0..200 {
            f.second(&mut d, 300, 0.0);
        }
        assert_eq!(d.budget(), None);
    }

    #[test]
    fn a_failed_probe_goes_back_to_the_budget_it_started_from() {
        let mut d = PathBudget::default();
        let mut f = Feed::new();
        f.second(&mut d, 1000, 0.0);
        f.second(&mut d, 500, 0.3);
        let held = d.budget().unwrap();
        f.seconds_until_raised(&mut d, 300);
        assert!(d.budget().unwrap() > held);
        // Loss right after the raise, while the sender still sends less than the old
        // budget: back to that budget, not to 85 % of the little that went.
        assert!(f.second(&mut d, 200, 0.2));
        assert_eq!(d.budget(), Some(held));
        // Loss that goes on after that is the path's: lowered to what gets through.
        f.second(&mut d, 200, 0.2);
        assert!(f.second(&mut d, 200, 0.2));
        assert!(d.budget().unwrap() < Bitrate::kbps(200), "{:?}", d.budget());
    }

    /// A publisher whose uplink is policed at 400 kb/s for a minute, then clear. It
    /// sends what its layers need under their caps, but no more than its own congestion control
    /// allows: that one falls to what gets through on loss and rises 8 % a second (as
    /// a browser's does), so after the police it sends less than the budget for a
    /// while. `blip` adds one report of loss in the second after the first raise once
    /// clear (a last report from the policed time, or a queue dropped as the police
    /// went).
    fn seconds_until_the_top_layer_is_back(blip: bool) -> u64 {
        use crate::janus::simulcast::{layer_caps, LAYERS};
        let mut d = PathBudget::default();
        let mut f = Feed::new();
        let mut estimate = 2000.0_f64;
        let mut second = |d: &mut PathBudget, police: u64, extra_loss: f64| -> bool {
            let caps = layer_caps(d.budget());
            // An encoder sends what its picture needs, under its cap.
            let layers: u64 = caps
                .iter()
                .zip(LAYERS)
                .filter(|(c, _)| c.active)
                .map(|(c, l)| c.max_bitrate.min(l.typical).as_bps() / 1000)
                .sum();
            let rate = (layers + 40).min(estimate as u64);
            let through = rate.min(police);
            let loss = (rate - through) as f64 / rate as f64;
            estimate = if loss > 0.1 {
                through as f64
            } else {
                (estimate * 1.08).min(2.0 * rate as f64)
            };
            f.second(d, through, loss.max(extra_loss))
        };
        for _ in 0..60 {
            second(&mut d, 400, 0.0);
        }
        assert!(
            !layer_caps(d.budget())[0].active,
            "the top layer is off under the police"
        );
        let mut blipped = !blip;
        for s in 1..=300 {
            let raised = second(&mut d, 10_000, 0.0);
            if raised && !blipped {
                blipped = true;
                second(&mut d, 10_000, 0.2);
            }
            if layer_caps(d.budget())[0].active {
                return s;
            }
        }
        panic!("the top layer never came back");
    }

    #[test]
    fn a_path_bad_for_long_comes_back_within_the_longest_hold_and_a_few_raises() {
        let clean = seconds_until_the_top_layer_is_back(false);
        assert!(
            clean <= LONGEST_HOLD.as_millis() / 1000 + 3 * 6,
            "{clean} s"
        );
        // A lone report of loss costs one longest hold, not the climb.
        let blip = seconds_until_the_top_layer_is_back(true);
        assert!(
            blip <= clean + LONGEST_HOLD.as_millis() / 1000 + 6,
            "{blip} s (clean {clean} s)"
        );
    }

    #[test]
    fn raises_that_go_on_clear_make_the_hold_short_again() {
        let mut d = PathBudget::default();
        let mut f = Feed::new();
        f.second(&mut d, 1000, 0.0);
        // Failed probes stretch the hold to the longest.
        for _ in 0..4 {
            f.second(&mut d, 500, 0.3);
            f.seconds_until_raised(&mut d, 300);
        }
        f.second(&mut d, 500, 0.3);
        let waited = f.seconds_until_raised(&mut d, 300);
        assert!(waited >= 23, "longest hold: {waited} s");
        // Raises every six seconds, clear, for more than ten: the hold is short again,
        // and a probe that then fails doubles that, not the longest.
        for _ in 0..13 {
            f.second(&mut d, 300, 0.0);
        }
        f.second(&mut d, 500, 0.3);
        let waited = f.seconds_until_raised(&mut d, 300);
        assert!((11..=12).contains(&waited), "raised after {waited} s");
    }

    #[test]
    fn counters_starting_again_are_a_new_connection_not_a_sample() {
        let mut d = PathBudget::default();
        d.sample(
            at(1000),
            Delivered {
                bytes: 1_000_000,
                packets: 1000,
                lost: 0,
            },
        );
        assert!(!d.sample(
            at(2000),
            Delivered {
                bytes: 10,
                packets: 1,
                lost: 500
            }
        ));
        assert_eq!(d.budget(), None);
    }

    /// A downlink carrying `senders`, each with its streams of 400 kb/s (50 packets a
    /// second each, `(sender, ssrc)`); `lossy(sender)` of them lose 30 %.
    struct Downlink {
        streams: Vec<(u64, u32, Delivered)>,
        t: u64,
    }

    impl Downlink {
        fn new(streams: &[(u64, u32)]) -> Downlink {
            let streams = streams.iter().map(|&(s, k)| (s, k, Delivered::default()));
            Downlink {
                streams: streams.collect(),
                t: 0,
            }
        }
        fn second(&mut self, d: &mut PathBudget, lossy: impl Fn(u64) -> bool) -> bool {
            for (sender, _, s) in &mut self.streams {
                let lossy = lossy(*sender);
                s.bytes += 50_000;
                s.packets += if lossy { 35 } else { 50 };
                s.lost += if lossy { 15 } else { 0 };
            }
            self.t += 1000;
            d.sample_streams(at(self.t), self.streams.clone())
        }
    }

    #[test]
    fn the_median_sender_s_loss_counts_so_one_lossy_publisher_does_not_lower_a_downlink() {
        let mut d = PathBudget::default();
        let mut link = Downlink::new(&[(1, 7), (2, 8), (3, 9)]);
        link.second(&mut d, |_| false);
        for _ in 2..10 {
            assert!(!link.second(&mut d, |s| s == 1), "one lossy sender");
        }
        assert_eq!(d.budget(), None);
        // Two of three: the downlink is full.
        assert!(link.second(&mut d, |s| s != 3));
        assert!(d.budget().is_some());
    }

    #[test]
    fn a_lossy_publisher_s_audio_and_video_are_one_vote() {
        // Sender 1 sends audio and video, both lossy (its uplink); sender 2 is muted:
        // its video alone. Counted per stream, two of three would lose.
        let mut d = PathBudget::default();
        let mut link = Downlink::new(&[(1, 10), (1, 11), (2, 20)]);
        link.second(&mut d, |_| false);
        for _ in 2..10 {
            assert!(!link.second(&mut d, |s| s == 1));
        }
        assert_eq!(d.budget(), None);
        // Both senders lose: the downlink is full.
        assert!(link.second(&mut d, |_| true));
    }
}
