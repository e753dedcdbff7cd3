//! Invariants of the adaptation controller under arbitrary input: the uplink budget
//! is never exceeded, audio never stops, nonsense never panics, and constant input
//! leads to decisions that stop changing.

mod netsim;

use std::collections::BTreeMap;

use netsim::harness::{Conditions, Harness};
use nonstop_core::adaptation::{
    Bitrate, Content, Controller, Framerate, Millis, QualityLimitation, ReceiverHint, Resolution,
    SendParams, StatsSample, Time, VideoSource,
};
use proptest::prelude::*;

/// Any float a browser (or a bug in the glue) might hand over.
fn wild_f64(normal: std::ops::Range<f64>) -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => normal,
        1 => Just(f64::NAN),
        1 => Just(-1.0),
        1 => Just(f64::INFINITY),
        1 => any::<f64>(),
    ]
}

fn sample() -> impl Strategy<Value = StatsSample> {
    (
        proptest::option::of(wild_f64(0.0..5e6)),
        proptest::option::of(wild_f64(0.0..2.0)),
        proptest::option::of(wild_f64(0.0..0.6)),
        proptest::option::of(0u64..200_000_000),
        proptest::option::of((0u32..4000, 0u32..4000)),
        proptest::option::of(wild_f64(0.0..60.0)),
        prop_oneof![
            Just("none"),
            Just("cpu"),
            Just("bandwidth"),
            Just("other"),
            Just("?")
        ],
    )
        .prop_map(|(aob, rtt_s, loss, bytes, size, fps, limit)| StatsSample {
            available_outgoing_bitrate: aob.map(Bitrate::from_bps_f64),
            rtt: rtt_s.map(Millis::from_secs_f64),
            fraction_lost: loss,
            jitter: None,
            bytes_sent: bytes,
            frames_sent: None,
            frame_size: size.map(|(w, h)| Resolution::new(w, h)),
            frames_per_second: fps,
            quality_limitation: QualityLimitation::from_js(limit),
        })
}

fn hint() -> impl Strategy<Value = ReceiverHint> {
    prop_oneof![
        Just(ReceiverHint::Hidden),
        (0u32..4000, 0u32..3000).prop_map(|(w, h)| ReceiverHint::Shown(Resolution::new(w, h))),
    ]
}

#[derive(Debug, Clone)]
enum Input {
    Sample(u64, StatsSample),
    Hint(u64, ReceiverHint),
    Source(u32, u32, u32, bool),
    Remove(u64),
    Poll,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => (0u64..5, sample()).prop_map(|(l, s)| Input::Sample(l, s)),
        2 => (0u64..5, hint()).prop_map(|(l, h)| Input::Hint(l, h)),
        1 => (0u32..3000, 0u32..3000, 0u32..200, any::<bool>()).prop_map(|(w, h, f, s)| Input::Source(w, h, f, s)),
        1 => (0u64..5).prop_map(Input::Remove),
        4 => Just(Input::Poll),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever arrives, in whatever order and timing: no panic; the parameters in
    /// force never cost more than the uplink estimate (unless it is below even floor
    /// audio on every link); audio always has at least its floor rate.
    #[test]
    fn budget_holds_and_audio_never_stops(steps in proptest::collection::vec((0u64..2500, input()), 1..150)) {
        let mut ctl: Controller<u64> = Controller::new(Default::default());
        let overhead = ctl.config().audio_overhead;
        let floor_cost = ctl.config().audio_floor_bitrate + overhead;
        let mut applied: BTreeMap<u64, SendParams> = BTreeMap::new();
        let mut now = 0u64;
        for (dt, input) in steps {
            now += dt;
            let t = Time::from_millis(now);
            match input {
                Input::Sample(l, s) => ctl.handle_sample(t, l, s),
                Input::Hint(l, h) => ctl.set_hint(t, l, h),
                Input::Source(w, h, f, screen) => ctl.set_source(VideoSource {
                    resolution: Resolution::new(w, h),
                    framerate: Framerate::fps(f),
                    content: if screen { Content::Screen } else { Content::Camera },
                }),
                Input::Remove(l) => {
                    ctl.remove_link(l);
                    applied.remove(&l);
                }
                Input::Poll => {}
            }
            for (l, d) in ctl.poll(t) {
                if let Some(p) = d.send {
                    applied.insert(l, p);
                }
            }
            prop_assert_eq!(applied.len(), ctl.link_count());
            for p in applied.values() {
                prop_assert!(p.audio.max_bitrate >= Bitrate::kbps(16));
                prop_assert!(p.video.scale_resolution_down_by >= 1.0 && p.video.scale_resolution_down_by.is_finite());
                prop_assert!(p.video.max_framerate >= Framerate::fps(1));
                prop_assert!(p.cost(overhead) <= ctl.config().max_link_bitrate + Bitrate::kbps(48));
            }
            if let Some(uplink) = ctl.uplink_estimate() {
                let cost: Bitrate = applied.values().map(|p| p.cost(overhead)).sum();
                let floor = Bitrate::bps(floor_cost.as_bps() * applied.len() as u64);
                prop_assert!(cost <= uplink || uplink < floor, "cost {} > uplink {}", cost, uplink);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Constant conditions for five minutes: the decisions settle. A handful of steps
    /// on the way (start, ramp, a decrease or two); after that, on a link that cannot
    /// carry video, only the rare probe for video (at least a minute apart by then).
    #[test]
    fn constant_input_settles_without_flapping(
        links in 1u64..4,
        rtt_ms in 10u64..500,
        loss in prop_oneof![Just(0.0), 0.0..0.3],
        available in proptest::option::of(50u64..3000),
        tile in proptest::option::of(hint()),
    ) {
        let mut h = Harness::new(links);
        if let Some(tile) = tile {
            for id in 0..links {
                h.ctl.set_hint(h.now, id, tile);
            }
            h.poll();
        }
        let c = Conditions { rtt_ms, loss, available: available.map(Bitrate::kbps) };
        let mut sends = 0;
        let mut late_sends = 0;
        let mut late_returns = 0;
        for s in 0..300 {
            let before: Vec<bool> = h.params.values().map(|p| p.video.active).collect();
            let changed = h.second(|_| c).iter().filter(|(_, d)| d.send.is_some()).count();
            let after: Vec<bool> = h.params.values().map(|p| p.video.active).collect();
            sends += changed;
            if s >= 180 {
                late_sends += changed;
                late_returns += before.iter().zip(&after).filter(|(b, a)| !**b && **a).count();
            }
        }
        let links = links as usize;
        prop_assert!(sends <= 30 * links, "{} changes in 5 minutes", sends);
        prop_assert!(late_returns <= 2 * links, "{} video returns in the last 2 minutes", late_returns);
        prop_assert!(late_sends <= 4 * late_returns, "{} changes, {} probes late", late_sends, late_returns);
    }
}
