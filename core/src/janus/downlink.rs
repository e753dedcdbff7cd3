//! How much the SFU may send us: the receiver's own downlink estimate. In the mesh
//! each sender's congestion control sees the path to us; through the SFU nobody does
//! (Janus 1.1.2 forwards what it is asked for), so the receiver watches what arrives
//! on its subscriber connection and asks for lower layers when its downlink is full.
//!
//! A full downlink shows as loss across what arrives (a queue overflowing at the
//! bottleneck). Then the budget becomes a little under what did get through, and
//! [`fit`] lowers the largest videos' layers until the plan fits. After a hold with
//! no loss the budget rises, which may bring a layer back up: a probe. A probe that
//! brings loss back is followed by a longer hold, so a downlink just under a layer's
//! rate does not flap between two layers.

use super::client::Layer;
use super::feeds::RemoteStream;
use super::simulcast::LAYERS;
use crate::adaptation::Bitrate;
use crate::time::{Millis, Time};

/// The subscriber connection's inbound totals since it began (all of its streams).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    pub bytes: u64,
    pub packets: u64,
    pub lost: u64,
}

/// This much loss over a sample means the downlink is full.
const CONGESTED_LOSS: f64 = 0.08;
/// Below this much loss a sample counts as clear.
const CLEAR_LOSS: f64 = 0.02;
/// Samples shorter than this, or with fewer packets, say too little.
const MIN_SPAN: Millis = Millis::from_millis(500);
const MIN_PACKETS: u64 = 20;
/// The first wait before raising the budget, and the longest after failed probes.
const HOLD: Millis = Millis::from_secs(6);
const LONGEST_HOLD: Millis = Millis::from_secs(24);
/// After lowering the budget, loss goes on while the queue drains and Janus moves to
/// the lower layers (at their next keyframe): lower again only after this.
const SETTLE: Millis = Millis::from_secs(2);
/// A probe that stays clear this long resets the hold.
const PROBE_PROVEN: Millis = Millis::from_secs(10);
/// Above this the budget is dropped: the downlink is not what limits us.
const NO_LIMIT: Bitrate = Bitrate::mbps(20);
/// The budget never goes below this (audio and the lowest video layer).
const FLOOR: Bitrate = Bitrate::kbps(100);
/// Each received microphone's share of the budget.
pub const AUDIO_RATE: Bitrate = Bitrate::kbps(40);

/// The receiver's downlink budget, fed every stats sample.
#[derive(Debug, Clone)]
pub struct Downlink {
    last: Option<(Time, Received)>,
    budget: Option<Bitrate>,
    /// No raise before this.
    hold_until: Time,
    hold: Millis,
    /// When the budget was last raised, and lowered.
    raised_at: Option<Time>,
    lowered_at: Option<Time>,
}

impl Default for Downlink {
    fn default() -> Self {
        Downlink {
            last: None,
            budget: None,
            hold_until: Time::from_millis(0),
            hold: HOLD,
            raised_at: None,
            lowered_at: None,
        }
    }
}

impl Downlink {
    /// What the SFU may send us; `None`: no limit seen.
    pub fn budget(&self) -> Option<Bitrate> {
        self.budget
    }

    /// A new reading of the subscriber connection. True when the budget changed.
    pub fn sample(&mut self, now: Time, received: Received) -> bool {
        let Some((then, before)) = self.last else {
            self.last = Some((now, received));
            return false;
        };
        if received.bytes < before.bytes || received.packets < before.packets || now < then {
            // A new connection (its counters start again) or a clock gone back.
            self.last = Some((now, received));
            return false;
        }
        let span = now.since(then);
        let packets = received.packets - before.packets;
        let lost = received.lost.saturating_sub(before.lost);
        if span < MIN_SPAN || packets + lost < MIN_PACKETS {
            return false;
        }
        self.last = Some((now, received));
        let loss = lost as f64 / (packets + lost) as f64;
        let rate = Bitrate::from_bytes_in(received.bytes - before.bytes, span);
        if loss >= CONGESTED_LOSS {
            let failed_probe = self
                .raised_at
                .is_some_and(|at| now.since(at) < PROBE_PROVEN);
            if failed_probe {
                self.hold = (self.hold + self.hold).min(LONGEST_HOLD);
            }
            self.raised_at = None;
            self.hold_until = now + self.hold;
            if self.lowered_at.is_some_and(|at| now.since(at) < SETTLE) {
                return false;
            }
            // What got through, less a margin to drain the queue; and if loss goes on
            // under a budget already lower than that (the layers carry more than
            // `typical` says, or a publisher sends no lower layer), lower still: the
            // last step down is frames (temporal layers).
            let through = self.budget.map_or(rate, |b| b.min(rate));
            let budget = through.scaled(0.85).max(FLOOR);
            let lower = self.budget.is_none_or(|b| budget < b);
            if lower {
                self.budget = Some(budget);
                self.lowered_at = Some(now);
            }
            return lower;
        }
        if self
            .raised_at
            .is_some_and(|at| now.since(at) >= PROBE_PROVEN)
        {
            self.hold = HOLD;
        }
        let Some(budget) = self.budget else {
            return false;
        };
        if loss >= CLEAR_LOSS || now < self.hold_until {
            return false;
        }
        // Enough to bring at least one layer up a step, most often.
        let raised = budget.scaled(1.5) + Bitrate::kbps(100);
        self.budget = (raised < NO_LIMIT).then_some(raised);
        self.raised_at = Some(now);
        self.hold_until = now + HOLD;
        true
    }
}

