//! Each policy rule of the adaptation controller, through its public API.

mod netsim;

use netsim::harness::{Conditions, Harness};
use nonstop_core::adaptation::{
    Bitrate, Config, Content, Controller, Framerate, Millis, Priority, QualityLevel,
    QualityLimitation, QualityReason, ReceiverHint, Resolution, StatsSample, Time, VideoSource,
};

const CLEAN: fn(u64) -> Conditions = |_| Conditions::CLEAN;

fn shown(w: u32, h: u32) -> ReceiverHint {
    ReceiverHint::Shown(Resolution::new(w, h))
}

#[test]
fn a_new_link_starts_at_360p_with_full_audio_and_nothing_repeats() {
    let mut h = Harness::new(1);
    let p = h.params[&0];
    assert!(p.video.active);
    assert_eq!(p.video.max_bitrate, Bitrate::kbps(250));
    assert_eq!(p.video.scale_resolution_down_by, 2.0);
    assert_eq!(p.video.max_framerate, Framerate::fps(30));
    assert_eq!(
        (p.audio.max_bitrate, p.audio.priority),
        (Bitrate::kbps(32), Priority::High)
    );
    assert_eq!(Priority::High.as_str(), "high");
    assert!(
        h.poll().is_empty(),
        "a decision comes only when something changed"
    );
}

#[test]
fn no_more_pixels_than_the_receiver_shows_and_none_for_a_hidden_tile() {
    let mut h = Harness::new(1);
    h.seconds(40, CLEAN);
    assert_eq!(
        h.params[&0].video.scale_resolution_down_by, 1.0,
        "large by default: 720p"
    );

    h.ctl.set_hint(h.now, 0, shown(320, 180));
    let d = h.poll();
    let v = d[0].1.send.expect("a thumbnail changes the encoding").video;
    assert_eq!(v.scale_resolution_down_by, 4.0);
    assert!(v.max_bitrate <= Bitrate::kbps(210), "{v:?}");

    h.ctl.set_hint(h.now, 0, ReceiverHint::Hidden);
    h.poll();
    assert!(!h.params[&0].video.active);
    assert_eq!(
        h.params[&0].audio.max_bitrate,
        Bitrate::kbps(32),
        "audio goes on"
    );
    h.seconds(10, CLEAN);
    assert!(!h.params[&0].video.active);

    // Shown again: at once, no hold (the network did not change).
    h.ctl.set_hint(h.now, 0, shown(1280, 720));
    h.poll();
    let v = h.params[&0].video;
    assert!(
        v.active && v.scale_resolution_down_by == 1.0 && v.max_bitrate >= Bitrate::kbps(1000),
        "{v:?}"
    );
}

#[test]
fn audio_is_never_starved() {
    let mut h = Harness::new(2);
    for s in 0..60 {
        h.second(|_| Conditions::lossy(0.5));
        for p in h.params.values() {
            assert!(
                p.audio.max_bitrate >= Bitrate::kbps(16) && p.audio.priority == Priority::High,
                "t={s}"
            );
        }
    }
    for (id, p) in &h.params {
        assert!(!p.video.active, "video gave way first");
        assert!(h.ctl.status(*id).unwrap().estimate >= Bitrate::kbps(32));
    }
}

#[test]
fn one_poor_link_does_not_lower_the_others() {
    let mut h = Harness::new(3);
    h.seconds(40, CLEAN);
    let before = (h.video_bitrate(0), h.video_bitrate(1));
    let decisions = h.seconds(30, |id| {
        if id == 2 {
            Conditions::lossy(0.2)
        } else {
            Conditions::CLEAN
        }
    });
    assert!(
        decisions
            .iter()
            .all(|(_, id, d)| *id == 2 || d.send.is_none()),
        "only link 2 changed"
    );
    assert_eq!((h.video_bitrate(0), h.video_bitrate(1)), before);
    assert!(h.video_bitrate(2) < Bitrate::kbps(100));
    assert_eq!(h.ctl.uplink_estimate(), None);
}

