//! Scenario tests: room noise, speech, a cough, Chromium's fake beeping microphone,
//! people taking turns, talking over each other and leaving, sampled every 200 ms.

use super::simulated_call::*;
use super::*;

#[test]
fn in_a_quiet_room_nobody_speaks() {
    let mut call = Call::new();
    call.run(
        10_000,
        &[
            (1, &|t| quiet(t, 1)),
            (2, &|t| quiet(t, 2)),
            (3, &|t| quiet(t, 3)),
        ],
    );
    assert!(call.log.is_empty(), "{:?}", call.log);
    assert_eq!(call.det.active(), None);
}

#[test]
fn constant_noise_is_not_speech() {
    let mut call = Call::new();
    call.run(
        20_000,
        &[(1, &|t| 0.08 + 0.01 * jitter(t, 1)), (2, &|t| quiet(t, 2))],
    );
    assert!(call.log.is_empty(), "{:?}", call.log);
}

#[test]
fn a_fan_turning_on_stops_counting_within_the_floor_window() {
    let mut call = Call::new();
    let fan = |t: u64| {
        if t < 5_000 {
            quiet(t, 1)
        } else {
            0.08 + 0.01 * jitter(t, 1)
        }
    };
    call.run(20_000, &[(1, &fan)]);
    assert!(!call.det.is_speaking(p(1)));
    let window = call.det.config().floor_window_ms + call.det.config().hangover_ms;
    assert!(
        call.log
            .iter()
            .all(|(t, _)| *t <= 5_000 + window + 2 * PERIOD),
        "{:?}",
        call.log
    );
}