/// About what a layer carries (a 360p camera, VP8): its top rate scaled by the
/// frames kept (temporal layer 0 is a quarter of them, 1 half).
fn typical(layer: Layer) -> Bitrate {
    let top = LAYERS[LAYERS.len() - 1 - usize::from(layer.substream.min(2))].typical;
    top.scaled([0.5, 0.7, 1.0][usize::from(layer.temporal.min(2))])
}

/// Lowers layers of `plan` until it fits `budget`: always the largest video first
/// (fewer pixels before fewer frames), down to the lowest layer, never off.
pub fn fit(plan: &mut [(RemoteStream, Option<Layer>)], budget: Option<Bitrate>) {
    let Some(budget) = budget else { return };
    loop {
        let mut total = Bitrate::bps(0);
        // The largest video's rank (substream, then temporal layer; 0: the lowest
        // layer, nothing left to give up) and where it is.
        let mut largest = (0, 0);
        for (i, (_, layer)) in plan.iter().enumerate() {
            // The plan's streams without a layer are microphones.
            let Some(l) = layer else {
                total = total + AUDIO_RATE;
                continue;
            };
            total = total + typical(*l);
            let rank = l.substream * 3 + l.temporal;
            if rank > largest.0 {
                largest = (rank, i);
            }
        }
        if largest.0 == 0 || total <= budget {
            return;
        }
        if let Some(l) = &mut plan[largest.1].1 {
            if l.substream > 0 {
                l.substream -= 1;
            } else {
                l.temporal -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::janus::MediaKind;
    use crate::layout::TileKind;
    use crate::ParticipantId;

    fn at(ms: u64) -> Time {
        Time::from_millis(ms)
    }

    /// A second of `kbps` arriving with `loss` of its packets lost, fed at `t` ms.
    struct Feed {
        total: Received,
        t: u64,
    }

    impl Feed {
        fn new() -> Feed {
            Feed {
                total: Received::default(),
                t: 0,
            }
        }
        fn second(&mut self, d: &mut Downlink, kbps: u64, loss: f64) -> bool {
            let packets = kbps / 8; // 1000-byte packets
            let lost = (packets as f64 * loss / (1.0 - loss)).round() as u64;
            self.total.bytes += packets * 1000;
            self.total.packets += packets;
            self.total.lost += lost;
            self.t += 1000;
            d.sample(at(self.t), self.total)
        }
    }

    #[test]
    fn no_loss_no_limit() {
        let mut d = Downlink::default();
        let mut f = Feed::new();
        for _ in 0..30 {
            assert!(!f.second(&mut d, 2000, 0.0));
        }
        assert_eq!(d.budget(), None);
    }

    #[test]
    fn a_full_downlink_sets_a_budget_under_what_gets_through() {
        let mut d = Downlink::default();
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
        let mut d = Downlink::default();
        let mut f = Feed::new();
        f.second(&mut d, 1000, 0.0);
        f.second(&mut d, 400, 0.3);
        let low = d.budget().unwrap();
        let mut waited = 0;
        while !f.second(&mut d, 300, 0.0) {
            waited += 1;
        }
        assert!((5..=6).contains(&waited), "raised after {waited} s");
        assert!(d.budget().unwrap() > low);
        // The probe brings loss back at once: the next hold is twice as long.
        f.second(&mut d, 400, 0.2);
        let mut waited = 0;
        while !f.second(&mut d, 300, 0.0) {
            waited += 1;
        }
        assert!((11..=12).contains(&waited), "raised after {waited} s");
        // Clear for long enough, raises go on until there is no limit.
        for _ in 0..200 {
            f.second(&mut d, 300, 0.0);
        }
        assert_eq!(d.budget(), None);
    }

    #[test]
    fn counters_starting_again_are_a_new_connection_not_a_sample() {
        let mut d = Downlink::default();
        d.sample(
            at(1000),
            Received {
                bytes: 1_000_000,
                packets: 1000,
                lost: 0,
            },
        );
        assert!(!d.sample(
            at(2000),
            Received {
                bytes: 10,
                packets: 1,
                lost: 500
            }
        ));
        assert_eq!(d.budget(), None);
    }

    fn video(id: u64, substream: u8) -> (RemoteStream, Option<Layer>) {
        let stream = RemoteStream {
            participant: ParticipantId::new(id),
            source: TileKind::Camera,
            kind: MediaKind::Video,
        };
        (
            stream,
            Some(Layer {
                substream,
                temporal: 2,
            }),
        )
    }

    fn substreams(plan: &[(RemoteStream, Option<Layer>)]) -> Vec<(u8, u8)> {
        plan.iter()
            .filter_map(|(_, l)| l.map(|l| (l.substream, l.temporal)))
            .collect()
    }

    #[test]
    fn the_largest_video_steps_down_first_until_the_plan_fits() {
        let mut plan = vec![video(1, 2), video(2, 1), video(3, 2)];
        fit(&mut plan, None);
        assert_eq!(substreams(&plan), vec![(2, 2), (1, 2), (2, 2)]);
        // Room for one top layer and two middle ones.
        let budget = typical(Layer {
            substream: 2,
            temporal: 2,
        }) + typical(Layer {
            substream: 1,
            temporal: 2,
        })
        .scaled(2.0);
        fit(&mut plan, Some(budget));
        assert_eq!(substreams(&plan), vec![(1, 2), (1, 2), (2, 2)]);
        // Too little for anything: every video at its lowest, none off.
        fit(&mut plan, Some(Bitrate::kbps(1)));
        assert_eq!(substreams(&plan), vec![(0, 0), (0, 0), (0, 0)]);
    }
}