#[test]
fn congestion_on_every_link_at_once_steps_them_all_down_together() {
    let mut h = Harness::new(3);
    h.seconds(40, CLEAN);
    let before: Vec<Bitrate> = (0..3).map(|id| h.video_bitrate(id)).collect();
    let d = h.second(|_| Conditions::lossy(0.2));
    assert_eq!(
        d.iter().filter(|(_, d)| d.send.is_some()).count(),
        3,
        "all three in the same poll"
    );
    let uplink = h
        .ctl
        .uplink_estimate()
        .expect("the shared uplink is the bottleneck");
    for id in 0..3 {
        assert!(h.video_bitrate(id) < before[id as usize].scaled(0.9));
        assert!(h.ctl.status(id).unwrap().uplink_limited);
    }
    assert!(h.total_cost() <= uplink, "{} > {}", h.total_cost(), uplink);
    let (lo, hi) = (0..3)
        .map(|id| h.video_bitrate(id))
        .fold((Bitrate::MAX, Bitrate::ZERO), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    assert!(hi - lo <= Bitrate::kbps(10), "shared fairly: {lo} .. {hi}");
    // The links' own estimates stayed: the paths beyond the uplink are fine.
    assert!(h.ctl.status(0).unwrap().estimate >= before[0]);
}

#[test]
fn a_participant_joining_gets_a_share_of_a_known_uplink() {
    let mut h = Harness::new(2);
    h.seconds(40, CLEAN);
    h.second(|_| Conditions::lossy(0.2));
    let uplink = h.ctl.uplink_estimate().unwrap();
    h.ctl.add_link(h.now, 2);
    h.poll();
    assert!(h.params.len() == 3 && h.total_cost() <= uplink);
    h.ctl.remove_link(2);
    h.params.remove(&2);
    h.poll();
    assert!(h.total_cost() <= uplink);
}

#[test]
fn down_fast_up_slowly_after_a_hold() {
    let mut h = Harness::new(1);
    h.seconds(40, CLEAN);
    let high = h.video_bitrate(0);
    h.second(|_| Conditions::lossy(0.2));
    let low = h.video_bitrate(0);
    assert!(low <= high.scaled(0.85), "{high} -> {low}");
    let mut last = low;
    for s in 1..=12 {
        h.second(CLEAN);
        let now = h.video_bitrate(0);
        if s < 3 {
            assert_eq!(now, low, "no increase within the hold ({s} s)");
        }
        assert!(
            now <= last + Bitrate::kbps(30) && now >= last,
            "{last} -> {now} at {s} s"
        );
        last = now;
    }
    assert!(last > low);
}

/// How long 30 % loss takes to switch a link's video off: down to the delay floor in a
/// few decreases, then `video_off_grace` (5 s) of loss there.
const LOSS_TO_AUDIO_ONLY: u64 = 12;

/// A burst of loss on a link that just carries the lowest video takes it to the delay
/// floor, not off; loss that goes on there switches it off after the grace.
#[test]
fn one_loss_burst_keeps_video_and_lasting_loss_switches_it_off() {
    let mut h = Harness::new(1);
    h.seconds(40, CLEAN);
    for _ in 0..4 {
        h.second(|_| Conditions::lossy(0.3));
        h.seconds(4, CLEAN);
        assert!(h.params[&0].video.active);
    }
    let off = (1..=20u64).find(|_| {
        h.second(|_| Conditions::lossy(0.3));
        !h.params[&0].video.active
    });
    let off = off.expect("lasting loss switches video off");
    assert!((5..=LOSS_TO_AUDIO_ONLY).contains(&off), "off after {off} s");
}

#[test]
fn loss_every_other_second_under_a_long_queue_is_not_lasting_loss() {
    // A nearly full path (seen on a 150 kb/s path in CI): loss comes and goes while the
    // RTT stays long. Only loss in every sample for `video_off_grace` switches video off.
    let mut h = Harness::new(1);
    h.seconds(40, CLEAN);
    for s in 0..30u64 {
        h.second(|_| Conditions {
            rtt_ms: 600,
            loss: if s % 2 == 0 { 0.15 } else { 0.0 },
            ..Conditions::CLEAN
        });
        assert!(h.params[&0].video.active, "t={s}");
    }
}

#[test]
fn under_the_video_minimum_a_link_goes_audio_only_and_comes_back_with_hysteresis() {
    let mut h = Harness::new(1);
    h.seconds(LOSS_TO_AUDIO_ONLY, |_| Conditions::lossy(0.3));
    assert!(!h.params[&0].video.active);
    // Clean again: the estimate grows to what video needs, then holds for a while.
    let mut back = None;
    for s in 1..=30u64 {
        h.second(CLEAN);
        if h.params[&0].video.active {
            back = Some(s);
            break;
        }
        if let Some(deadline) = h.ctl.next_deadline() {
            assert!(deadline > h.now);
        }
    }
    let back = back.expect("video comes back on a recovered link");
    assert!(back >= 6, "not at once: after {back} s");
    // A failed return (loss again at once) waits twice as long the next time.
    h.seconds(LOSS_TO_AUDIO_ONLY, |_| Conditions::lossy(0.3));
    assert!(!h.params[&0].video.active);
    let again = (1..=40u64).find(|_| {
        h.second(CLEAN);
        h.params[&0].video.active
    });
    assert!(
        again.expect("back again") >= back + 3,
        "{again:?} vs {back}"
    );
}

#[test]
fn camera_gives_up_resolution_first_screen_gives_up_frame_rate_first() {
    for content in [Content::Camera, Content::Screen] {
        let mut h = Harness::new(1);
        let resolution = Resolution::new(1920, 1080);
        h.ctl.set_source(VideoSource {
            resolution,
            framerate: Framerate::fps(30),
            content,
        });
        h.seconds(60, CLEAN);
        let mut seen = vec![h.params[&0].video];
        for _ in 0..30 {
            h.second(|_| Conditions::lossy(0.12));
            let v = h.params[&0].video;
            if !v.active {
                break;
            }
            seen.push(v);
        }
        let first_scale = seen
            .iter()
            .position(|v| v.scale_resolution_down_by > 1.0)
            .unwrap();
        let first_fps = seen
            .iter()
            .position(|v| v.max_framerate < Framerate::fps(30))
            .unwrap();
        match content {
            Content::Camera => assert!(first_scale < first_fps, "{seen:#?}"),
            Content::Screen => assert!(first_fps < first_scale, "{seen:#?}"),
        }
    }
}

#[test]
fn quality_names_the_reason_worse_at_once_better_after_a_hold() {
    let mut h = Harness::new(1);
    h.seconds(40, CLEAN);
    assert_eq!(h.quality[&0].level, QualityLevel::Good);
    h.second(|_| Conditions::lossy(0.15));
    let q = h.quality[&0];
    assert_eq!(
        (q.level, q.reason),
        (QualityLevel::Poor, Some(QualityReason::Loss))
    );
    h.second(|_| Conditions {
        rtt_ms: 400,
        ..Conditions::CLEAN
    });
    assert_eq!(
        h.quality[&0].level,
        QualityLevel::Poor,
        "no better before the hold"
    );
    h.seconds(5, |_| Conditions {
        rtt_ms: 400,
        ..Conditions::CLEAN
    });
    let q = h.quality[&0];
    assert_eq!(
        (q.level, q.reason),
        (QualityLevel::Fair, Some(QualityReason::Rtt))
    );
    h.seconds(10, |_| Conditions::lossy(0.5));
    let q = h.quality[&0];
    assert_eq!(
        (q.level, q.reason),
        (QualityLevel::Poor, Some(QualityReason::Loss))
    );
    h.seconds(3, CLEAN);
    let q = h.quality[&0];
    assert_eq!(
        (q.level, q.reason),
        (QualityLevel::Poor, Some(QualityReason::Bandwidth)),
        "video is off"
    );
}

/// The controller as the app sets it up in Firefox: watching for encoder floors.
fn firefox() -> Config {
    Config {
        watch_encoder_floors: true,
        ..Config::default()
    }
}

#[test]
fn an_encoder_that_keeps_sending_over_its_cap_gets_a_size_it_can_send_thinly() {
    // A path the browser estimates at 120 kb/s (80 for video); an encoder that sends at
    // least 130 kb/s of video from 180p up, whatever its cap (Firefox's VP8). At 180p
    // the link would overflow the path; at 90p the encoder follows its cap.
    let thin = Conditions {
        available: Some(Bitrate::kbps(120)),
        encoder_floor: Some(Bitrate::kbps(130)),
        ..Conditions::CLEAN
    };
    let mut h = Harness::with_config(1, firefox());
    h.seconds(20, CLEAN);
    h.seconds(2, |_| thin);
    let v = h.params[&0].video;
    assert_eq!(
        v.scale_resolution_down_by, 4.0,
        "first 180p under the cap: {v:?}"
    );
    h.seconds(8, |_| thin);
    let at_90p = |h: &mut Harness, seconds: u64| {
        let mut larger = 0;
        for _ in 0..seconds {
            h.second(|_| thin);
            let v = h.params[&0].video;
            assert!(v.active, "video stays on");
            if v.scale_resolution_down_by < 8.0 {
                larger += 1;
            } else {
                assert!(h.total_cost() <= Bitrate::kbps(120), "{}", h.total_cost());
            }
        }
        larger
    };
    assert_eq!(at_90p(&mut h, 110), 0, "90p, and it stays");
    // The floor holds 2 minutes, then 180p is tried again: the encoder shows its floor
    // again within seconds, and this time it holds twice as long.
    let tried = at_90p(&mut h, 20);
    assert!((1..=6).contains(&tried), "180p again for {tried} s");
    assert_eq!(h.params[&0].video.scale_resolution_down_by, 8.0);
    assert_eq!(at_90p(&mut h, 200), 0, "the second hold is longer");
    // With room again, the larger sizes come back once the floor is tried again.
    h.seconds(90, CLEAN);
    let v = h.params[&0].video;
    assert!(v.scale_resolution_down_by <= 2.0, "{v:?}");

    // Where the encoder is known to follow its cap (Chromium), nothing is watched:
    // the same samples leave 180p in place.
    let mut h = Harness::new(1);
    h.seconds(20, CLEAN);
    h.seconds(30, |_| thin);
    assert_eq!(h.params[&0].video.scale_resolution_down_by, 4.0);
}

#[test]
fn an_encoder_over_its_cap_for_a_moment_learns_nothing() {
    // Two seconds over the cap (a key frame, a cap just lowered) are no floor: with the
    // same budget afterwards, the link keeps 180p.
    let capped = Conditions {
        available: Some(Bitrate::kbps(120)),
        ..Conditions::CLEAN
    };
    let mut h = Harness::with_config(1, firefox());
    h.seconds(20, CLEAN);
    h.seconds(4, |_| capped);
    h.seconds(2, |_| Conditions {
        encoder_floor: Some(Bitrate::kbps(130)),
        ..capped
    });
    h.seconds(20, |_| capped);
    let v = h.params[&0].video;
    assert!(v.active && v.scale_resolution_down_by == 4.0, "{v:?}");
}

#[test]
fn the_browsers_estimate_caps_a_link() {
    let mut h = Harness::new(1);
    h.seconds(40, CLEAN);
    let aob = Bitrate::kbps(400);
    h.seconds(5, |_| Conditions {
        available: Some(aob),
        ..Conditions::CLEAN
    });
    assert!(h.total_cost() <= aob, "{}", h.total_cost());
    assert!(h.params[&0].video.active);
}

#[test]
fn nonsense_stats_and_a_clock_going_backwards_are_ignored() {
    let mut ctl: Controller<u64> = Controller::new(Default::default());
    let junk = StatsSample {
        available_outgoing_bitrate: Some(Bitrate::from_bps_f64(f64::NAN)),
        fraction_lost: Some(f64::INFINITY),
        frames_per_second: Some(-1.0),
        frame_size: Some(Resolution::new(0, 0)),
        bytes_sent: Some(u64::MAX),
        ..StatsSample::default()
    };
    for (ms, bytes) in [
        (5_000, Some(u64::MAX)),
        (1_000, Some(3)),
        (2_000, None),
        (0, Some(0)),
    ] {
        ctl.handle_sample(
            Time::from_millis(ms),
            7,
            StatsSample {
                bytes_sent: bytes,
                ..junk
            },
        );
        ctl.set_hint(Time::from_millis(ms), 7, shown(0, 0));
        for (_, d) in ctl.poll(Time::from_millis(ms)) {
            if let Some(p) = d.send {
                assert!(
                    p.video.scale_resolution_down_by >= 1.0
                        && p.audio.max_bitrate >= Bitrate::kbps(16)
                );
            }
        }
    }
    assert_eq!(ctl.link_count(), 1);
}

/// RTT 1–2 s with no loss (a CPU-starved browser queueing its own packets) while the
/// browser's estimate stays high: video stays on.
#[test]
fn a_long_rtt_without_loss_and_a_high_browser_estimate_keeps_video() {
    let mut h = Harness::new(2);
    h.seconds(40, CLEAN);
    for s in 0..60u64 {
        h.second(|_| Conditions {
            rtt_ms: 1000 + (s * 370) % 1000,
            loss: 0.0,
            available: Some(Bitrate::kbps(5_000)),
            encoder_floor: None,
            video_at_most: None,
        });
        for id in 0..2 {
            assert!(h.params[&id].video.active, "t={s} link {id}");
        }
    }
}

/// Queueing delay alone may lower the bit rate, but never switches video off, on one
/// link or on all at once (no browser estimate, as in Firefox).
#[test]
fn queueing_delay_alone_lowers_the_bitrate_but_keeps_video() {
    for links in [1, 3] {
        let mut h = Harness::new(links);
        h.seconds(40, CLEAN);
        let before = h.video_bitrate(0);
        for s in 0..60u64 {
            h.second(|_| Conditions {
                rtt_ms: 200 + s * 30,
                ..Conditions::CLEAN
            });
            for id in 0..links {
                assert!(
                    h.params[&id].video.active,
                    "{links} links, t={s}, link {id}"
                );
            }
        }
        assert!(h.video_bitrate(0) < before, "{links} links: lowered");
    }
}

/// An encoder held back by the CPU, with the RTT of a busy machine: video stays on,
/// at a lower resolution.
#[test]
fn a_cpu_limited_sender_keeps_video_at_a_lower_resolution() {
    let mut h = Harness::new(1);
    h.seconds(40, CLEAN);
    assert_eq!(h.params[&0].video.scale_resolution_down_by, 1.0);
    let mut bytes = 10_000_000u64;
    for s in 0..30u64 {
        h.now = h.now + Millis::from_secs(1);
        let p = h.params[&0];
        let video = if p.video.active {
            p.video.max_bitrate.min(Bitrate::kbps(200))
        } else {
            Bitrate::ZERO
        };
        bytes += (video + p.audio.max_bitrate).as_bps() / 8;
        h.ctl.handle_sample(
            h.now,
            0,
            StatsSample {
                rtt: Some(Millis::from_millis(1000 + (s * 470) % 1000)),
                fraction_lost: Some(0.0),
                bytes_sent: Some(bytes),
                quality_limitation: QualityLimitation::Cpu,
                ..StatsSample::default()
            },
        );
        h.poll();
        assert!(h.params[&0].video.active, "t={s}");
    }
    let v = h.params[&0].video;
    assert!(v.scale_resolution_down_by > 1.0, "{v:?}");
}

/// An audio-only link with no loss and an RTT that is high but not rising counts as
/// clear: it grows and video comes back within about ten seconds.
#[test]
fn an_audio_only_link_with_clear_stats_resumes_video_within_ten_seconds() {
    let mut h = Harness::new(2);
    h.seconds(LOSS_TO_AUDIO_ONLY, |id| {
        if id == 0 {
            Conditions::lossy(0.3)
        } else {
            Conditions::CLEAN
        }
    });
    assert!(!h.params[&0].video.active);
    let back = (1..=30u64).find(|_| {
        h.second(|_| Conditions {
            rtt_ms: 900,
            ..Conditions::CLEAN
        });
        h.params[&0].video.active
    });
    let back = back.expect("video comes back");
    assert!(back <= 11, "back after {back} s");
    let v = h.params[&0].video;
    assert!(v.max_bitrate <= Bitrate::kbps(200), "at a low rung: {v:?}");
}

/// Chromium's estimate lags behind video resuming; it is not read for a few seconds,
/// so video is not switched straight off again.
#[test]
fn the_browsers_estimate_is_not_read_right_after_video_resumes() {
    let mut h = Harness::new(1);
    h.seconds(LOSS_TO_AUDIO_ONLY, |_| Conditions::lossy(0.3));
    assert!(!h.params[&0].video.active);
    let mut since_back = None;
    for _ in 0..40 {
        let active = h.params[&0].video.active;
        h.second(|_| Conditions {
            // What Chromium's estimator shows while it probes up from audio only.
            available: active.then_some(Bitrate::kbps(70)),
            ..Conditions::CLEAN
        });
        match (&mut since_back, h.params[&0].video.active) {
            (None, true) => since_back = Some(0),
            (Some(n), true) => *n += 1,
            (Some(n), false) => panic!("video off again {n} s after it resumed"),
            (None, false) => {}
        }
        if since_back == Some(4) {
            return;
        }
    }
    panic!("video did not come back");
}

/// After a shared-uplink congestion, links that stay clear release the uplink
/// estimate.
#[test]
fn the_shared_uplink_estimate_is_released_when_links_are_clear() {
    let mut h = Harness::new(3);
    h.seconds(40, CLEAN);
    h.second(|_| Conditions::lossy(0.2));
    assert!(h.ctl.uplink_estimate().is_some());
    let released = (1..=40u64).find(|_| {
        h.second(CLEAN);
        h.ctl.uplink_estimate().is_none()
    });
    assert!(released.is_some(), "the uplink estimate was never released");
    for id in 0..3 {
        assert!(h.params[&id].video.active && !h.ctl.status(id).unwrap().uplink_limited);
    }
    // ...and also when the links only show a long but steady RTT (a busy machine).
    let mut h = Harness::new(3);
    h.seconds(40, CLEAN);
    h.second(|_| Conditions::lossy(0.2));
    let steady = |_| Conditions {
        rtt_ms: 60,
        ..Conditions::CLEAN
    };
    let released = (1..=40u64).find(|_| {
        h.second(steady);
        h.ctl.uplink_estimate().is_none()
    });
    assert!(released.is_some(), "never released");
}

/// Loss on every link at once lowers the shared uplink, but, as on one link, not
/// below every link's lowest video until it has lasted there: a starved CPU or the
/// encoders' key frames lose a burst everywhere at once (a 600 kb/s uplink lost all
/// its video that way in CI). Lasting loss still switches video off.
#[test]
fn loss_on_every_link_for_a_moment_keeps_the_video_and_lasting_loss_does_not() {
    let mut h = Harness::new(3);
    h.seconds(40, CLEAN);
    // 20 % loss everywhere: the uplink steps down to the lowest video on every link
    // within about 10 s, and holds there for the grace.
    h.seconds(12, |_| Conditions::lossy(0.2));
    let uplink = h
        .ctl
        .uplink_estimate()
        .expect("the shared uplink is the bottleneck");
    for id in 0..3 {
        assert!(
            h.params[&id].video.active,
            "link {id}: video kept, uplink {uplink}"
        );
        assert!(h.video_bitrate(id) >= Bitrate::kbps(80), "link {id}");
    }
    h.seconds(6, CLEAN);
    for id in 0..3 {
        assert!(
            h.params[&id].video.active,
            "link {id}: video on after the burst"
        );
    }

    h.seconds(20, |_| Conditions::lossy(0.2));
    for id in 0..3 {
        assert!(
            !h.params[&id].video.active,
            "link {id}: lasting loss switched video off"
        );
    }
}

/// What the uplink carries, for the server's choice of mesh or relayed: nothing before
/// every link has a sample, then the links' estimates together, and the shared
/// uplink's estimate while it limits them.
#[test]
fn the_uplink_carries_the_links_estimates_or_the_shared_uplink() {
    let mut ctl: Controller<u64> = Controller::new(Config::default());
    ctl.add_link(Time::ZERO, 0);
    assert_eq!(
        ctl.uplink_carries(Time::ZERO),
        None,
        "a starting guess is not a measure"
    );

    let mut h = Harness::new(3);
    h.seconds(40, CLEAN);
    let links: Bitrate = (0..3).map(|id| h.ctl.status(id).unwrap().estimate).sum();
    assert_eq!(h.ctl.uplink_carries(h.now), Some(links));
    h.seconds(3, |_| Conditions::lossy(0.2));
    let uplink = h.ctl.uplink_estimate().expect("a shared bottleneck");
    assert_eq!(h.ctl.uplink_carries(h.now), Some(uplink));
    assert!(uplink < links);
}

/// Behind a full uplink one link loses in every sample while the other only queues,
/// and now and then looks fine: the uplink's lasting loss still counts, and video goes
/// off rather than losing two thirds of its packets for good (seen with a 150 kb/s
/// uplink and two peers).
#[test]
fn lasting_loss_behind_a_full_uplink_counts_while_the_other_link_only_queues() {
    let mut h = Harness::new(2);
    h.seconds(40, CLEAN);
    for s in 0..40u64 {
        h.second(|id| match (id, s % 3) {
            (0, _) => Conditions::lossy(0.5),
            (_, 2) => Conditions::CLEAN,
            _ => Conditions {
                rtt_ms: 600,
                ..Conditions::CLEAN
            },
        });
    }
    assert!(
        !h.params[&0].video.active,
        "the losing link's video went off"
    );
    let carries = h.ctl.uplink_carries(h.now).unwrap();
    assert!(
        carries < Bitrate::kbps(2 * 120),
        "short of a mesh of two peers: {carries}"
    );
}

/// A full uplink may only queue: no loss, a long round trip on every link. The
/// estimate stops at the links' floors (delay never switches video off), but what
/// the uplink carries, for the server's choice of relayed mode, is what gets through.
#[test]
fn a_full_uplink_that_only_queues_carries_what_gets_through() {
    let mut h = Harness::new(2);
    h.seconds(40, CLEAN);
    // 150 kb/s for two links: each sends 40 kb/s of video under a cap of 80.
    h.seconds(30, |_| Conditions {
        rtt_ms: 600,
        available: Some(Bitrate::kbps(70)),
        video_at_most: Some(Bitrate::kbps(40)),
        ..Conditions::CLEAN
    });
    assert!(
        h.params[&0].video.active && h.params[&1].video.active,
        "video kept"
    );
    let carries = h.ctl.uplink_carries(h.now).unwrap();
    assert!(
        carries < Bitrate::kbps(2 * 120),
        "short of a mesh of two peers: {carries}"
    );

    // Without the browser's estimate (Firefox): what got through the shared uplink.
    let mut h = Harness::new(2);
    h.seconds(40, CLEAN);
    h.seconds(30, |_| Conditions {
        rtt_ms: 600,
        video_at_most: Some(Bitrate::kbps(40)),
        ..Conditions::CLEAN
    });
    assert!(h.params[&0].video.active && h.params[&1].video.active);
    assert!(h.ctl.uplink_estimate().is_some(), "a shared uplink");
    let carries = h.ctl.uplink_carries(h.now).unwrap();
    assert!(carries < Bitrate::kbps(2 * 120), "{carries}");
}

/// Loss at the delay floor: the camera first steps down a size (the path may carry that;
/// a 150 kb/s path does not carry Chromium's 180p at its floor), and keeps video once
/// the loss stops. Only loss that goes on switches video off
/// (`one_loss_burst_keeps_video_and_lasting_loss_switches_it_off`).
#[test]
fn loss_at_the_delay_floor_steps_the_camera_down_a_size_first() {
    let mut h = Harness::new(1);
    h.seconds(40, CLEAN);
    let mut floor_scale = None;
    let mut smaller = false;
    for _ in 0..14 {
        h.second(|_| Conditions::lossy(0.15));
        let v = h.params[&0].video;
        assert!(v.active);
        if h.ctl.status(0).unwrap().estimate <= Bitrate::kbps(120) {
            let at_floor = *floor_scale.get_or_insert(v.scale_resolution_down_by);
            smaller |= v.scale_resolution_down_by > at_floor;
        }
    }
    assert!(floor_scale.is_some(), "reached the delay floor");
    assert!(smaller, "a smaller size than the floor's");
    for s in 0..20 {
        h.second(CLEAN);
        assert!(h.params[&0].video.active, "video kept at {s} s");
    }
}
