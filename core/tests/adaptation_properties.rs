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
            // Arbitrary camera counters too: an encoder floor learned from nonsense
            // must not break any property either.
            camera_bytes_sent: bytes.map(|b| b / 2),
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

/// `default` cases, or `PROPTEST_CASES` to search harder (`with_cases` alone
/// ignores the variable).
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok());
    ProptestConfig::with_cases(cases.unwrap_or(default))
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
    #![proptest_config(cases(128))]

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

/// What constant conditions for five minutes led to, per link: each
/// `setParameters` as (second, whether it brought video back).
fn constant_input(
    links: u64,
    rtt_ms: u64,
    loss: f64,
    available: Option<Bitrate>,
    tile: Option<ReceiverHint>,
) -> Vec<Vec<(u64, bool)>> {
    let mut h = Harness::new(links);
    if let Some(tile) = tile {
        for id in 0..links {
            h.ctl.set_hint(h.now, id, tile);
        }
        h.poll();
    }
    let c = Conditions {
        rtt_ms,
        loss,
        available,
        encoder_floor: None,
        video_at_most: None,
    };
    let mut changes = vec![Vec::new(); links as usize];
    for s in 0..300 {
        let before: BTreeMap<u64, bool> =
            h.params.iter().map(|(l, p)| (*l, p.video.active)).collect();
        for (l, d) in h.second(|_| c) {
            if d.send.is_some() {
                let returned = !before[&l] && h.params[&l].video.active;
                changes[l as usize].push((s, returned));
            }
        }
    }
    changes
}

/// After this many seconds of constant input the decisions have settled.
const SETTLED_S: u64 = 180;
/// A probe for video ends (video off again, audio back to its level) within this
/// long of video coming back.
const PROBE_S: u64 = 20;
/// `setParameters` per probe, the return included: video on; video off (and audio
/// down, if the failed probe showed a thinner link); audio back up.
const PROBE_CHANGES: usize = 4;

/// Settled means: few changes in all; and once settled, each change belongs to a
/// probe for video (at most [`PROBE_CHANGES`], within [`PROBE_S`] of video coming
/// back, the probe possibly begun before [`SETTLED_S`]), and probes come at least a
/// minute apart. A probe's tail is counted with its probe, not with the window it
/// falls in: a probe at 178 s changes the parameters at 184 s and 187 s.
fn check_settled(changes: &[Vec<(u64, bool)>]) -> Result<(), String> {
    let total: usize = changes.iter().map(Vec::len).sum();
    if total > 30 * changes.len() {
        return Err(format!("{total} changes in 5 minutes"));
    }
    for (l, changes) in changes.iter().enumerate() {
        let mut probe: Option<(u64, usize)> = None;
        for &(s, returned) in changes {
            if returned {
                if let Some((previous, _)) = probe {
                    if s >= SETTLED_S && s - previous < 60 {
                        return Err(format!("link {l}: video back at {previous} s and at {s} s"));
                    }
                }
                probe = Some((s, 0));
            }
            if let Some((_, n)) = probe.as_mut() {
                *n += 1;
            }
            if s < SETTLED_S {
                continue;
            }
            match probe {
                Some((at, n)) if s - at <= PROBE_S && n <= PROBE_CHANGES => {}
                Some((at, n)) if s - at <= PROBE_S => {
                    return Err(format!("link {l}: {n} changes for the probe at {at} s"))
                }
                _ => return Err(format!("link {l}: a change at {s} s, not part of a probe")),
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(48))]

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
        let changes = constant_input(links, rtt_ms, loss, available.map(Bitrate::kbps), tile);
        if let Err(e) = check_settled(&changes) {
            prop_assert!(false, "{}: {:?}", e, changes);
        }
    }
}

/// The case proptest found (see the `.proptest-regressions` file): a link whose
/// browser estimate says 50 kb/s. That estimate alone never switches video off (after a
/// path is capped it dips far below what the path carries): with nothing lost, the
/// link keeps the lowest video, and settles.
#[test]
fn a_50_kbps_browser_estimate_without_loss_keeps_the_lowest_video() {
    let changes = constant_input(1, 10, 0.0, Some(Bitrate::kbps(50)), None);
    check_settled(&changes).unwrap();
    assert!(
        changes[0].iter().all(|c| !c.1),
        "video never went off: {changes:?}"
    );
}