#[test]
fn a_beeping_fake_microphone_counts_as_speaking() {
    for (interval, period) in [
        (500, 200),
        (500, 250),
        (1000, 100),
        (1000, 200),
        (1000, 250),
    ] {
        let mut call = Call::new();
        call.period = period;
        let beeper = move |t: u64| beep(t, interval);
        let levels: [(u64, Level<'_>); 2] = [(1, &beeper), (2, &|t| quiet(t, 2))];
        call.run(1_500, &levels);
        for _ in 0..(20_000 / period) {
            call.step(&levels);
            let speaking: Vec<_> = call.det.speaking().collect();
            assert_eq!(
                speaking,
                vec![p(1)],
                "beep every {interval} ms, sampled every {period} at {}",
                call.t
            );
        }
        assert_eq!(call.det.active(), Some(p(1)));
        let (taken, _) = call.spotlight_moves()[0];
        assert!(taken <= 6_000, "spotlight after {taken} ms");
    }
}

#[test]
fn a_cough_does_not_take_the_spotlight() {
    let mut call = Call::new();
    let a = |t: u64| {
        if t <= 4_000 {
            speech(t, 1, 1.0)
        } else {
            quiet(t, 1)
        }
    };
    let b = |t: u64| {
        if (6_000..6_300).contains(&t) {
            0.4
        } else {
            quiet(t, 2)
        }
    };
    call.run(10_000, &[(1, &a), (2, &b)]);
    assert!(
        call.log
            .contains(&(6_000, SpeakerEvent::StartedSpeaking(p(2)))),
        "the cough shows"
    );
    let moves: Vec<_> = call
        .spotlight_moves()
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(moves, vec![Some(p(1))]);
    // Nor does a cough while the speaker talks.
    let mut call = Call::new();
    call.run(10_000, &[(1, &|t| speech(t, 1, 1.0)), (2, &b)]);
    assert_eq!(call.det.active(), Some(p(1)));
}

#[test]
fn people_taking_turns_get_the_spotlight_in_turn() {
    let mut call = Call::new();
    // A from 0 to 5 s, B from 6 to 11 s, A from 12 to 17 s.
    let a = |t: u64| {
        if t < 5_000 || (12_000..17_000).contains(&t) {
            speech(t, 1, 1.0)
        } else {
            quiet(t, 1)
        }
    };
    let b = |t: u64| {
        if (6_000..11_000).contains(&t) {
            speech(t, 2, 1.0)
        } else {
            quiet(t, 2)
        }
    };
    call.run(20_000, &[(1, &a), (2, &b)]);
    let moves = call.spotlight_moves();
    let who: Vec<_> = moves.iter().map(|(_, id)| *id).collect();
    assert_eq!(who, vec![Some(p(1)), Some(p(2)), Some(p(1))]);
    for ((t, _), start) in moves.iter().zip([0, 6_000, 12_000]) {
        assert!(*t - start <= 2_000, "took {} ms", t - start);
    }
}

#[test]
fn talking_over_the_speaker_takes_over_only_when_clearly_louder() {
    let mut call = Call::new();
    let a = |t: u64| speech(t, 1, 1.0);
    let b = |t: u64| match t {
        3_000..6_000 => speech(t, 2, 1.0),
        9_000..13_000 => speech(t, 2, 3.0),
        _ => quiet(t, 2),
    };
    call.run(8_000, &[(1, &a), (2, &b)]);
    assert!(call
        .log
        .iter()
        .any(|(_, e)| *e == SpeakerEvent::StartedSpeaking(p(2))));
    assert_eq!(call.det.active(), Some(p(1)), "as loud is not enough");
    call.run(5_000, &[(1, &a), (2, &b)]);
    assert_eq!(call.det.active(), Some(p(2)), "three times as loud is");
}

#[test]
fn silence_keeps_the_last_speaker() {
    let mut call = Call::new();
    let a = |t: u64| {
        if t < 3_000 {
            speech(t, 1, 1.0)
        } else {
            quiet(t, 1)
        }
    };
    call.run(60_000, &[(1, &a), (2, &|t| quiet(t, 2))]);
    assert_eq!(call.det.active(), Some(p(1)));
    assert_eq!(call.det.speaking().count(), 0);
}

#[test]
fn when_the_speaker_leaves_the_spotlight_goes_back() {
    let mut call = Call::new();
    let a = |t: u64| {
        if t < 3_000 {
            speech(t, 1, 1.0)
        } else {
            quiet(t, 1)
        }
    };
    let b = |t: u64| {
        if t >= 4_000 {
            speech(t, 2, 1.0)
        } else {
            quiet(t, 2)
        }
    };
    call.run(8_000, &[(1, &a), (2, &b)]);
    assert_eq!(call.det.active(), Some(p(2)));
    let events = call.det.remove(p(2));
    assert_eq!(
        events,
        vec![
            SpeakerEvent::StoppedSpeaking(p(2)),
            SpeakerEvent::ActiveSpeaker(Some(p(1)))
        ]
    );
    assert_eq!(
        call.det.remove(p(1)),
        vec![SpeakerEvent::ActiveSpeaker(None)]
    );
    assert_eq!(call.det.remove(p(9)), vec![], "unknown ids are ignored");
}

#[test]
fn we_show_as_speaking_but_are_never_spotlit() {
    let mut call = Call::new();
    call.det.set_local(Some(p(1)));
    let us = |t: u64| {
        if (5_000..12_000).contains(&t) {
            quiet(t, 1)
        } else {
            speech(t, 1, 2.0)
        }
    };
    let them = |t: u64| {
        if (6_000..9_000).contains(&t) {
            speech(t, 2, 1.0)
        } else {
            quiet(t, 2)
        }
    };
    call.run(4_000, &[(1, &us), (2, &them)]);
    assert!(call.det.is_speaking(p(1)));
    assert_eq!(call.det.active(), None);
    call.run(16_000, &[(1, &us), (2, &them)]);
    assert_eq!(call.spotlight_moves().len(), 1);
    assert_eq!(call.det.active(), Some(p(2)));
}

#[test]
fn speaking_ends_when_samples_stop_coming() {
    let mut call = Call::new();
    call.run(3_000, &[(1, &|t| speech(t, 1, 1.0))]);
    assert!(call.det.is_speaking(p(1)));
    let deadline = call.det.next_deadline().expect("someone is speaking");
    assert_eq!(deadline, Time::from_millis(3_000 + 2_001));
    assert_eq!(call.det.advance(Time::from_millis(4_000)), vec![]);
    assert_eq!(
        call.det.advance(deadline),
        vec![SpeakerEvent::StoppedSpeaking(p(1))]
    );
    assert_eq!(call.det.next_deadline(), None);
    assert_eq!(call.det.active(), Some(p(1)));
}

#[test]
fn a_recorded_phrase_is_one_turn() {
    let mut call = Call::new();
    call.period = 100;
    let level = |t: u64| HELLO.get((t / 100) as usize).copied().unwrap_or(0.003);
    call.run(6_000, &[(1, &level)]);
    let turns: Vec<_> = call
        .log
        .iter()
        .filter(|(_, e)| !matches!(e, SpeakerEvent::ActiveSpeaker(_)))
        .collect();
    assert_eq!(turns.len(), 2, "one start, one stop: {turns:?}");
    assert_eq!(turns[0], &(300, SpeakerEvent::StartedSpeaking(p(1))));
    assert_eq!(call.det.active(), Some(p(1)));
}

#[test]
fn nonsense_levels_are_clamped() {
    let mut wild = SpeakerDetector::default();
    let mut tame = SpeakerDetector::default();
    for i in 0..50u64 {
        let t = Time::from_millis(i * 200);
        let (w, c) = if i % 2 == 0 {
            (5.0, 1.0)
        } else {
            (f64::NAN, 0.0)
        };
        assert_eq!(wild.observe(t, p(1), w), tame.observe(t, p(1), c));
        wild.observe(t, p(2), -3.0);
        wild.observe(Time::from_millis(0), p(3), f64::INFINITY); // time going backwards
    }
    assert_eq!(wild.active(), tame.active());
    assert_eq!(Time::from_millis_f64(f64::NAN), Time::from_millis(0));
    assert_eq!(Time::from_millis_f64(-5.0), Time::from_millis(0));
    assert_eq!(Time::from_millis_f64(1234.7).as_millis(), 1234);
    assert!(!wild.is_speaking(p(2)));
}
